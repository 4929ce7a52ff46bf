import COpenCL

/// A kernel object owned by one user: OpenCL kernel arguments are state on
/// the kernel, so two threads must never share one.
package final class OpenCLKernel {
    package let kernel: cl_kernel
    package let name: String

    package init(_ device: OpenCLDevice, file: String, name: String, options: String = "") throws {
        let program = try device.program(file, options: options)
        var status: cl_int = 0
        guard let kernel = clCreateKernel(program, name, &status), status == CL_SUCCESS else {
            throw OpenCLError.call("clCreateKernel(\(name))", status)
        }
        self.kernel = kernel
        self.name = name
    }

    deinit { clReleaseKernel(kernel) }

    package func set(_ index: Int, _ buffer: OpenCLBuffer) throws {
        var mem = buffer.mem
        try OpenCLError.check(clSetKernelArg(kernel, cl_uint(index), MemoryLayout<cl_mem?>.size, &mem),
                              "clSetKernelArg(\(name), \(index))")
    }

    package func set<T: FixedWidthInteger>(_ index: Int, value: T) throws {
        var copy = value
        try OpenCLError.check(clSetKernelArg(kernel, cl_uint(index), MemoryLayout<T>.size, &copy),
                              "clSetKernelArg(\(name), \(index))")
    }

    /// Queues a 1-D launch of `global` work-items in groups of `local`
    /// (rounded up so every group is full; kernels bound-check their ids).
    package func enqueue(_ queue: cl_command_queue, global: Int, local: Int) throws -> cl_event? {
        if global == 0 { return nil }
        var globalSize = (global + local - 1) / local * local
        var localSize = local
        var event: cl_event?
        try OpenCLError.check(clEnqueueNDRangeKernel(queue, kernel, 1, nil, &globalSize, &localSize, 0, nil, &event),
                              "clEnqueueNDRangeKernel(\(name))")
        return event
    }
}

/// Device-side times from OpenCL event profiling, transfers apart from
/// compute, and compute per kernel (the benchmark prints the breakdown).
public struct OpenCLTimings: Sendable {
    public var uploadNanoseconds: UInt64 = 0
    public var kernelNanoseconds: UInt64 = 0
    public var downloadNanoseconds: UInt64 = 0
    public var perKernelNanoseconds: [String: UInt64] = [:]
    public init() {}

    public static func += (lhs: inout OpenCLTimings, rhs: OpenCLTimings) {
        lhs.uploadNanoseconds += rhs.uploadNanoseconds
        lhs.kernelNanoseconds += rhs.kernelNanoseconds
        lhs.downloadNanoseconds += rhs.downloadNanoseconds
        lhs.perKernelNanoseconds.merge(rhs.perKernelNanoseconds, uniquingKeysWith: +)
    }
}

/// A queued launch with the kernel's name, for the per-kernel timings.
package typealias OpenCLLaunch = (name: String, event: cl_event?)

extension OpenCLKernel {
    package func launch(_ queue: cl_command_queue, global: Int, local: Int) throws -> OpenCLLaunch {
        (name, try enqueue(queue, global: global, local: local))
    }
}

/// The events one in-flight batch has queued, by kind, until `finish`.
package struct OpenCLBatchEvents {
    package var uploads: [cl_event?] = [], kernels: [OpenCLLaunch] = [], downloads: [cl_event?] = []

    package init() {}

    /// Waits for them, sums their profiled times and forgets them.
    package mutating func finish() throws -> OpenCLTimings {
        defer { self = OpenCLBatchEvents() }
        return try OpenCLEvents.finish(uploads: uploads, kernels: kernels, downloads: downloads)
    }
}

package enum OpenCLEvents {
    /// Waits for `events` and releases them.
    package static func wait(_ events: [cl_event?]) throws {
        let live = events.compactMap { $0 }
        defer { live.forEach { clReleaseEvent($0) } }
        if live.isEmpty { return }
        var list: [cl_event?] = live
        try OpenCLError.check(clWaitForEvents(cl_uint(list.count), &list), "clWaitForEvents")
    }

    /// Nanoseconds between start and end of a completed event (0 for none).
    package static func duration(_ event: cl_event?) throws -> UInt64 {
        guard let event else { return 0 }
        var start: cl_ulong = 0
        var end: cl_ulong = 0
        try OpenCLError.check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_START),
                                                      MemoryLayout<cl_ulong>.size, &start, nil), "clGetEventProfilingInfo")
        try OpenCLError.check(clGetEventProfilingInfo(event, cl_profiling_info(CL_PROFILING_COMMAND_END),
                                                      MemoryLayout<cl_ulong>.size, &end, nil), "clGetEventProfilingInfo")
        return end > start ? end - start : 0
    }

    /// Waits for the events of one batch, sums their profiled times by kind
    /// and releases them.
    package static func finish(uploads: [cl_event?], kernels: [OpenCLLaunch], downloads: [cl_event?]) throws -> OpenCLTimings {
        let kernelEvents = kernels.map(\.event)
        try wait(uploads.map(retain) + kernelEvents.map(retain) + downloads.map(retain))
        defer { (uploads + kernelEvents + downloads).compactMap { $0 }.forEach { clReleaseEvent($0) } }
        var timings = OpenCLTimings()
        for event in uploads { timings.uploadNanoseconds += try duration(event) }
        for (name, event) in kernels {
            let time = try duration(event)
            timings.kernelNanoseconds += time
            timings.perKernelNanoseconds[name, default: 0] += time
        }
        for event in downloads { timings.downloadNanoseconds += try duration(event) }
        return timings
    }

    private static func retain(_ event: cl_event?) -> cl_event? {
        if let event { clRetainEvent(event) }
        return event
    }
}
