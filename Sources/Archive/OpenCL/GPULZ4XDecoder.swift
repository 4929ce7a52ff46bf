import COpenCL

/// Per-frame outcome of a GPU decode. Anything but `.ok` means the frame is
/// corrupt (or not LZ4X); its output bytes are then meaningless.
public enum GPUDecodeStatus: Int32, Sendable, CustomStringConvertible {
    case ok = 0
    case truncated = 1
    case overflow = 2
    case badOffset = 3
    case sizeMismatch = 4

    public var description: String {
        switch self {
        case .ok: return "ok"
        case .truncated: return "corrupt LZ4X frame: the data ends inside a sequence"
        case .overflow: return "corrupt LZ4X frame: it decodes to more bytes than recorded"
        case .badOffset: return "corrupt LZ4X frame: a match points before the start of the frame"
        case .sizeMismatch: return "corrupt LZ4X frame: it decodes to fewer bytes than recorded"
        }
    }
}

/// Decodes many LZ4X frames per launch, one work-group per frame (see
/// Kernels/lz4x_decode.cl). Safe on hostile input: a bad frame yields a
/// status, never a write outside its output.
public final class GPULZ4XDecoder: @unchecked Sendable {
    public let device: OpenCLDevice
    /// Compressed plus decoded bytes per launch.
    public let batchBytes: Int
    /// Device time spent so far, from event profiling; callers may reset it.
    public var timings = OpenCLTimings()

    private let kernel: OpenCLKernel
    private let slots: [Slot]
    /// Lanes cooperating on one frame. A GPU wants a warp-sized group or
    /// more; a CPU driver runs a group's lanes as a loop on one core, where
    /// cooperation only adds barriers, so there the kernel's one-lane
    /// sequential variant runs (9x faster on PoCL, docs/GPU.md).
    public let workGroup: Int
    /// Sequences lane 0 parses per round before the lanes copy them.
    static let sequencesPerRound = 128

    public init(device: OpenCLDevice, batchBytes: Int? = nil, workGroup: Int? = nil) throws {
        self.device = device
        self.workGroup = max(1, min(workGroup ?? (device.isGPU ? 64 : 1), device.maxWorkGroupSize))
        kernel = try OpenCLKernel(device, file: "lz4x_decode.cl", name: "lz4x_decode",
                                  options: "-DWG=\(self.workGroup) -DBATCH=\(GPULZ4XDecoder.sequencesPerRound)")
        let limit = Int(min(device.maxAllocation, device.globalMemory / 8))
        self.batchBytes = max(1 << 20, min(batchBytes ?? (device.isGPU ? 1 << 30 : 64 << 20), limit))
        slots = (0..<2).map { Slot(device, queue: device.queues[$0]) }
    }

    /// Decodes `frames[i]` into `outputs[i]`, whose size must be the frame's
    /// decoded size exactly (the index records it).
    public func decode(_ frames: [UnsafeRawBufferPointer], into outputs: [UnsafeMutableRawBufferPointer]) throws -> [GPUDecodeStatus] {
        guard frames.count == outputs.count else {
            throw OpenCLError.invalidArgument("decode: \(frames.count) frames but \(outputs.count) outputs")
        }
        if frames.contains(where: { $0.count > Int(UInt32.max) }) || outputs.contains(where: { $0.count > Int(UInt32.max) }) {
            throw OpenCLError.invalidArgument("decode: frames over 4 GiB are not supported by the GPU kernel")
        }
        var statuses = [GPUDecodeStatus](repeating: .ok, count: frames.count)
        var batches: [Range<Int>] = []
        var first = 0, bytes = 0
        for i in frames.indices {
            let size = frames[i].count + outputs[i].count
            if i > first && bytes + size > batchBytes {
                batches.append(first..<i)
                first = i
                bytes = 0
            }
            bytes += size
        }
        if first < frames.count { batches.append(first..<frames.count) }
        // Alternate two slots so one batch's transfers overlap the other's decode.
        for (b, range) in batches.enumerated() {
            try finish(slots[b % 2], statuses: &statuses)
            try start(slots[b % 2], range, frames: frames, outputs: outputs)
        }
        for b in batches.indices.suffix(2) { try finish(slots[b % 2], statuses: &statuses) }
        return statuses
    }

    /// Convenience form: decodes into new arrays of the given sizes.
    public func decode(_ frames: [[UInt8]], decodedSizes: [Int]) throws -> [Result<[UInt8], GPUDecodeError>] {
        let outputs = allocateOutputs(decodedSizes)
        defer { outputs.forEach { $0.deallocate() } }
        let statuses = try withRawPointers(frames) { try decode($0, into: outputs) }
        return zip(outputs, statuses).map { output, status in
            status == .ok ? .success(Array(output)) : .failure(GPUDecodeError(status: status))
        }
    }

