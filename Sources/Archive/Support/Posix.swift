import Glibc

/// Thin, retrying wrappers over the system calls the archive code uses, so
/// short reads/writes and EINTR are handled in exactly one place.
public enum Posix {
    /// Reads exactly `count` bytes at `offset` unless end of file comes first; returns bytes read.
    public static func preadFully(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int, _ offset: UInt64) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw ArchiveError(.io, "read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `count` bytes at `offset`; nil, or the errno that stopped it.
    public static func pwriteAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int, _ offset: UInt64) -> Int32? {
        var done = 0
        while done < count {
            let n = pwrite(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return nil
    }

    public static func writeAll(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int32? {
        var done = 0
        while done < count {
            let n = write(fd, buffer + done, count - done)
            if n < 0 {
                if errno == EINTR { continue }
                return errno
            }
            done += n
        }
        return nil
    }

}

public func posixErrorText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// "a FIFO", "a directory", ... for messages about what sits where a file was expected.
public func fileTypeName(_ mode: mode_t) -> String {
    switch mode & S_IFMT {
    case S_IFREG: return "a regular file"
    case S_IFDIR: return "a directory"
    case S_IFLNK: return "a symlink"
    case S_IFIFO: return "a FIFO"
    case S_IFCHR: return "a character device"
    case S_IFBLK: return "a block device"
    case S_IFSOCK: return "a socket"
    default: return "of unknown type"
    }
}

/// The directory part of `path` ("a/b/OUT" -> "a/b", "OUT" -> ".", "/OUT" -> "/").
/// Plain string work: Foundation's `NSString.deletingLastPathComponent` traps
/// on one-character paths on Linux (swift-corelibs-foundation), so `OUT` named
/// "m" crashed the build.
public func parentDirectory(of path: String) -> String {
    var trimmed = Substring(path)
    while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
    guard let slash = trimmed.lastIndex(of: "/") else { return "." }
    if slash == trimmed.startIndex { return "/" }
    return String(trimmed[..<slash])
}
