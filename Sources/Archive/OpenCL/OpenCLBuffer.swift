import COpenCL

/// A device buffer that is kept across batches and only reallocated when a
/// batch needs more room than any before it.
package final class OpenCLBuffer {
    private let device: OpenCLDevice
    private let flags: cl_mem_flags
    private(set) var mem: cl_mem?
    private(set) var capacity = 0

    package init(_ device: OpenCLDevice, flags: Int32) {
        self.device = device
        self.flags = cl_mem_flags(flags)
    }

    deinit { if let mem { clReleaseMemObject(mem) } }

    /// Makes room for `bytes` (at least 1, as OpenCL refuses empty buffers).
    package func ensure(_ bytes: Int) throws {
        let wanted = max(bytes, 1)
        if wanted <= capacity { return }
        if UInt64(wanted) > device.maxAllocation {
            throw OpenCLError.invalidArgument(
                "a \(wanted)-byte buffer exceeds \(device.name)'s largest allocation (\(device.maxAllocation) bytes); use smaller batches")
        }
        if let mem { clReleaseMemObject(mem) }
        mem = nil
        capacity = 0
        var status: cl_int = 0
        let made = clCreateBuffer(device.context, flags, wanted, nil, &status)
        guard let made, status == CL_SUCCESS else { throw OpenCLError.call("clCreateBuffer(\(wanted) bytes)", status) }
        mem = made
        capacity = wanted
    }

    /// Queues a host → device copy; `bytes` must stay valid until the event completes.
    package func write(_ queue: cl_command_queue, _ bytes: UnsafeRawPointer, count: Int, at offset: Int = 0) throws -> cl_event? {
        if count == 0 { return nil }
        var event: cl_event?
        try OpenCLError.check(clEnqueueWriteBuffer(queue, mem, cl_bool(CL_FALSE), offset, count, bytes, 0, nil, &event),
                              "clEnqueueWriteBuffer")
        return event
    }

    /// Queues a device → host copy; `bytes` must stay valid until the event completes.
    package func read(_ queue: cl_command_queue, into bytes: UnsafeMutableRawPointer, count: Int, at offset: Int = 0) throws -> cl_event? {
        if count == 0 { return nil }
        var event: cl_event?
        try OpenCLError.check(clEnqueueReadBuffer(queue, mem, cl_bool(CL_FALSE), offset, count, bytes, 0, nil, &event),
                              "clEnqueueReadBuffer")
        return event
    }
}
