/// `--compressor` / `--decoder` values.
public enum GPUMode: String, CaseIterable, Sendable {
    case auto, gpu, cpu
}

/// Turns a mode and a `--device` list into the OpenCL devices to use (empty:
/// use the CPU) plus, where the choice needs explaining, one line for the user.
public enum GPUSelection {
    public enum Work: String { case compress = "compressing", decode = "decoding" }

    public static func devices(mode: GPUMode, list: String?, for work: Work, cpu: CPUCodecForCalibration,
                               sampleFrameSize: Int = GPUCalibrator.defaultSampleFrameSize)
        throws -> (devices: [OpenCLDevice], note: String?) {
        if mode == .cpu { return ([], nil) }
        let memoKey = Self.memoKey(work, list, sampleFrameSize)
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
        for device in chosen {
            let figures = try GPUCalibrator.calibration(for: device, cpu: cpu, sampleFrameSize: sampleFrameSize)
            let (gpu, host, wins) = work == .compress
                ? (figures.gpuCompress, figures.cpuCompress, figures.gpuCompressesFaster)
                : (figures.gpuDecode, figures.cpuDecode, figures.gpuDecodesFaster)
            if wins { faster.append(device) } else {
                slower.append("\(device.name) \(Int(gpu / 1e6)) MB/s vs CPU \(Int(host / 1e6)) MB/s")
            }
        }
        if faster.isEmpty {
            let note = "OpenCL measured slower than the CPU (\(slower.joined(separator: "; "))); \(work.rawValue) on the CPU"
            AutoDecisionMemo.rememberCPU(for: memoKey, note: note)
            return ([], note)
        }
        return (faster, nil)
    }

    /// What an `auto` decision remembered in `AutoDecisionMemo` is keyed by.
    static func memoKey(_ work: Work, _ list: String?, _ sampleFrameSize: Int) -> String {
        "\(work.rawValue) | devices \(list ?? "all") | sample \(sampleFrameSize)"
    }
}
