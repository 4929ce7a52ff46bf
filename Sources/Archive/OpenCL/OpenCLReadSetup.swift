/// Wires `--decoder` and `--device` into ReaderOptions for extract and mount.
public enum OpenCLReadSetup {
    /// Sets `options.frameDecoder` when OpenCL should decode; returns the line
    /// to show the user when `auto` stays on the CPU, and throws when `gpu`
    /// cannot be had.
    public static func configure(_ options: inout ReaderOptions, mode: GPUMode, devices list: String?,
                                 threads: Int, onError: @escaping @Sendable (String) -> Void) throws -> String? {
        let encoder = LZ4XEncoder()
        let cpu = CPUCodecForCalibration(threads: threads, compress: { input, output in
            encoder.compress(input, into: output)
        }, decode: { block, output in
            try LZ4XDecoder.decode(block, into: output)
        })
        let (devices, note) = try GPUSelection.devices(mode: mode, list: list, for: .decode, cpu: cpu)
        if !devices.isEmpty { options.frameDecoder = try GPUFrameDecoder(devices: devices, onError: onError) }
        return note
    }
}
