import COpenCL

/// Everything that can go wrong on the OpenCL path, phrased for the person
/// running gpuarc rather than for the driver.
public enum OpenCLError: Error, CustomStringConvertible, Equatable {
    /// No ICD or no platform installed: `auto` falls back to the CPU.
    case noPlatform
    /// Platforms exist but none offers a device of the wanted kind.
    case noDevice(String)
    /// An OpenCL call returned an error code.
    case call(String, Int32)
    /// The kernel source did not compile; the build log says why.
    case buildFailed(file: String, device: String, log: String)
    /// None of the searched directories holds the kernel file.
    case kernelNotFound(file: String, tried: [String])
    /// A caller asked for something the path cannot do (too large a frame...).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .noPlatform:
            return "no OpenCL platform found (install an OpenCL driver, e.g. pocl-opencl-icd, or use the CPU path)"
        case .noDevice(let what):
            return "no OpenCL device: \(what)"
        case .call(let name, let code):
            return "OpenCL call \(name) failed with \(OpenCLError.codeName(code)) (\(code))"
        case .buildFailed(let file, let device, let log):
            return "OpenCL kernel \(file) failed to build for \(device):\n\(log)"
        case .kernelNotFound(let file, let tried):
            return "OpenCL kernel \(file) not found; looked in:\n  " + tried.joined(separator: "\n  ")
                + "\n(set GPUARC_KERNELS to the directory holding the .cl files)"
        case .invalidArgument(let why):
            return why
        }
    }

    /// Throws `.call` unless `code` is CL_SUCCESS.
    package static func check(_ code: cl_int, _ name: String) throws {
        if code != CL_SUCCESS { throw OpenCLError.call(name, code) }
    }

    /// Symbolic names for the codes people actually meet, so an error message
    /// can be searched for without a copy of cl.h at hand.
    static func codeName(_ code: Int32) -> String {
        switch code {
        case -1: return "CL_DEVICE_NOT_FOUND"
        case -2: return "CL_DEVICE_NOT_AVAILABLE"
        case -3: return "CL_COMPILER_NOT_AVAILABLE"
        case -4: return "CL_MEM_OBJECT_ALLOCATION_FAILURE"
        case -5: return "CL_OUT_OF_RESOURCES"
        case -6: return "CL_OUT_OF_HOST_MEMORY"
        case -7: return "CL_PROFILING_INFO_NOT_AVAILABLE"
        case -11: return "CL_BUILD_PROGRAM_FAILURE"
        case -30: return "CL_INVALID_VALUE"
        case -33: return "CL_INVALID_DEVICE"
        case -34: return "CL_INVALID_CONTEXT"
        case -36: return "CL_INVALID_COMMAND_QUEUE"
        case -38: return "CL_INVALID_MEM_OBJECT"
        case -44: return "CL_INVALID_PROGRAM"
        case -45: return "CL_INVALID_PROGRAM_EXECUTABLE"
        case -46: return "CL_INVALID_KERNEL_NAME"
        case -48: return "CL_INVALID_KERNEL"
        case -49: return "CL_INVALID_ARG_INDEX"
        case -50: return "CL_INVALID_ARG_VALUE"
        case -51: return "CL_INVALID_ARG_SIZE"
        case -52: return "CL_INVALID_KERNEL_ARGS"
        case -54: return "CL_INVALID_WORK_GROUP_SIZE"
        case -55: return "CL_INVALID_WORK_ITEM_SIZE"
        case -58: return "CL_INVALID_EVENT"
        case -61: return "CL_INVALID_BUFFER_SIZE"
        case -1001: return "CL_PLATFORM_NOT_FOUND_KHR"
        default: return "OpenCL error"
        }
    }
}
