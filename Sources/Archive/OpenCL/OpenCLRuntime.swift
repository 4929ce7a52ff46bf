import COpenCL
import Foundation

/// Entry point to OpenCL: finds the platforms and devices once per process
/// and hands out the same `OpenCLDevice` objects (with their contexts,
/// queues and compiled programs) to every caller.
public final class OpenCLRuntime: @unchecked Sendable {
    public let devices: [OpenCLDevice]

    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Result<OpenCLRuntime, Error>?

    /// The process-wide runtime. Throws `OpenCLError.noPlatform` when no
    /// OpenCL driver is installed, which callers in `auto` mode treat as
    /// "use the CPU".
    public static func shared() throws -> OpenCLRuntime {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return try cached.get() }
        let result = Result { try OpenCLRuntime() }
        cached = result
        return try result.get()
    }

    /// Every device of every platform, GPUs first (they are why this path
    /// exists), or an empty list when there is no platform at all.
    public static func availableDevices() -> [OpenCLDevice] {
        (try? shared().devices) ?? []
    }

    private init() throws {
        var platformCount: cl_uint = 0
        let status = clGetPlatformIDs(0, nil, &platformCount)
        // ocl-icd answers CL_PLATFORM_NOT_FOUND_KHR (-1001, from cl_ext.h) when no
        // ICD is registered.
        if status == -1001 || (status == CL_SUCCESS && platformCount == 0) {
            throw OpenCLError.noPlatform
        }
        try OpenCLError.check(status, "clGetPlatformIDs")
        var platforms = [cl_platform_id?](repeating: nil, count: Int(platformCount))
        try OpenCLError.check(clGetPlatformIDs(platformCount, &platforms, nil), "clGetPlatformIDs")

        var found: [OpenCLDevice] = []
        for case let platform? in platforms {
            var deviceCount: cl_uint = 0
            let status = clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), 0, nil, &deviceCount)
            if status == CL_DEVICE_NOT_FOUND || deviceCount == 0 { continue }
            try OpenCLError.check(status, "clGetDeviceIDs")
            var ids = [cl_device_id?](repeating: nil, count: Int(deviceCount))
            try OpenCLError.check(clGetDeviceIDs(platform, cl_device_type(CL_DEVICE_TYPE_ALL), deviceCount, &ids, nil),
                                  "clGetDeviceIDs")
            for case let id? in ids {
                found.append(try OpenCLDevice(id: id, platform: platform, index: found.count))
            }
        }
        if found.isEmpty { throw OpenCLError.noDevice("the installed OpenCL platforms report no devices") }
        devices = found.sorted { ($0.isGPU ? 0 : 1, $0.index) < ($1.isGPU ? 0 : 1, $1.index) }
    }

    /// Resolves a `--device` list ("0,2", "all", or empty for all devices)
    /// against `devices`, by index in the listing order above.
    public func select(_ list: String?) throws -> [OpenCLDevice] {
        guard let list, !list.isEmpty, list != "all" else { return devices }
        return try list.split(separator: ",").map { item in
            let text = item.trimmingCharacters(in: .whitespaces)
            guard let i = Int(text), devices.indices.contains(i) else {
                let known = devices.enumerated().map { "  \($0.offset): \($0.element.name)" }.joined(separator: "\n")
                throw OpenCLError.noDevice("'\(text)' is not a device number; devices are:\n\(known)")
            }
            return devices[i]
        }
    }
}
