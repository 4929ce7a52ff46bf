import Archive
import CSysCalls
import Glibc

/// Why a source file was read, for hooks and messages.
public enum ReadPurpose: String, Sendable {
    /// The dedup filter's probe bytes.
    case probe
    /// The full hash of a dedup candidate.
    case hash
    /// The byte-for-byte comparison of two dedup candidates.
    case confirm
    /// Reading a file's content into the archive.
    case store
    /// Reading a stored chunk again (to confirm a duplicate chunk, or as a delta base).
    case chunk
}

/// Reads source files so that what is read is known to be the version of the
/// file the scan saw. Implementations open the file relative to its
/// directory (never through a symlink), check its identity (device, inode,
/// size, mtime, ctime) against the scan's, run the read, and check the
/// identity again afterwards: a result comes back only if nothing changed.
public protocol SourceReading: Sendable {
    /// `body`'s result for file `file` (a node id the builder hands out), or
    /// nil when the file is not the one scanned or changed while `body` read.
    func read<T>(_ file: Int, purpose: ReadPurpose, _ body: (Int32) throws -> T?) -> T?
}

/// A source file that is no longer readable as the scan saw it.
struct CaptureProblem: Error, CustomStringConvertible {
    enum Kind {
        /// Gone, not a regular file any more, or unreadable: nothing to store.
        case gone
        /// A regular file still, but another version (or another file put in
        /// its place): reading it afresh gives a consistent copy.
        case changed
    }
    let kind: Kind
    let description: String
}

/// An open source file and the identity it had when opened.
final class OpenSource {
    let fd: Int32
    let st: stat
    var identity: FileIdentity { FileIdentity(st) }

    init(fd: Int32, st: stat) { self.fd = fd; self.st = st }
    deinit { close(fd) }

    /// True if the file still has the identity it had when opened: the bytes
    /// read since are the bytes of that version.
    func unchanged() -> Bool {
        var now = stat()
        return fstat(fd, &now) == 0 && FileIdentity(now) == identity
    }

    /// The file's data extents when it has holes (SEEK_DATA/SEEK_HOLE);
    /// nil when it is all data, or the file system cannot tell. At most
    /// `maxExtents`: holes shorter than a growing threshold are stored as
    /// data instead, so a file with holes every few KiB keeps the index small.
    func dataExtents(maxExtents: Int = 4096) -> [DataExtent]? {
        let size = UInt64(st.st_size)
        guard size > 0, UInt64(max(st.st_blocks, 0)) * 512 < size else { return nil }
        var extents: [DataExtent] = []
        var position: off_t = 0
        while UInt64(position) < size {
            let data = lseek(fd, position, gpuarc_SEEK_DATA)
            if data < 0 {
                if errno == ENXIO { break }   // only a hole is left
                return nil                    // SEEK_DATA not supported here
            }
            guard UInt64(data) < size else { break }
            var hole = lseek(fd, data, gpuarc_SEEK_HOLE)
            if hole < 0 { return nil }
            hole = min(hole, off_t(size))
            extents.append(DataExtent(offset: UInt64(data), length: UInt64(hole - data)))
            position = hole
        }
        if extents.count == 1, extents[0].offset == 0, extents[0].length == size { return nil }
        var gap: UInt64 = 64 << 10
        while extents.count > maxExtents {
            var merged: [DataExtent] = []
            for e in extents {
                if let last = merged.last, e.offset - last.end < gap {
                    merged[merged.count - 1].length = e.end - last.offset
                } else {
                    merged.append(e)
                }
            }
            extents = merged
            gap *= 2
        }
        return extents
    }
}

/// The builder's `SourceReading`: opens regular files of the scanned tree
/// relative to their directories (`SourceDirectories`) with O_NOFOLLOW and
/// O_NONBLOCK (a FIFO put in a file's place must not block the build) and
/// holds them to the scan's identity.
final class SourceFiles: SourceReading, @unchecked Sendable {
    private let nodes: [ScannedNode]
    private let tree: ScannedTree
    private let directories: SourceDirectories
    /// Called after each read and before its check (tests change files there).
    private let afterRead: (@Sendable (ReadPurpose, [UInt8]) -> Void)?

    init(tree: ScannedTree, directories: SourceDirectories, afterRead: (@Sendable (ReadPurpose, [UInt8]) -> Void)? = nil) {
        self.tree = tree
        self.nodes = tree.nodes
        self.directories = directories
        self.afterRead = afterRead
    }

    /// Opens file `node`. With `expecting`, it must have that identity
    /// (else `.changed`, or `.gone` when it is not a regular file at all);
    /// without, any regular file at that name is taken (a fresh capture).
    func open(_ node: Int, expecting: FileIdentity?) throws(CaptureProblem) -> OpenSource {
        let n = nodes[node]
        let fd: Int32
        do {
            fd = try directories.withDirectory(n.parent) { dirFD in
                BytePath.withCString(n.name) { openat(dirFD, $0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
            }
        } catch {
            throw CaptureProblem(kind: .gone, description: "\(error)")
        }
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT: throw CaptureProblem(kind: .gone, description: "it vanished during the build")
            case ELOOP: throw CaptureProblem(kind: .gone, description: "it was replaced by a symlink during the build")
            default: throw CaptureProblem(kind: .gone, description: posixErrorText(code))
            }
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw CaptureProblem(kind: .gone, description: posixErrorText(code))
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw CaptureProblem(kind: .gone, description: "it was replaced by \(fileTypeName(st.st_mode)) during the build")
        }
        let opened = OpenSource(fd: fd, st: st)
        if let expecting, opened.identity != expecting {
            throw CaptureProblem(kind: .changed, description: opened.identity.sameInode(as: expecting)
                                 ? "it changed during the build" : "another file was put in its place during the build")
        }
        return opened
    }

    /// Lets a test change the file between a read and its check.
    func didRead(_ node: Int, _ purpose: ReadPurpose) {
        afterRead?(purpose, tree.relativePath(node))
    }

    func read<T>(_ file: Int, purpose: ReadPurpose, _ body: (Int32) throws -> T?) -> T? {
        guard let opened = try? open(file, expecting: nodes[file].identity),
              let result = try? body(opened.fd) else { return nil }
        didRead(file, purpose)
        return opened.unchanged() ? result : nil
    }

    func displayPath(_ node: Int) -> String { tree.displayPath(node) }
}
