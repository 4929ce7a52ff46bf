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
    /// Runs `body` on a descriptor of file `file` (a node id the builder
    /// hands out); true when `body` returned true and the file was, and
    /// stayed, the version scanned. (Not generic: a generic requirement
    /// called through the protocol ran unspecialized, a cost per read.)
    func readChecked(_ file: Int, purpose: ReadPurpose, _ body: (Int32) -> Bool) -> Bool
}

extension SourceReading {
    /// `body`'s result for file `file`, or nil when the file is not the one
    /// scanned or changed while `body` read.
    @inlinable
    public func read<T>(_ file: Int, purpose: ReadPurpose, _ body: (Int32) throws -> T?) -> T? {
        var result: T?
        let ok = readChecked(file, purpose: purpose) { fd in
            result = try? body(fd)
            return result != nil
        }
        return ok ? result : nil
    }
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
/// with O_NOFOLLOW and O_NONBLOCK (a FIFO put in a file's place must not
/// block the build) and holds them to the scan's identity.
///
/// A file is opened with one openat2 from its SRC's descriptor, resolving
/// its relative path with no symlink followed anywhere on it and nothing
/// outside the SRC reached (a directory swapped for a symlink fails the
/// open); where the path is too long for one call, or the kernel has no
/// openat2, it is opened from its directory's descriptor. Either way the
/// file must then be the inode the scan saw, so a directory swapped for
/// another one cannot lend its files either.
final class SourceFiles: SourceReading, @unchecked Sendable {
    private let tree: ScannedTree
    private let directories: SourceDirectories
    /// The SRC descriptors by number (the build's `SourceRoots` keeps them open).
    private let roots: [Int32]
    /// Called after each read and before its check (tests change files there).
    private let afterRead: (@Sendable (ReadPurpose, [UInt8]) -> Void)?

    /// The path below its SRC, NUL-terminated, of each file to be read,
    /// made once: a file is opened up to five times (dedup's probe, hash
    /// and compare, then storage), and building the path each time showed
    /// in profiles. Other files (an append's unchanged ones, which are not
    /// read at all) get theirs when opened.
    private let paths: RelativePaths

    /// `reading`: the regular files the build will read (nil: all of them).
    init(tree: ScannedTree, roots: SourceRoots, reading: [Int]? = nil,
         afterRead: (@Sendable (ReadPurpose, [UInt8]) -> Void)? = nil) {
        self.tree = tree
        self.roots = roots.roots.map(\.fd)
        directories = SourceDirectories(tree: tree, roots: roots)
        self.afterRead = afterRead
        paths = RelativePaths(tree: tree, files: reading ?? tree.nodes.indices.filter { tree.nodes[$0].kind == .regular },
                              limit: Self.onePathLimit)
    }

    /// `id`'s path below its SRC for openat2, nil when too long for one call.
    private static func cPath(_ tree: ScannedTree, _ id: Int) -> [CChar]? {
        let relative = tree.relativePath(id)
        return relative.count <= onePathLimit ? relative.map { CChar(bitPattern: $0) } + [0] : nil
    }

    /// Relative paths up to this long go to openat2 in one piece (PATH_MAX is 4096).
    static let onePathLimit = 4000
    /// Tests turn openat2 off to run the directory-descriptor path everywhere.
    nonisolated(unsafe) static var useOpenat2 = true

    /// A descriptor for file `node`, or -1 with errno set.
    private func openFile(_ node: Int) throws -> Int32 {
        let flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC
        if Self.useOpenat2 {
            let root = roots[tree.nodes[node].source]
            var fd: Int32?
            if paths.withPath(of: node, { fd = gpuarc_open_beneath(root, $0, flags) }) == false, let relative = Self.cPath(tree, node) {
                fd = relative.withUnsafeBufferPointer { gpuarc_open_beneath(root, $0.baseAddress!, flags) }
            }
            if let fd, fd >= 0 || errno != ENOSYS { return fd }
        }
        return try directories.withDirectory(tree.nodes[node].parent) { dirFD in
            BytePath.withCString(tree.nodes[node].name) { openat(dirFD, $0, flags) }
        }
    }