    private func start(_ slot: Slot, _ range: Range<Int>, frames: [UnsafeRawBufferPointer],
                       outputs: [UnsafeMutableRawBufferPointer]) throws {
        let queue = slot.queue
        var srcOffsets: [UInt64] = [], dstOffsets: [UInt64] = [], srcLengths: [UInt32] = [], dstLengths: [UInt32] = []
        var src = 0, dst = 0
        for i in range {
            srcOffsets.append(UInt64(src)); srcLengths.append(UInt32(frames[i].count))
            dstOffsets.append(UInt64(dst)); dstLengths.append(UInt32(outputs[i].count))
            src += frames[i].count
            dst += outputs[i].count
        }
        let n = range.count
        try slot.src.ensure(src); try slot.dst.ensure(dst)
        try slot.srcOffsets.ensure(n * 8); try slot.dstOffsets.ensure(n * 8)
        try slot.srcLengths.ensure(n * 4); try slot.dstLengths.ensure(n * 4)
        try slot.status.ensure(n * 4); try slot.produced.ensure(n * 4)
        slot.range = range
        slot.outputs = range.map { outputs[$0] }
        slot.srcOffsetsHost.set(srcOffsets); slot.dstOffsetsHost.set(dstOffsets)
        slot.srcLengthsHost.set(srcLengths); slot.dstLengthsHost.set(dstLengths)
        slot.statusHost.set([Int32](repeating: 0, count: n))
        for (k, i) in range.enumerated() where frames[i].count > 0 {
            slot.events.uploads.append(try slot.src.write(queue, frames[i].baseAddress!, count: frames[i].count, at: Int(srcOffsets[k])))
        }
        slot.events.uploads.append(try slot.srcOffsets.write(queue, slot.srcOffsetsHost.raw.baseAddress!, count: n * 8))
        slot.events.uploads.append(try slot.dstOffsets.write(queue, slot.dstOffsetsHost.raw.baseAddress!, count: n * 8))
        slot.events.uploads.append(try slot.srcLengths.write(queue, slot.srcLengthsHost.raw.baseAddress!, count: n * 4))
        slot.events.uploads.append(try slot.dstLengths.write(queue, slot.dstLengthsHost.raw.baseAddress!, count: n * 4))

        try kernel.set(0, slot.src); try kernel.set(1, slot.srcOffsets); try kernel.set(2, slot.srcLengths)
        try kernel.set(3, slot.dst); try kernel.set(4, slot.dstOffsets); try kernel.set(5, slot.dstLengths)
        try kernel.set(6, slot.status); try kernel.set(7, slot.produced); try kernel.set(8, value: UInt32(n))
        slot.events.kernels.append(try kernel.launch(queue, global: n * workGroup, local: workGroup))
        slot.events.downloads.append(try slot.status.read(queue, into: slot.statusHost.raw.baseAddress!, count: n * 4))
        for (k, output) in slot.outputs.enumerated() where output.count > 0 {
            slot.events.downloads.append(try slot.dst.read(queue, into: output.baseAddress!, count: output.count, at: Int(dstOffsets[k])))
        }
        try OpenCLError.check(clFlush(queue), "clFlush")
    }

    private func finish(_ slot: Slot, statuses: inout [GPUDecodeStatus]) throws {
        guard let range = slot.range else { return }
        slot.range = nil
        timings += try slot.events.finish()
        for (k, i) in range.enumerated() {
            statuses[i] = GPUDecodeStatus(rawValue: slot.statusHost[k]) ?? .truncated
        }
    }

    private final class Slot {
        let queue: cl_command_queue
        let src, dst, srcOffsets, dstOffsets, srcLengths, dstLengths, status, produced: OpenCLBuffer
        var range: Range<Int>?
        var outputs: [UnsafeMutableRawBufferPointer] = []
        let srcOffsetsHost = OpenCLHostArray<UInt64>(), dstOffsetsHost = OpenCLHostArray<UInt64>()
        let srcLengthsHost = OpenCLHostArray<UInt32>(), dstLengthsHost = OpenCLHostArray<UInt32>()
        let statusHost = OpenCLHostArray<Int32>()
        var events = OpenCLBatchEvents()

        init(_ device: OpenCLDevice, queue: cl_command_queue) {
            self.queue = queue
            src = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            dst = OpenCLBuffer(device, flags: CL_MEM_READ_WRITE)
            srcOffsets = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            dstOffsets = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            srcLengths = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            dstLengths = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            status = OpenCLBuffer(device, flags: CL_MEM_WRITE_ONLY)
            produced = OpenCLBuffer(device, flags: CL_MEM_WRITE_ONLY)
        }
    }
}

/// A frame the GPU decoder rejected, for the convenience API.
public struct GPUDecodeError: Error, CustomStringConvertible, Equatable {
    public let status: GPUDecodeStatus
    public var description: String { status.description }
}
