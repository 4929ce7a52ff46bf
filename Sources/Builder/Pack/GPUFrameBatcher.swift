import Archive
import ArchiveWriter
import Foundation

/// One device's compressor shared by the pipeline workers assigned to it,
/// so that a launch carries many frames: while one launch runs, the frames
/// other workers hand in wait, and the next launch takes all of them (group
/// commit). The worker whose frame arrives when no launch is running drives
/// the launches until its own frame is done.
final class GPUFrameBatcher: @unchecked Sendable {
    let deviceName: String
    private let compressor: GPULZ4XCompressor
    private let condition = NSCondition()
    private var pending: [Request] = []
    private var launching = false

    private final class Request {
        let input: UnsafeRawBufferPointer
        let output: UnsafeMutableRawBufferPointer
        var result: Result<Int?, Error>?
        init(_ input: UnsafeRawBufferPointer, _ output: UnsafeMutableRawBufferPointer) {
            self.input = input
            self.output = output
        }
    }

    init(device: OpenCLDevice) throws {
        compressor = try GPULZ4XCompressor(device: device)
        deviceName = "gpu:\(device.name)"
    }

    /// The block size written to `output`, nil when it does not fit there.
    func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Int? {
        let request = Request(input, output)
        condition.lock()
        defer { condition.unlock() }
        pending.append(request)
        while request.result == nil {
            if launching {
                condition.wait()
                continue
            }
            launching = true
            let batch = pending
            pending = []
            condition.unlock()
            // compress() splits a long list into batches on both queues.
            let sizes = Result { try compressor.compress(batch.map(\.input), into: batch.map(\.output)) }
            condition.lock()
            for (i, r) in batch.enumerated() { r.result = sizes.map { $0[i] } }
            launching = false
            condition.broadcast()
        }
        return try request.result!.get()
    }
}
