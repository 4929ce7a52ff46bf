import Archive
import Glibc

/// The SRC arguments, each opened once as a directory before anything else
/// happens: everything below is then reached relative to these descriptors,
/// so a SRC renamed, replaced or re-pointed during the build changes nothing.
/// A SRC that is a symlink to a directory is followed (that open is the only
/// place a symlink is ever followed), and each SRC's name is that of the
/// directory it really is: `.`, `..`, `a/..` and trailing slashes name the
/// directory itself.
final class SourceRoots: @unchecked Sendable {
    struct Root {
        let argument: BytePath
        let fd: Int32
        /// Its real name: the last component of the path the kernel has for it.
        let name: [UInt8]
        let stat: stat
    }

    let roots: [Root]

    init(_ arguments: [BytePath]) throws {
        var opened: [Root] = []
        do {
            for argument in arguments {
                let fd = argument.withCString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
                guard fd >= 0 else {
                    let code = errno
                    throw ArchiveError(.usage, code == ENOTDIR
                        ? "source \(argument) is not a directory (gpuarc-build archives directories)"
                        : "cannot read source \(argument): \(posixErrorText(code))")
                }
                var st = stat()
                guard fstat(fd, &st) == 0 else {
                    let code = errno
                    close(fd)
                    throw ArchiveError(.usage, "cannot read source \(argument): \(posixErrorText(code))")
                }
                opened.append(Root(argument: argument, fd: fd, name: Self.realName(fd: fd, argument: argument), stat: st))
            }
        } catch {
            for root in opened { close(root.fd) }
            throw error
        }
        roots = opened
    }

    deinit { for root in roots { close(root.fd) } }

    /// The directory's own name, from the path the kernel keeps for the open
    /// descriptor (so it is the directory opened, not what the argument names
    /// by now); the argument's last component when /proc is not there.
    static func realName(fd: Int32, argument: BytePath) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 4096 + 1)
        let n = "/proc/self/fd/\(fd)".withCString { link in
            buffer.withUnsafeMutableBytes { readlink(link, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096) }
        }
        if n > 0, n <= 4096, buffer[0] == UInt8(ascii: "/") {
            let path = BytePath(Array(buffer[0..<n]))
            // A directory removed meanwhile reads "/x (deleted)": keep the argument's name then.
            if !path.bytes.reversed().starts(with: Array(" (deleted)".utf8).reversed()) { return path.lastComponent }
        }
        return argument.lastComponent
    }
}
