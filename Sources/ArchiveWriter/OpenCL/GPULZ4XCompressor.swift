import COpenCL
import Archive

/// Tuning of the compression kernel; the defaults are what docs/GPU.md measured.
public struct GPULZ4XCompressorOptions: Sendable {
    /// log2 of the hash buckets of a segment's long-chain head table. Long
    /// chains link positions whose first 8 bytes hash alike; with fewer
    /// buckets, unrelated strings share chains and use up the candidate
    /// budget (on 16 MiB frames of source text, against the CPU encoder:
    /// 16 bits +2.7% size, 17 bits +0.3%, 18 bits -1.3%; docs/GPU.md).
    public var hashBits = 18
    /// Bytes per chain-building work-item, each with one head table of
    /// 4 << hashBits bytes: larger segments save memory, smaller ones give a
    /// GPU more work-items for the (sequential) chain pass.
    public var segmentSize = 1 << 19
    /// Bytes per parsing work-item.
    public var subBlockSize = 1 << 14
    /// Candidates compared per position (those sharing its first 4 bytes),
    /// as the CPU encoder's 8-entry buckets.
    public var topK = 8
    /// Chain links walked per position at most: each is a dependent memory
    /// read, and hash collisions count against it.
    public var maxSteps = 8
    /// Frames per launch; nil picks by device memory.
    public var framesPerBatch: Int?

    public init() {}
    public static let `default` = GPULZ4XCompressorOptions()
}

/// Compresses many frames per launch into plain LZ4X blocks (the CPU decoder
/// reads them). Two kernel variants (docs/GPU.md):
/// - `fineGrained` (GPUs): each frame spread over thousands of work-items in
///   six passes, Kernels/lz4x_compress.cl;
/// - `perFrame` (CPU drivers such as PoCL): one work-item per frame running
///   the CPU encoder's algorithm, Kernels/lz4x_compress_frame.cl; its blocks
///   are byte-identical to `LZ4XEncoder`'s.
public final class GPULZ4XCompressor: @unchecked Sendable {
    public enum Variant: String, Sendable, CaseIterable {
        case fineGrained = "fine-grained"
        case perFrame = "per-frame"

        /// What a device gets by default: a GPU has the thousands of lanes
        /// the fine-grained passes feed; anything else has a few cores.
        public static func `default`(for device: OpenCLDevice) -> Variant {
            device.isGPU ? .fineGrained : .perFrame
        }
    }

    public let device: OpenCLDevice
    public let options: GPULZ4XCompressorOptions
    public let variant: Variant
    /// Frames per launch at most; fewer when frames this large would not fit
    /// (see `batchSize(forFramesOf:)`).
    public let framesPerBatch: Int
    /// Device time spent so far, from event profiling; callers may reset it.
    public var timings = OpenCLTimings()

    /// The six passes of the fine-grained variant.
    private struct Passes {
        let chainBuild, chainLink, chainFix, parse, plan, assemble: OpenCLKernel
    }
    private let passes: Passes?
    private let frameKernel: OpenCLKernel?
    private let slots: [Slot]
    /// Uints of per-sub-block record and per-frame result (see the kernel).
    private static let recordUInts = 8, infoUInts = 3
    /// Per-frame tables of the per-frame kernel: 2^17 buckets of 8 positions
    /// plus 2^16 short entries, 4 bytes each (as LZ4XEncoder's).
    static let frameTableBytes = ((8 << 17) + (1 << 16)) * 4
    /// Slack after each frame's input and output for the per-frame kernel's
    /// 16-byte literal copies.
    static let framePadding = 64
    /// log2 of the short (5-byte hash) chain's head table, fixed in the kernel.
    private static let shortBits = 16
    private static let none = UInt32.max

