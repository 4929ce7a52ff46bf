import Foundation
import Glibc

public struct ExtractOptions: Sendable {
    /// Replace existing files and symlinks in the destination.
    public var force = false
    /// Restore uid/gid (only possible as root; the default when running as root).
    public var restoreOwnership = geteuid() == 0
    /// Restore extended attributes and ACLs (`--no-xattrs` turns it off).
    public var restoreXattrs = true
    /// Paths inside the archive to restore, as bytes ("v2", "v2/docs",
    /// "/v2/docs/a.txt"), each with everything below it, at the same place
    /// under the destination (`PathSelection`); nil restores the whole tree.
    /// The directories on the way are created with their attributes, but
    /// none of their other entries; the destination's own attributes are
    /// left as they are unless a path names the root ("/").
    public var paths: [[UInt8]]?
    public init() {}
}

public struct ExtractReport: Sendable {
    public var files = 0
    public var directories = 0
    public var symlinks = 0
    public var hardLinks = 0
    public var specialFiles = 0
    public var bytes: UInt64 = 0
    /// One message per entry that could not be restored (path and reason),
    /// and one per selected path that is not in the archive.
    public var failures: [String] = []
    /// The selected paths (`ExtractOptions.paths`, as given) that are not in
    /// the archive; each also has its message in `failures`.
    public var missingPaths: [[UInt8]] = []
    /// Entries restored with their bytes but without some of their metadata
    /// (an attribute this process may not set): one message per attribute
    /// name and reason, with how many entries it concerns.
    public var warnings: [String] = []
}

/// Restores an archive into a directory. Everything is created relative to
/// directory descriptors with O_NOFOLLOW/O_EXCL, so no name in the archive and
/// no symlink it creates (or that already sits in DEST) can make it write
/// outside DEST. Files are written in storage order so each frame is decoded
/// once; attributes are set last (directories deepest first) so mtimes hold.
public final class Extractor {
    private let reader: ArchiveReader
    private let destination: BytePath
    private let options: ExtractOptions
    private var index: ArchiveIndex { reader.index }
    private var dirFDs = DirectoryHandles()
    private var report = ExtractReport()
    private var paths: [Int: [UInt8]] = [:]
    /// Attributes that could not be set: (name, reason) -> (entries, first entry's path).
    private var unsetAttributes: [String: (count: Int, first: String)] = [:]
    /// Inodes whose first name was created (later names become hard links).
    private var created: [Int: (dir: Int, name: [UInt8])] = [:]
    public var onFailure: (String) -> Void = { _ in }

    public init(reader: ArchiveReader, destination: BytePath, options: ExtractOptions = ExtractOptions()) {
        self.reader = reader
        self.destination = destination
        self.options = options
    }

    public convenience init(reader: ArchiveReader, destination: String, options: ExtractOptions = ExtractOptions()) {
        self.init(reader: reader, destination: BytePath(destination), options: options)
    }


    private func fail(_ path: String, _ reason: String) {
        let message = "\(path.isEmpty ? "." : path): \(reason)"
        report.failures.append(message)
        onFailure(message)
    }

