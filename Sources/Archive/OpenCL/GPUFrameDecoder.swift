import Foundation

/// The frame cache's decoder on OpenCL devices (`--decoder gpu`). Readers on
/// many threads share it; each call takes the next device round-robin. An
/// OpenCL failure (not a corrupt frame) falls back to the CPU decoder for
/// that frame and is reported once through `onError`.
public final class GPUFrameDecoder: FrameDecoding, @unchecked Sendable {
    private let decoders: [GPULZ4XDecoder]
    private let locks: [NSLock]
    private let counter = NSLock()
    private var next = 0
    private var reported = false
    private let onError: @Sendable (String) -> Void

    public init(devices: [OpenCLDevice], onError: @escaping @Sendable (String) -> Void) throws {
        guard !devices.isEmpty else { throw OpenCLError.noDevice("the GPU decoder was given no device") }
        decoders = try devices.map { try GPULZ4XDecoder(device: $0) }
        locks = devices.map { _ in NSLock() }
        self.onError = onError
    }

    public func decode(_ block: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        counter.lock()
        let d = next % decoders.count
        next += 1
        counter.unlock()
        let status: GPUDecodeStatus
        do {
            locks[d].lock()
            defer { locks[d].unlock() }
            status = try decoders[d].decode([block], into: [output])[0]
        } catch {
            counter.lock()
            let first = !reported
            reported = true
            counter.unlock()
            if first { onError("OpenCL decoding failed (\(error)); decoding on the CPU") }
            try LZ4XDecoder.decode(block, into: output)
            return
        }
        if status != .ok { throw GPUDecodeError(status: status) }
    }
}