    /// `variant` nil picks by device type (`Variant.default(for:)`); the
    /// tests force each one on PoCL.
    public init(device: OpenCLDevice, options: GPULZ4XCompressorOptions = .default, variant: Variant? = nil) throws {
        guard options.hashBits >= 8, options.hashBits <= 20, options.subBlockSize >= 64,
              options.segmentSize >= options.subBlockSize, options.topK >= 1, options.maxSteps >= options.topK
        else { throw OpenCLError.invalidArgument("GPU compressor options out of range: \(options)") }
        self.device = device
        self.options = options
        let variant = variant ?? .default(for: device)
        self.variant = variant
        switch variant {
        case .fineGrained:
            let subCap = options.subBlockSize + options.subBlockSize / 16 + 64
            let defines = "-DHASH_BITS=\(options.hashBits) -DSEG=\(options.segmentSize) -DSUB=\(options.subBlockSize)"
                + " -DSUBCAP=\(subCap) -DTOPK=\(options.topK) -DMAXSTEPS=\(options.maxSteps)"
            func kernel(_ name: String) throws -> OpenCLKernel {
                try OpenCLKernel(device, file: "lz4x_compress.cl", name: name, options: defines)
            }
            passes = Passes(chainBuild: try kernel("chain_build"), chainLink: try kernel("chain_link"),
                            chainFix: try kernel("chain_fix"), parse: try kernel("parse"),
                            plan: try kernel("plan"), assemble: try kernel("assemble"))
            frameKernel = nil
            framesPerBatch = max(1, options.framesPerBatch ?? (device.isGPU ? 64 : 1))
        case .perFrame:
            passes = nil
            frameKernel = try OpenCLKernel(device, file: "lz4x_compress_frame.cl", name: "compress_frame")
            // One frame per compute unit keeps every core busy; the build
            // pipeline's workers fill a launch with one frame each.
            framesPerBatch = max(1, options.framesPerBatch ?? device.computeUnits)
        }
        slots = (0..<2).map { Slot(device, queue: device.queues[$0]) }
    }

    /// Frames of up to `size` bytes per launch: two slots are in flight at
    /// once and may take half the device (the other half is left to other
    /// users), and the largest single buffer, a chain of 4 bytes per
    /// position, must stay within the device's allocation limit.
    public func batchSize(forFramesOf size: Int) -> Int {
        let frame = max(size, 1 << 16)
        let largest = variant == .fineGrained ? 4 * frame : GPULZ4XCompressor.frameTableBytes
        let fit = min(Int(device.globalMemory / 4) / GPULZ4XCompressor.deviceBytes(perFrameOf: frame, options, variant: variant),
                      Int(device.maxAllocation) / largest)
        return max(1, min(framesPerBatch, fit))
    }

    /// Device memory one batch slot needs per frame of `frameSize` bytes.
    public static func deviceBytes(perFrameOf frameSize: Int, _ options: GPULZ4XCompressorOptions = .default,
                                   variant: Variant = .fineGrained) -> Int {
        if variant == .perFrame {
            return frameSize + outputBound(frameSize) + 2 * framePadding + frameTableBytes
        }
        let subs = (frameSize + options.subBlockSize - 1) / options.subBlockSize
        let segs = (frameSize + options.segmentSize - 1) / options.segmentSize
        let subCap = options.subBlockSize + options.subBlockSize / 16 + 64
        // Input, two u32 chains per position, head tables, scratch, output.
        return frameSize * 9 + segs * ((4 << options.hashBits) + (4 << shortBits))
            + subs * (subCap + recordUInts * 4) + outputBound(frameSize)
    }

    /// Output room the kernel needs for a frame of `n` bytes (the LZ4 bound).
    static func outputBound(_ n: Int) -> Int { n + n / 255 + 16 }

