import Archive
import Glibc

/// Opens a source file that the scan saw as a regular file. Between the scan and
/// the read it may have been replaced: by a FIFO, whose plain open() would block
/// the build forever waiting for a writer, or by a device such as /dev/zero,
/// which would be read as endless content. So the open never blocks
/// (O_NONBLOCK, which regular files ignore) and anything that is not a regular
/// file any more is refused, like a file that vanished.
enum SourceFile {
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    /// A descriptor for reading `path`; throws with the reason it cannot be read.
    static func open(_ path: String) throws -> Int32 {
        let fd = Glibc.open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Unreadable(description: posixErrorText(errno)) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw Unreadable(description: posixErrorText(code))
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw Unreadable(description: "it is no longer a regular file")
        }
        return fd
    }
}
