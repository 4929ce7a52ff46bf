import COpenCL
import Foundation

/// One OpenCL device with its own context, two in-order command queues
/// (one batch computes on one while the next batch's transfers run on the
/// other) and the programs already built for it.
public final class OpenCLDevice: @unchecked Sendable, CustomStringConvertible {
    public let id: cl_device_id
    public let index: Int
    public let name: String
    public let platformName: String
    public let isGPU: Bool
    /// A CPU device (PoCL's pthread device): the cores the CPU path runs on.
    public let isCPU: Bool
    public let globalMemory: UInt64
    public let maxAllocation: UInt64
    public let computeUnits: Int
    public let maxWorkGroupSize: Int
    package let context: cl_context
    /// Two queues so that consecutive batches overlap (see `OpenCLBatchSlots`).
    package let queues: [cl_command_queue]

    private let lock = NSLock()
    private var programs: [String: cl_program] = [:]

    init(id: cl_device_id, platform: cl_platform_id, index: Int) throws {
        self.id = id
        self.index = index
        name = try OpenCLDevice.string(id, CL_DEVICE_NAME)
        platformName = try OpenCLDevice.platformString(platform, CL_PLATFORM_NAME)
        let type: cl_device_type = try OpenCLDevice.scalar(id, CL_DEVICE_TYPE)
        isGPU = type & cl_device_type(CL_DEVICE_TYPE_GPU) != 0
        isCPU = type & cl_device_type(CL_DEVICE_TYPE_CPU) != 0
        globalMemory = try OpenCLDevice.scalar(id, CL_DEVICE_GLOBAL_MEM_SIZE)
        maxAllocation = try OpenCLDevice.scalar(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE)
        computeUnits = Int(try OpenCLDevice.scalar(id, CL_DEVICE_MAX_COMPUTE_UNITS) as cl_uint)
        maxWorkGroupSize = Int(try OpenCLDevice.scalar(id, CL_DEVICE_MAX_WORK_GROUP_SIZE) as Int)

        var status: cl_int = 0
        var device: cl_device_id? = id
        guard let context = clCreateContext(nil, 1, &device, nil, nil, &status), status == CL_SUCCESS else {
            throw OpenCLError.call("clCreateContext", status)
        }
        self.context = context
        var made: [cl_command_queue] = []
        for _ in 0..<2 {
            // Profiling is always on: the benchmark and the calibration read
            // event times, and its cost is negligible next to a frame.
            let queue = clCreateCommandQueue(context, id, cl_command_queue_properties(CL_QUEUE_PROFILING_ENABLE), &status)
            guard let queue, status == CL_SUCCESS else {
                made.forEach { clReleaseCommandQueue($0) }
                clReleaseContext(context)
                throw OpenCLError.call("clCreateCommandQueue", status)
            }
            made.append(queue)
        }
        queues = made
    }

    deinit {
        programs.values.forEach { clReleaseProgram($0) }
        queues.forEach { clReleaseCommandQueue($0) }
        clReleaseContext(context)
    }

    public var description: String { "\(name) (\(platformName), \(isGPU ? "GPU" : "CPU"))" }

    /// The program built from `Kernels/<file>`, compiled once per device.
    func program(_ file: String, options: String = "") throws -> cl_program {
        lock.lock()
        defer { lock.unlock() }
        let key = file + "|" + options
        if let program = programs[key] { return program }
        let source = try OpenCLKernelSource.load(file)
        var status: cl_int = 0
        let program: cl_program? = source.withCString { text in
            var pointer: UnsafePointer<CChar>? = text
            return clCreateProgramWithSource(context, 1, &pointer, nil, &status)
        }
        guard let program, status == CL_SUCCESS else { throw OpenCLError.call("clCreateProgramWithSource", status) }
        var device: cl_device_id? = id
        status = clBuildProgram(program, 1, &device, options, nil, nil)
        if status != CL_SUCCESS {
            let log = buildLog(program)
            clReleaseProgram(program)
            if status == CL_BUILD_PROGRAM_FAILURE { throw OpenCLError.buildFailed(file: file, device: name, log: log) }
            throw OpenCLError.call("clBuildProgram(\(file))", status)
        }
        programs[key] = program
        return program
    }

    private func buildLog(_ program: cl_program) -> String {
        var size = 0
        guard clGetProgramBuildInfo(program, id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), 0, nil, &size) == CL_SUCCESS,
              size > 0 else { return "(no build log)" }
        var bytes = [CChar](repeating: 0, count: size)
        guard clGetProgramBuildInfo(program, id, cl_program_build_info(CL_PROGRAM_BUILD_LOG), size, &bytes, nil) == CL_SUCCESS
        else { return "(no build log)" }
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func string(_ id: cl_device_id, _ param: Int32) throws -> String {
        var size = 0
        try OpenCLError.check(clGetDeviceInfo(id, cl_device_info(param), 0, nil, &size), "clGetDeviceInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try OpenCLError.check(clGetDeviceInfo(id, cl_device_info(param), size, &bytes, nil), "clGetDeviceInfo")
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            .trimmingCharacters(in: .whitespaces)
    }

    private static func platformString(_ id: cl_platform_id, _ param: Int32) throws -> String {
        var size = 0
        try OpenCLError.check(clGetPlatformInfo(id, cl_platform_info(param), 0, nil, &size), "clGetPlatformInfo")
        var bytes = [CChar](repeating: 0, count: max(size, 1))
        try OpenCLError.check(clGetPlatformInfo(id, cl_platform_info(param), size, &bytes, nil), "clGetPlatformInfo")
        return String(decoding: bytes.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func scalar<T: FixedWidthInteger>(_ id: cl_device_id, _ param: Int32) throws -> T {
        var value: T = 0
        try OpenCLError.check(clGetDeviceInfo(id, cl_device_info(param), MemoryLayout<T>.size, &value, nil),
                              "clGetDeviceInfo")
        return value
    }
}