    /// Compresses each input into the matching output. Returns the block
    /// size per frame, or nil where the block would not fit its output
    /// (the caller then stores that frame raw).
    public func compress(_ inputs: [UnsafeRawBufferPointer], into outputs: [UnsafeMutableRawBufferPointer]) throws -> [Int?] {
        guard inputs.count == outputs.count else {
            throw OpenCLError.invalidArgument("compress: \(inputs.count) inputs but \(outputs.count) outputs")
        }
        if let big = inputs.first(where: { $0.count > Int(UInt32.max / 4) }) {
            throw OpenCLError.invalidArgument("compress: a \(big.count)-byte frame is too large for the GPU kernel")
        }
        var sizes = [Int?](repeating: nil, count: inputs.count)
        let perBatch = batchSize(forFramesOf: inputs.map(\.count).max() ?? 0)
        let batches = stride(from: 0, to: inputs.count, by: perBatch).map { $0..<min($0 + perBatch, inputs.count) }
        // Batch b runs on slot b % 2: while one batch computes, the next
        // one's uploads and the previous one's downloads use the other queue.
        for (b, range) in batches.enumerated() {
            let slot = slots[b % 2]
            try finish(slot, inputs: inputs, outputs: outputs, sizes: &sizes)
            try start(slot, range, inputs: inputs)
        }
        for b in batches.indices.suffix(2) {
            try finish(slots[b % 2], inputs: inputs, outputs: outputs, sizes: &sizes)
        }
        return sizes
    }

    /// Convenience form returning the blocks, nil where a frame did not shrink to fit.
    public func compress(_ inputs: [[UInt8]]) throws -> [[UInt8]?] {
        let outputs = allocateOutputs(inputs.map { GPULZ4XCompressor.outputBound($0.count) })
        defer { outputs.forEach { $0.deallocate() } }
        let sizes = try withRawPointers(inputs) { try compress($0, into: outputs) }
        return zip(outputs, sizes).map { output, size in size.map { Array(output.prefix($0)) } }
    }

    private func start(_ slot: Slot, _ range: Range<Int>, inputs: [UnsafeRawBufferPointer]) throws {
        if let passes {
            try startFineGrained(slot, range, inputs: inputs, passes)
        } else if let frameKernel {
            try startPerFrame(slot, range, inputs: inputs, frameKernel)
        }
    }

    /// One work-item per frame; frames and outputs padded (see the kernel).
    private func startPerFrame(_ slot: Slot, _ range: Range<Int>, inputs: [UnsafeRawBufferPointer],
                               _ kernel: OpenCLKernel) throws {
        let frames = range.count
        let longest = range.map { inputs[$0].count }.max() ?? 0
        let pad = GPULZ4XCompressor.framePadding
        let stride = (longest + pad + 63) / 64 * 64
        let outStride = (GPULZ4XCompressor.outputBound(longest) + pad + 63) / 64 * 64
        try slot.input.ensure(frames * stride)
        try slot.lengths.ensure(frames * 4)
        try slot.heads.ensure(frames * GPULZ4XCompressor.frameTableBytes)
        try slot.info.ensure(frames * 4)
        try slot.output.ensure(frames * outStride)

        slot.range = range
        slot.outStride = outStride
        slot.infoStride = 1
        slot.lengthsHost.set(range.map { UInt32(inputs[$0].count) })
        slot.infoHost.set([UInt32](repeating: 0, count: frames))
        let queue = slot.queue
        for (i, frame) in range.enumerated() where inputs[frame].count > 0 {
            slot.events.uploads.append(try slot.input.write(queue, inputs[frame].baseAddress!, count: inputs[frame].count, at: i * stride))
        }
        slot.events.uploads.append(try slot.lengths.write(queue, slot.lengthsHost.raw.baseAddress!, count: slot.lengthsHost.raw.count))
        try kernel.set(0, slot.input); try kernel.set(1, slot.lengths); try kernel.set(2, slot.heads)
        try kernel.set(3, slot.output); try kernel.set(4, slot.info); try kernel.set(5, value: UInt32(frames))
        try kernel.set(6, value: UInt64(stride)); try kernel.set(7, value: UInt64(outStride))
        // Work-groups of one, so the driver spreads the frames over its cores.
        slot.events.kernels.append(try kernel.launch(queue, global: frames, local: 1))
        slot.events.downloads.append(try slot.info.read(queue, into: slot.infoHost.raw.baseAddress!, count: slot.infoHost.raw.count))
        try OpenCLError.check(clFlush(queue), "clFlush")
    }

