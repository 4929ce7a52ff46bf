import COpenCL
import Archive

/// FNV-1a 64 of many byte ranges per launch, batches dealt round-robin over
/// all given devices. The hash only nominates duplicate candidates; the
/// caller confirms them byte for byte.
public final class GPUFNVHasher: @unchecked Sendable {
    public let devices: [OpenCLDevice]
    /// Input bytes per launch (a larger single range gets a launch of its own).
    public let batchBytes: Int
    /// Device time spent so far, from event profiling; callers may reset it.
    public var timings = OpenCLTimings()

    private let engines: [Engine]

    /// `lanes` nil picks by device type (`lanes(for:)`); the tests force
    /// each shape on PoCL.
    public init(devices: [OpenCLDevice], batchBytes: Int = 64 << 20, lanes: Int? = nil) throws {
        precondition(lanes.map { (1...16).contains($0) } ?? true, "1 to 16 lanes")
        guard !devices.isEmpty else { throw OpenCLError.noDevice("the FNV hasher was given no device") }
        self.devices = devices
        self.batchBytes = max(1 << 16, batchBytes)
        engines = try devices.flatMap { device in
            let lanes = lanes ?? Self.lanes(for: device)
            return try (0..<2).map {
                Engine(device, queue: device.queues[$0], lanes: lanes,
                       kernel: try OpenCLKernel(device, file: "fnv1a.cl", name: "fnv1a64", options: "-DLANES=\(lanes)"))
            }
        }
    }

    /// Ranges one work-item hashes side by side (see Kernels/fnv1a.cl): a
    /// GPU hides the multiply latency with other work-items, a CPU core
    /// needs independent chains within one.
    static func lanes(for device: OpenCLDevice) -> Int { device.isGPU ? 1 : 4 }

    /// The FNV-1a 64 hash of every range, in order.
    public func hash(_ ranges: [UnsafeRawBufferPointer]) throws -> [UInt64] {
        var hashes = [UInt64](repeating: 0, count: ranges.count)
        var batches: [Range<Int>] = []
        var first = 0, bytes = 0
        for i in ranges.indices {
            if i > first && bytes + ranges[i].count > batchBytes {
                batches.append(first..<i)
                first = i
                bytes = 0
            }
            bytes += ranges[i].count
        }
        if first < ranges.count { batches.append(first..<ranges.count) }
        // Engines are ordered device by device, two queues each; dealing
        // batch b to engine b % count spreads consecutive batches over the
        // devices and reuses an engine only after all the others got one.
        let order = (0..<2).flatMap { q in devices.indices.map { $0 * 2 + q } }
        for (b, range) in batches.enumerated() {
            let engine = engines[order[b % order.count]]
            try finish(engine, into: &hashes)
            try engine.start(range, ranges)
        }
        for engine in engines { try finish(engine, into: &hashes) }
        return hashes
    }

    /// Convenience form over byte arrays.
    public func hash(_ arrays: [[UInt8]]) throws -> [UInt64] {
        try withRawPointers(arrays) { try hash($0) }
    }

    private func finish(_ engine: Engine, into hashes: inout [UInt64]) throws {
        guard let range = engine.range else { return }
        engine.range = nil
        timings += try engine.events.finish()
        for (k, i) in range.enumerated() { hashes[i] = engine.hashesHost[k] }
    }

    /// One queue of one device with its buffers and in-flight batch.
    private final class Engine {
        let queue: cl_command_queue
        let kernel: OpenCLKernel
        let lanes: Int
        let data, offsets, lengths, hashes: OpenCLBuffer
        var range: Range<Int>?
        let offsetsHost = OpenCLHostArray<UInt64>(), lengthsHost = OpenCLHostArray<UInt64>()
        let hashesHost = OpenCLHostArray<UInt64>()
        var events = OpenCLBatchEvents()

        init(_ device: OpenCLDevice, queue: cl_command_queue, lanes: Int, kernel: OpenCLKernel) {
            self.queue = queue
            self.kernel = kernel
            self.lanes = lanes
            data = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            offsets = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            lengths = OpenCLBuffer(device, flags: CL_MEM_READ_ONLY)
            hashes = OpenCLBuffer(device, flags: CL_MEM_WRITE_ONLY)
        }

        func start(_ range: Range<Int>, _ ranges: [UnsafeRawBufferPointer]) throws {
            self.range = range
            let lengths = range.map { UInt64(ranges[$0].count) }
            var offsets: [UInt64] = []
            var total: UInt64 = 0
            for length in lengths {
                offsets.append(total)
                // 16-byte aligned starts let the kernel use vector loads.
                total += (length + 15) & ~15
            }
            offsetsHost.set(offsets)
            lengthsHost.set(lengths)
            hashesHost.set([UInt64](repeating: 0, count: range.count))
            try data.ensure(Int(total)); try self.offsets.ensure(range.count * 8)
            try self.lengths.ensure(range.count * 8); try hashes.ensure(range.count * 8)
            for (k, i) in range.enumerated() where ranges[i].count > 0 {
                events.uploads.append(try data.write(queue, ranges[i].baseAddress!, count: ranges[i].count, at: Int(offsets[k])))
            }
            events.uploads.append(try self.offsets.write(queue, offsetsHost.raw.baseAddress!, count: range.count * 8))
            events.uploads.append(try self.lengths.write(queue, lengthsHost.raw.baseAddress!, count: range.count * 8))
            try kernel.set(0, data); try kernel.set(1, self.offsets); try kernel.set(2, self.lengths); try kernel.set(3, hashes)
            try kernel.set(4, value: UInt32(range.count))
            let items = (range.count + lanes - 1) / lanes
            events.kernels.append(try kernel.launch(queue, global: items, local: lanes > 1 ? 1 : 64))
            events.downloads.append(try hashes.read(queue, into: hashesHost.raw.baseAddress!, count: range.count * 8))
            try OpenCLError.check(clFlush(queue), "clFlush")
        }
    }
}