    public func run() throws -> ExtractReport {
        // Every selected path is resolved before anything is written: a path
        // with ".." refuses the whole request, and those not in the archive
        // are named, the others still restored.
        let selection = try options.paths.map { try PathSelection(index: index, paths: $0) }
        for path in selection?.missing ?? [] {
            report.missingPaths.append(path)
            fail(Escaped.text(path), "not in the archive")
        }
        if let selection, selection.isEmpty { return report }
        raiseFileLimit()
        if destination.withCString({ mkdir($0, 0o755) }) != 0 && errno != EEXIST {
            throw ArchiveError(.io, "cannot create destination \(destination): \(posixErrorText(errno))")
        }
        let root = destination.withCString { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard root >= 0 else { throw ArchiveError(.io, "cannot open destination \(destination): \(posixErrorText(errno))") }
        // Descriptors the rest of the process holds: the volumes, a file
        // being written, the standard ones, some slack for libraries.
        dirFDs.setRoot(root, reserved: 32 + reader.volumes.paths.count)
        paths = index.bytePaths()

        // Parents of every entry, and the directories in breadth-first order;
        // with a selection, only the selected subtrees and the directories
        // on the way to them (`whole` tells which is which).
        var order: [Int] = [ArchiveIndex.rootInode]
        var whole: [Bool] = [selection?.everything ?? true]
        var head = 0
        var entriesOf: [(dir: Int, entry: DirEntry)] = []
        while head < order.count {
            let dir = order[head], inWhole = whole[head]; head += 1
            for i in index.entryRange(ofDirectory: dir) {
                let step = inWhole ? .whole : selection!.step(entry: i, index: index)
                if step == .skip { continue }
                let e = index.entries[i]
                entriesOf.append((dir, e))
                if index.inodes[Int(e.inode)].kind == .directory {
                    order.append(Int(e.inode))
                    whole.append(step == .whole)
                }
            }
        }
        for (dir, e) in entriesOf where index.inodes[Int(e.inode)].kind == .directory {
            makeDirectory(Int(e.inode), in: dir, name: index.nameBytes(of: e))
        }
        // Regular files: in tree order when every decoded frame fits in the
        // cache (directories are then visited once each), else in the order
        // their bytes are stored, so each frame is decoded once.
        // With a selection, only the frames its files need count, and
        // read-ahead decodes only those.
        let files = entriesOf.filter { index.inodes[Int($0.entry.inode)].kind == .regular }
        var decodedBytes = index.frames.reduce(0) { $0 + Int($1.decodedSize) }
        if let selection, !selection.everything {
            let needed = framesNeeded(by: files.map { Int($0.entry.inode) })
            decodedBytes = needed.reduce(0) { $0 + Int(index.frames[$1].decodedSize) }
            reader.limitReadAhead(to: needed)
        }
        defer { reader.limitReadAhead(to: nil) }
        let sorted = decodedBytes <= reader.cacheBudget ? files
            : files.sorted { storageKey(Int($0.entry.inode)) < storageKey(Int($1.entry.inode)) }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { buffer.deallocate() }
        for (dir, e) in sorted { writeFile(Int(e.inode), in: dir, name: index.nameBytes(of: e), buffer: buffer) }
        for (dir, e) in entriesOf {
            let kind = index.inodes[Int(e.inode)].kind
            if kind != .directory && kind != .regular { makeSpecial(Int(e.inode), in: dir, name: index.nameBytes(of: e)) }
        }
        // Directory attributes last, deepest first (DEST's own only when
        // the whole tree is restored).
        for (dir, isWhole) in zip(order, whole).reversed() where dir != ArchiveIndex.rootInode || isWhole {
            setAttributes(dir, fd: dirFDs[dir], dir: nil, name: nil)
        }
        dirFDs.closeAll()
        for key in unsetAttributes.keys.sorted() {
            let (count, first) = unsetAttributes[key]!
            report.warnings.append("\(key) on \(count) \(count == 1 ? "entry" : "entries") (first: \(first))")
        }
        return report
    }

    /// The frames the contents of these regular files are read from (their
    /// delta chunks' bases included), sorted.
    private func framesNeeded(by inodes: [Int]) -> [Int] {
        var frames = Set<Int>()
        var contents = Set<Int>()
        for inode in inodes where contents.insert(Int(index.inodes[inode].data)).inserted {
            for r in index.refRange(ofContent: Int(index.inodes[inode].data)) {
                index.forEachInDeltaChain(Int(index.chunkRefs[r])) { _, chunk in frames.insert(Int(chunk.frame)) }
            }
        }
        return frames.sorted()
    }

    /// (first frame, offset) of a file's content, so extraction walks frames in order.
    private func storageKey(_ inode: Int) -> (UInt32, UInt32, Int) {
        let refs = index.refRange(ofContent: Int(index.inodes[inode].data))
        guard let first = refs.first else { return (0, 0, inode) }
        let chunk = index.chunks[Int(index.chunkRefs[first])]
        return (chunk.frame, chunk.offset, inode)
    }

    /// The path of entry `name` of directory `dir`, for messages (escaped).
    private func path(_ dir: Int, _ name: [UInt8]) -> String {
        let prefix = paths[dir] ?? []
        return Escaped.text(prefix.isEmpty ? name : prefix + [UInt8(ascii: "/")] + name)
    }

    private func makeDirectory(_ inode: Int, in dir: Int, name: [UInt8]) {
        guard let parent = dirFDs[dir] else { return }   // parent failed: already reported
        let cName = name.map { CChar(bitPattern: $0) } + [0]
        if mkdirat(parent, cName, 0o700) != 0 && errno != EEXIST {
            fail(path(dir, name), "cannot create directory: \(posixErrorText(errno))")
            return
        }
        dirFDs.register(inode, parent: dir, name: cName)
        guard dirFDs[inode] != nil else {
            fail(path(dir, name), errno == ENOTDIR || errno == ELOOP
                 ? "something that is not a directory is in the way in the destination"
                 : "cannot open directory: \(posixErrorText(errno))")
            return
        }
        report.directories += 1
    }

    /// Creates `name` with `make` (which returns a descriptor or 0, or -1 with
    /// errno set); with --force, an existing non-directory in the way is
    /// removed first. nil (errno set) when it could not be created.
    private func create(in dirFD: Int32, name cName: [CChar], _ make: () -> Int32) -> Int32? {
        var result = make()
        if result < 0 && errno == EEXIST && options.force && unlinkat(dirFD, cName, 0) == 0 {
            result = make()
        }
        return result < 0 ? nil : result
    }

    private func writeFile(_ inode: Int, in dir: Int, name: [UInt8], buffer: UnsafeMutableRawPointer) {
        guard let parent = dirFDs[dir] else { return }
        let cName = name.map { CChar(bitPattern: $0) } + [0]
        let display = path(dir, name)
        if let first = created[inode] {
            // A further name of a hard-linked file.
            guard let firstDir = dirFDs[first.dir] else { return }
            let firstName = first.name.map { CChar(bitPattern: $0) } + [0]
            let ok = create(in: parent, name: cName) { linkat(firstDir, firstName, parent, cName, 0) == 0 ? 0 : -1 }
            if ok == nil { fail(display, existsOr("cannot create hard link")) } else { report.hardLinks += 1 }
            return
        }
        guard let fd = create(in: parent, name: cName, {
            openat(parent, cName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }) else {
            fail(display, existsOr("cannot create file"))
            return
        }
        defer { close(fd) }
        let node = index.inodes[inode]
        // A sparse file gets its data extents written where they were and
        // its holes left unwritten (ftruncate makes the trailing one), so it
        // takes no more disk space than it did.
        let extents = index.dataExtents(ofContent: Int(node.data)).map(Array.init) ?? [DataExtent(offset: 0, length: node.size)]
        for extent in extents {
            var offset = extent.offset
            while offset < extent.end {
                let n: Int
                do {
                    n = try reader.read(inode: inode, offset: offset, count: Int(min(1 << 20, extent.end - offset)), into: buffer)
                } catch {
                    fail(display, "not restored: \(error)")
                    unlinkat(parent, cName, 0)
                    return
                }
                if let code = Posix.pwriteAll(fd, buffer, n, offset) {
                    fail(display, "write failed: \(posixErrorText(code))")
                    unlinkat(parent, cName, 0)
                    return
                }
                offset += UInt64(n)
            }
        }
        if extents.last?.end != node.size, ftruncate(fd, off_t(node.size)) != 0 {
            fail(display, "cannot set its size: \(posixErrorText(errno))")
            unlinkat(parent, cName, 0)
            return
        }
        created[inode] = (dir, name)
        report.files += 1
        report.bytes += node.size
        setAttributes(inode, fd: fd, dir: nil, name: nil)
    }

    private func existsOr(_ what: String) -> String {
        errno == EEXIST ? "already exists in the destination (use --force to overwrite)" : "\(what): \(posixErrorText(errno))"
    }

    private func makeSpecial(_ inode: Int, in dir: Int, name: [UInt8]) {
        guard let parent = dirFDs[dir] else { return }
        let cName = name.map { CChar(bitPattern: $0) } + [0]
        let node = index.inodes[inode]
        let display = path(dir, name)
        if let first = created[inode], let firstDir = dirFDs[first.dir] {
            let firstName = first.name.map { CChar(bitPattern: $0) } + [0]
            if create(in: parent, name: cName, { linkat(firstDir, firstName, parent, cName, 0) == 0 ? 0 : -1 }) == nil {
                fail(display, existsOr("cannot create hard link"))
            } else { report.hardLinks += 1 }
            return
        }
        let result: Int32?
        switch node.kind {
        case .symlink:
            let target = index.symlinkTarget(of: inode).map { CChar(bitPattern: $0) } + [0]
            result = create(in: parent, name: cName) { symlinkat(target, parent, cName) }
            if result != nil { report.symlinks += 1 }
        case .fifo:
            result = create(in: parent, name: cName) { mkfifoat(parent, cName, 0o600) }
            if result != nil { report.specialFiles += 1 }
        case .charDevice, .blockDevice:
            result = create(in: parent, name: cName) { mknodat(parent, cName, node.mode, dev_t(node.data)) }
            if result != nil { report.specialFiles += 1 }
        case .socket:
            // A socket file is only a name: whoever listens on it makes a new
            // one, but its presence, owner and mode are part of the tree.
            result = create(in: parent, name: cName) { mknodat(parent, cName, S_IFSOCK | 0o600, 0) }
            if result != nil { report.specialFiles += 1 }
        default:
            fail(display, "\(node.kind) cannot be restored here; skipped")
            return
        }
        guard result != nil else {
            fail(display, existsOr("cannot create \(node.kind)"))
            return
        }
        created[inode] = (dir, name)
        setAttributes(inode, fd: nil, dir: parent, name: cName)
    }

    /// Ownership, then permissions (chown may clear setuid bits), then
    /// extended attributes (chown clears security.capability; an ACL sets
    /// the group bits of the mode itself, consistently with the mode
    /// archived with it), then times (setting attributes changes none).
    private func setAttributes(_ inode: Int, fd: Int32?, dir: Int32?, name: [CChar]?) {
        let node = index.inodes[inode]
        var times = [timespec(tv_sec: Int(node.mtimeSec), tv_nsec: Int(node.mtimeNsec)),
                     timespec(tv_sec: Int(node.mtimeSec), tv_nsec: Int(node.mtimeNsec))]
        let permissions = mode_t(node.mode & 0o7777)
        if let fd {
            if options.restoreOwnership { _ = fchown(fd, node.uid, node.gid) }
            _ = fchmod(fd, permissions)
            restoreXattrs(inode, .descriptor(fd))
            _ = futimens(fd, &times)
        } else if let dir, let name {
            if options.restoreOwnership { _ = fchownat(dir, name, node.uid, node.gid, AT_SYMLINK_NOFOLLOW) }
            if node.kind != .symlink { _ = fchmodat(dir, name, permissions, 0) }
            let bytes = name.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }
            restoreXattrs(inode, .entry(directory: dir, name: bytes))
            _ = utimensat(dir, name, &times, AT_SYMLINK_NOFOLLOW)
        }
    }

    /// Sets the archived attributes; those this process may not set (a user
    /// restoring trusted.* or security.*, a file system without user
    /// attributes) are counted for one warning per attribute and reason.
    private func restoreXattrs(_ inode: Int, _ target: ExtendedAttributes.Target) {
        guard options.restoreXattrs, index.inodes[inode].xattrs > 0 else { return }
        for (name, value) in index.xattrs(of: inode) {
            do {
                try ExtendedAttributes.write(target, ExtendedAttribute(name: name, value: value))
            } catch {
                let key = "could not set extended attribute \(Escaped.text(name)) (\(error))"
                let first = paths[inode].map { Escaped.text($0) } ?? "inode \(inode)"
                let seen = unsetAttributes[key]
                unsetAttributes[key] = ((seen?.count ?? 0) + 1, seen?.first ?? first)
            }
        }
    }

    private func raiseFileLimit() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}