    private func startFineGrained(_ slot: Slot, _ range: Range<Int>, inputs: [UnsafeRawBufferPointer],
                                  _ passes: Passes) throws {
        let (chainBuild, chainLink, chainFix) = (passes.chainBuild, passes.chainLink, passes.chainFix)
        let (parse, plan, assemble) = (passes.parse, passes.plan, passes.assemble)
        let frames = range.count
        let longest = range.map { inputs[$0].count }.max() ?? 0
        let sub = options.subBlockSize, seg = options.segmentSize
        let stride = max(64, (longest + 63) / 64 * 64)
        let subsPerFrame = max(1, (longest + sub - 1) / sub)
        let segsPerFrame = max(1, (longest + seg - 1) / seg)
        let subCap = sub + sub / 16 + 64
        let outStride = GPULZ4XCompressor.outputBound(stride)

        try slot.input.ensure(frames * stride)
        try slot.lengths.ensure(frames * 4)
        try slot.prev.ensure(frames * stride * 4)
        try slot.heads.ensure(frames * segsPerFrame * (4 << options.hashBits))
        try slot.shortPrev.ensure(frames * stride * 4)
        try slot.shortHeads.ensure(frames * segsPerFrame * (4 << GPULZ4XCompressor.shortBits))
        try slot.scratch.ensure(frames * subsPerFrame * subCap)
        try slot.records.ensure(frames * subsPerFrame * GPULZ4XCompressor.recordUInts * 4)
        try slot.info.ensure(frames * GPULZ4XCompressor.infoUInts * 4)
        try slot.output.ensure(frames * outStride)

        slot.range = range
        slot.outStride = outStride
        slot.infoStride = GPULZ4XCompressor.infoUInts
        slot.lengthsHost.set(range.map { UInt32(inputs[$0].count) })
        slot.infoHost.set([UInt32](repeating: 0, count: frames * GPULZ4XCompressor.infoUInts))
        let queue = slot.queue
        for (i, frame) in range.enumerated() where inputs[frame].count > 0 {
            slot.events.uploads.append(try slot.input.write(queue, inputs[frame].baseAddress!, count: inputs[frame].count, at: i * stride))
        }
        slot.events.uploads.append(try slot.lengths.write(queue, slot.lengthsHost.raw.baseAddress!, count: slot.lengthsHost.raw.count))

        let n32 = UInt32(frames), stride64 = UInt64(stride)
        try chainBuild.set(0, slot.input); try chainBuild.set(1, slot.lengths); try chainBuild.set(2, slot.prev)
        try chainBuild.set(3, slot.heads); try chainBuild.set(4, slot.shortPrev); try chainBuild.set(5, slot.shortHeads)
        try chainBuild.set(6, value: n32); try chainBuild.set(7, value: stride64); try chainBuild.set(8, value: UInt32(segsPerFrame))
        slot.events.kernels.append(try chainBuild.launch(queue, global: frames * segsPerFrame, local: 64))

        for (heads, bits) in [(slot.heads, options.hashBits), (slot.shortHeads, GPULZ4XCompressor.shortBits)] {
            try chainLink.set(0, slot.lengths); try chainLink.set(1, heads); try chainLink.set(2, value: n32)
            try chainLink.set(3, value: UInt32(segsPerFrame)); try chainLink.set(4, value: UInt32(bits))
            slot.events.kernels.append(try chainLink.launch(queue, global: frames << bits, local: 64))
        }

        try chainFix.set(0, slot.input); try chainFix.set(1, slot.lengths); try chainFix.set(2, slot.prev)
        try chainFix.set(3, slot.heads); try chainFix.set(4, slot.shortPrev); try chainFix.set(5, slot.shortHeads)
        try chainFix.set(6, value: n32); try chainFix.set(7, value: stride64); try chainFix.set(8, value: UInt32(segsPerFrame))
        slot.events.kernels.append(try chainFix.launch(queue, global: frames * stride, local: 64))

        try parse.set(0, slot.input); try parse.set(1, slot.lengths); try parse.set(2, slot.prev)
        try parse.set(3, slot.shortPrev); try parse.set(4, slot.scratch); try parse.set(5, slot.records)
        try parse.set(6, value: n32); try parse.set(7, value: stride64); try parse.set(8, value: UInt32(subsPerFrame))
        slot.events.kernels.append(try parse.launch(queue, global: frames * subsPerFrame, local: 64))

        try plan.set(0, slot.lengths); try plan.set(1, slot.records); try plan.set(2, slot.info)
        try plan.set(3, value: n32); try plan.set(4, value: UInt32(subsPerFrame)); try plan.set(5, value: UInt32(outStride))
        slot.events.kernels.append(try plan.launch(queue, global: frames, local: 64))

        try assemble.set(0, slot.input); try assemble.set(1, slot.lengths); try assemble.set(2, slot.scratch)
        try assemble.set(3, slot.records); try assemble.set(4, slot.info); try assemble.set(5, slot.output)
        try assemble.set(6, value: n32); try assemble.set(7, value: stride64); try assemble.set(8, value: UInt32(subsPerFrame))
        try assemble.set(9, value: UInt64(outStride))
        slot.events.kernels.append(try assemble.launch(queue, global: frames * (subsPerFrame + 1), local: 64))

        slot.events.downloads.append(try slot.info.read(queue, into: slot.infoHost.raw.baseAddress!, count: slot.infoHost.raw.count))
        try OpenCLError.check(clFlush(queue), "clFlush")
    }

