import CSysCalls
import Glibc

/// One extended attribute: its full name with namespace ("user.mime",
/// "security.capability", "system.posix_acl_access" for an ACL) and value.
public struct ExtendedAttribute: Sendable, Hashable {
    public var name: [UInt8]
    public var value: [UInt8]
    public init(name: [UInt8], value: [UInt8]) { self.name = name; self.value = value }
}

/// Reads and writes extended attributes of an open file or of a name in an
/// open directory (never following a symlink). Names and values are bytes.
public enum ExtendedAttributes {
    /// Where the attributes are: an open descriptor, or entry `name` of the
    /// open directory `directory` (symlinks, devices, FIFOs: things not to open).
    public enum Target {
        case descriptor(Int32)
        case entry(directory: Int32, name: [UInt8])
    }

    /// Every attribute this process may read, sorted by name. A file system
    /// without attributes gives none; any other failure throws (errno).
    public static func read(_ target: Target) throws(Errno) -> [ExtendedAttribute] {
        // The list and the values can change between the call that sizes a
        // buffer and the one that fills it (ERANGE): try again a few times.
        var names: [UInt8] = []
        for attempt in 0..<4 {
            let size = try call { list(target, nil, 0) }
            if size == 0 { return [] }
            names = [UInt8](repeating: 0, count: size)
            let got = names.withUnsafeMutableBytes { list(target, $0.baseAddress, size) }
            if got >= 0 { names.removeSubrange(got...); break }
            if errno != ERANGE || attempt == 3 { throw Errno(errno) }
        }
        var result: [ExtendedAttribute] = []
        for name in names.split(separator: 0, omittingEmptySubsequences: true) {
            guard let value = try value(target, Array(name)) else { continue }   // removed meanwhile
            result.append(ExtendedAttribute(name: Array(name), value: value))
        }
        return result.sorted { $0.name.lexicographicallyPrecedes($1.name) }
    }

    /// Sets one attribute (creating or replacing it).
    public static func write(_ target: Target, _ attribute: ExtendedAttribute) throws(Errno) {
        let r = BytePath.withCString(attribute.name) { cName in
            attribute.value.withUnsafeBytes { value -> Int32 in
                switch target {
                case .descriptor(let fd):
                    return fsetxattr(fd, cName, value.baseAddress, value.count, 0)
                case .entry(let directory, let name):
                    return BytePath.withCString(name) { gpuarc_setxattrat(directory, $0, cName, value.baseAddress, value.count) }
                }
            }
        }
        if r != 0 { throw Errno(errno) }
    }

    private static func value(_ target: Target, _ name: [UInt8]) throws(Errno) -> [UInt8]? {
        for attempt in 0..<4 {
            let size = get(target, name, nil, 0)
            if size < 0 {
                if errno == ENODATA { return nil }
                throw Errno(errno)
            }
            var value = [UInt8](repeating: 0, count: size)
            let got = value.withUnsafeMutableBytes { get(target, name, $0.baseAddress, size) }
            if got >= 0 { value.removeSubrange(got...); return value }
            if errno == ENODATA { return nil }
            if errno != ERANGE || attempt == 3 { throw Errno(errno) }
        }
        return nil
    }

    /// Size of the name list; 0 where the file system has no attributes.
    private static func call(_ body: () -> Int) throws(Errno) -> Int {
        let n = body()
        if n >= 0 { return n }
        if errno == ENOTSUP || errno == ENOSYS { return 0 }
        throw Errno(errno)
    }

    private static func list(_ target: Target, _ buffer: UnsafeMutableRawPointer?, _ size: Int) -> Int {
        let list = buffer?.assumingMemoryBound(to: CChar.self)
        switch target {
        case .descriptor(let fd): return flistxattr(fd, list, size)
        case .entry(let directory, let name): return BytePath.withCString(name) { gpuarc_listxattrat(directory, $0, list, size) }
        }
    }

    private static func get(_ target: Target, _ attribute: [UInt8], _ buffer: UnsafeMutableRawPointer?, _ size: Int) -> Int {
        BytePath.withCString(attribute) { cName in
            switch target {
            case .descriptor(let fd): return fgetxattr(fd, cName, buffer, size)
            case .entry(let directory, let name): return BytePath.withCString(name) { gpuarc_getxattrat(directory, $0, cName, buffer, size) }
            }
        }
    }
}

/// A failed system call's errno, for typed throws.
public struct Errno: Error, Sendable, CustomStringConvertible {
    public let code: Int32
    public init(_ code: Int32) { self.code = code }
    public var description: String { posixErrorText(code) }
}