    /// Opens file `node`. With `expecting`, it must have that identity
    /// (else `.changed`, or `.gone` when it is not a regular file at all);
    /// without, any regular file at that name is taken (a fresh capture).
    func open(_ node: Int, expecting: FileIdentity?) throws(CaptureProblem) -> OpenSource {
        let fd: Int32
        do {
            fd = try openFile(node)
        } catch {
            throw CaptureProblem(kind: .gone, description: "\(error)")
        }
        guard fd >= 0 else {
            let code = errno
            switch code {
            case ENOENT: throw CaptureProblem(kind: .gone, description: "it vanished during the build")
            case ELOOP, EXDEV:
                throw CaptureProblem(kind: .gone, description: "it, or a directory on its path, was replaced by a symlink during the build")
            case ENOTDIR:
                throw CaptureProblem(kind: .gone, description: "a directory on its path was replaced by something else during the build")
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

    /// Reads without a stat before: the one after is what proves the bytes
    /// (the same inode with the same ctime as at the scan cannot have been
    /// written since), and it also tells a FIFO or a device put in the file's
    /// place, whose reads `body` must bound (all of them stop after the
    /// scan's size plus one byte). One system call less per read: dedup reads
    /// a file up to three times.
    func readChecked(_ file: Int, purpose: ReadPurpose, _ body: (Int32) -> Bool) -> Bool {
        guard let fd = try? openFile(file), fd >= 0 else { return false }
        defer { close(fd) }
        guard body(fd) else { return false }
        didRead(file, purpose)
        var st = stat()
        return fstat(fd, &st) == 0 && st.st_mode & S_IFMT == S_IFREG && FileIdentity(st) == tree.nodes[file].identity
    }

    /// True when file `node` is still, at its path, the regular file the
    /// scan saw: the check that lets storage take bytes read earlier
    /// (`HeldContents`) without opening the file again. A stat that follows
    /// a directory swapped for a symlink reaches another inode, so it says
    /// false and the file is opened as usual, below its SRC.
    func isAsScanned(_ node: Int) -> Bool {
        var st = stat()
        var found = false
        guard paths.withPath(of: node, { found = fstatat(roots[tree.nodes[node].source], $0, &st, AT_SYMLINK_NOFOLLOW) == 0 }) else {
            return false
        }
        return found && st.st_mode & S_IFMT == S_IFREG && FileIdentity(st) == tree.nodes[node].identity
    }

    func displayPath(_ node: Int) -> String { tree.displayPath(node) }
}

/// The NUL-terminated paths below their SRC of a set of files, back to back
/// in one buffer: built from each directory's path, made once, so a tree of
/// 65,000 files costs one pass over its names and no allocation per file.
/// A path longer than `limit` is left out (it is opened a directory at a time).
struct RelativePaths {
    private var bytes: [CChar] = []
    /// By node id: where the node's path starts in `bytes`, -1 if not kept.
    private var start: [Int]

    init(tree: ScannedTree, files: [Int], limit: Int) {
        start = [Int](repeating: -1, count: tree.nodes.count)
        // Directory paths (without the NUL), by node id, each made from its
        // parent's; nil for one already longer than `limit`.
        var directory: [Int: [CChar]?] = [:]
        for root in tree.sourceRoots { directory[root] = .some([]) }
        func path(ofDirectory id: Int) -> [CChar]? {
            // Up to the nearest directory made already, then back down.
            var missing: [Int] = []
            var at = id
            while directory[at] == nil, at >= 0 {
                missing.append(at)
                at = tree.nodes[at].parent
            }
            var p: [CChar]? = at >= 0 ? directory[at]! : []
            for dir in missing.reversed() {
                if var q = p {
                    if !q.isEmpty { q.append(CChar(bitPattern: UInt8(ascii: "/"))) }
                    for b in tree.nodes[dir].name { q.append(CChar(bitPattern: b)) }
                    p = q.count <= limit ? q : nil
                }
                directory[dir] = .some(p)
            }
            return p
        }
        bytes.reserveCapacity(files.count * 48)
        for id in files {
            let node = tree.nodes[id]
            guard let prefix = path(ofDirectory: node.parent) else { continue }
            let length = prefix.count + (prefix.isEmpty ? 0 : 1) + node.name.count
            guard length <= limit else { continue }
            start[id] = bytes.count
            bytes += prefix
            if !prefix.isEmpty { bytes.append(CChar(bitPattern: UInt8(ascii: "/"))) }
            for b in node.name { bytes.append(CChar(bitPattern: b)) }
            bytes.append(0)
        }
    }

    /// Runs `body` on the node's path and returns true, or false when it is not kept.
    func withPath(of id: Int, _ body: (UnsafePointer<CChar>) -> Void) -> Bool {
        guard id < start.count, start[id] >= 0 else { return false }
        bytes.withUnsafeBufferPointer { body($0.baseAddress! + start[id]) }
        return true
    }
}