    /// Waits for the slot's batch, then copies each block that fits into its output.
    private func finish(_ slot: Slot, inputs: [UnsafeRawBufferPointer], outputs: [UnsafeMutableRawBufferPointer],
                        sizes: inout [Int?]) throws {
        guard let range = slot.range else { return }
        slot.range = nil
        timings += try slot.events.finish()
        var reads: [cl_event?] = []
        for (i, frame) in range.enumerated() {
            let total = slot.infoHost[i * slot.infoStride]
            guard total != GPULZ4XCompressor.none, Int(total) <= outputs[frame].count else { continue }
            sizes[frame] = Int(total)
            reads.append(try slot.output.read(slot.queue, into: outputs[frame].baseAddress!, count: Int(total),
                                              at: i * slot.outStride))
        }
        timings += try OpenCLEvents.finish(uploads: [], kernels: [], downloads: reads)
    }

    /// Device buffers and in-flight state of one of the two batches. The
    /// per-frame variant uses input, lengths, heads (its hash tables), info
    /// (block sizes) and output.
    private final class Slot {
        let queue: cl_command_queue
        let input, lengths, prev, heads, shortPrev, shortHeads, scratch, records, info, output: OpenCLBuffer
        var range: Range<Int>?
        var outStride = 0
        /// Uints per frame in `info`; the block size comes first.
        var infoStride = 1
        let lengthsHost = OpenCLHostArray<UInt32>()
        let infoHost = OpenCLHostArray<UInt32>()
        var events = OpenCLBatchEvents()

        init(_ device: OpenCLDevice, queue: cl_command_queue) {
            self.queue = queue
            let rw = CL_MEM_READ_WRITE
            input = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            lengths = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            prev = OpenCLBuffer(device, flags: rw)
            heads = OpenCLBuffer(device, flags: rw)
            shortPrev = OpenCLBuffer(device, flags: rw)
            shortHeads = OpenCLBuffer(device, flags: rw)
            scratch = OpenCLBuffer(device, flags: rw)
            records = OpenCLBuffer(device, flags: rw)
            info = OpenCLBuffer(device, flags: rw)
            output = OpenCLBuffer(device, flags: CL_MEM_WRITE_ONLY)
        }
    }
}
