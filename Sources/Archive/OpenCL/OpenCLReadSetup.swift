/// `--decoder` and `--device` of extract and mount, resolved by the reader
/// once the archive is open (`ReaderOptions.decoderRequest`): `auto` times
/// OpenCL on the archive's own frames the first time on a machine.
public struct DecoderRequest: Sendable {
    public var mode: GPUMode
    public var devices: String?
    /// Frames decoded at once on the CPU (the CPU's side of the comparison).
    public var threads: Int
    /// Told once when OpenCL fails while decoding (that frame then decodes on the CPU).
    public var onError: @Sendable (String) -> Void

    public init(mode: GPUMode, devices: String?, threads: Int, onError: @escaping @Sendable (String) -> Void) {
        self.mode = mode
        self.devices = devices
        self.threads = threads
        self.onError = onError
    }
}

enum OpenCLReadSetup {
    /// The OpenCL decoder to use (nil: the CPU's) and, when `auto` stays on
    /// the CPU, the line saying why; throws when `gpu` cannot be had.
    static func decoder(for request: DecoderRequest, loader: FrameLoader) throws -> (FrameDecoding?, String?) {
        var samples: [(payload: [UInt8], size: Int)]?
        let (devices, note) = try GPUSelection.devices(mode: request.mode, list: request.devices, for: .decode,
                                                       sample: "archive frames") { device in
            if samples == nil { samples = DecodeCalibration.samples(loader) }
            return try DecodeCalibration.measure(device, samples: samples!, threads: request.threads)
        }
        guard !devices.isEmpty else { return (nil, note) }
        return (try GPUFrameDecoder(devices: devices, onError: request.onError), note)
    }
}
