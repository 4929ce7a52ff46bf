/// `--compressor` / `--decoder` values.
public enum GPUMode: String, CaseIterable, Sendable {
    case auto, gpu, cpu
}

/// Turns a mode and a `--device` list into the OpenCL devices to use (empty:
/// use the CPU) plus, for `auto`, one line for the user saying what it chose
/// and why.
///
/// `auto` never picks a device of type CPU (PoCL): it runs on the very cores
/// the CPU path already keeps busy, so it can only take time from it (a build
/// that `auto` sent to PoCL on two cores took twice as long). The other
/// devices are calibrated (`GPUCalibrator`) and used where they measured
/// faster. `gpu` uses whatever `--device` names, CPU devices included: that
/// is how the tests run the kernels on PoCL.
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
        let sameCores = chosen.filter(\.isCPU).map(\.name)
        let candidates = chosen.filter { !$0.isCPU }
        if candidates.isEmpty {
            let note = "OpenCL offers only CPU devices (\(sameCores.joined(separator: "; "))), which run on the same cores; \(work.rawValue) on the CPU"
            AutoDecisionMemo.rememberCPU(for: memoKey, note: note)
            return ([], note)
        }
        var faster: [OpenCLDevice] = []
        var slower: [String] = []
        var measuredFaster: [String] = []
        var unmeasured = false
        for device in candidates {
            guard let figures = try GPUCalibrator.calibration(for: device, work: work, sample: sample, measure: measure) else {
                unmeasured = true
                continue
            }
            let measured = "\(device.name) \(Int(figures.gpu / 1e6)) MB/s vs CPU \(Int(figures.cpu / 1e6)) MB/s"
            if figures.gpuIsFaster { faster.append(device); measuredFaster.append(measured) } else { slower.append(measured) }
        }
        if faster.isEmpty && slower.isEmpty && unmeasured {
            // Nothing to time on (no compressed frame): not remembered, the next archive may have some.
            return ([], "nothing to measure OpenCL \(work.rawValue) on; \(work.rawValue) on the CPU")
        }
        let skipped = sameCores.isEmpty ? "" : "; CPU devices left out: \(sameCores.joined(separator: "; "))"
        if faster.isEmpty {
            let note = "OpenCL measured slower than the CPU (\(slower.joined(separator: "; ")))\(skipped); \(work.rawValue) on the CPU"
            AutoDecisionMemo.rememberCPU(for: memoKey, note: note)
            return ([], note)
        }
        return (faster, "\(work.rawValue) with OpenCL: measured faster (\(measuredFaster.joined(separator: "; ")))\(skipped)")
    }

    /// What an `auto` decision remembered in `AutoDecisionMemo` is keyed by.
    static func memoKey(_ work: Work, _ list: String?, _ sample: String) -> String {
        "\(work.rawValue) | devices \(list ?? "all") | \(sample)"
    }
}
