/// `--compressor` / `--decoder` values.
public enum GPUMode: String, CaseIterable, Sendable {
    case auto, gpu, cpu
}

/// Turns a mode and a `--device` list into the OpenCL devices to use (empty:
/// use the CPU) plus, where the choice needs explaining, one line for the user.
public enum GPUSelection {
    public enum Work: String, Sendable { case compress = "compressing", decode = "decoding" }

    /// `measure` times `work` on a device against the CPU (only called when
    /// the figures are not cached yet); `sample` names what it measures on,
    /// so that remembered decisions made on another sample do not apply.
    public static func devices(mode: GPUMode, list: String?, for work: Work, sample: String,
                               measure: (OpenCLDevice) throws -> CalibrationRates?)
        throws -> (devices: [OpenCLDevice], note: String?) {
        if mode == .cpu { return ([], nil) }
        let memoKey = Self.memoKey(work, list, sample)
        if mode == .auto, let note = AutoDecisionMemo.cpuNote(for: memoKey) { return ([], note) }
        let runtime: OpenCLRuntime
        do {
            runtime = try OpenCLRuntime.shared()
        } catch {
            if mode == .gpu { throw OpenCLError.invalidArgument("the GPU was asked for, but: \(error)") }
            return ([], "no usable OpenCL platform (\(error)); \(work.rawValue) on the CPU")
        }
        let chosen = try runtime.select(list)
        if mode == .gpu { return (chosen, nil) }
        var faster: [OpenCLDevice] = []
        var slower: [String] = []
        var unmeasured = false
        for device in chosen {
            guard let figures = try GPUCalibrator.calibration(for: device, work: work, measure: measure) else {
                unmeasured = true
                continue
            }
            if figures.gpuIsFaster { faster.append(device) } else {
                slower.append("\(device.name) \(Int(figures.gpu / 1e6)) MB/s vs CPU \(Int(figures.cpu / 1e6)) MB/s")
            }
        }
        if faster.isEmpty && slower.isEmpty && unmeasured {
            // Nothing to time on (no compressed frame): not remembered, the next archive may have some.
            return ([], "nothing to measure OpenCL \(work.rawValue) on; \(work.rawValue) on the CPU")
        }
        if faster.isEmpty {
            let note = "OpenCL measured slower than the CPU (\(slower.joined(separator: "; "))); \(work.rawValue) on the CPU"
            AutoDecisionMemo.rememberCPU(for: memoKey, note: note)
            return ([], note)
        }
        return (faster, nil)
    }

    /// What an `auto` decision remembered in `AutoDecisionMemo` is keyed by.
    static func memoKey(_ work: Work, _ list: String?, _ sample: String) -> String {
        "\(work.rawValue) | devices \(list ?? "all") | \(sample)"
    }
}
