import Archive
import Glibc

/// Walks the source directories with *at system calls (no path re-resolution,
/// symlinks never followed) and records every entry with its attributes.
/// Unreadable directories are recorded empty with a warning; the build goes on.
struct TreeScanner {
    private var tree = ScannedTree()

    /// One SRC: its contents are the root. Several: each becomes a top-level
    /// directory named after its last path component.
    static func scan(sources: [String], threads: Int = 2) throws -> ScannedTree {
        var tree: ScannedTree
        if sources.count == 1 {
            tree = try scanSource(sources[0], version: 0)
        } else {
            tree = try scanVersions(sources, threads: threads)
        }
        tree.linkHardLinks()
        return tree
    }

    /// One SRC as a tree of its own (its root is node 0).
    private static func scanSource(_ source: String, version: Int) throws -> ScannedTree {
        var scanner = TreeScanner()
        scanner.tree.nodes.append(try scanner.statSource(source, version: version))
        scanner.scanDirectory(node: 0, path: source)
        return scanner.tree
    }

    /// Several SRCs, each scanned on its own and in parallel (scanning waits on
    /// system calls), then joined in SRC order under a new root, so node ids
    /// are those of one walk of the SRCs one after the other.
    private static func scanVersions(_ sources: [String], threads: Int) throws -> ScannedTree {
        var names = Set<[UInt8]>()
        for source in sources {
            let name = lastComponent(source)
            guard names.insert(name).inserted else {
                throw ArchiveError(.usage, "two sources would both become the top-level directory \"\(String(decoding: name, as: UTF8.self))\": give each SRC a distinct last path component")
            }
        }
        let parts = parallelMap(sources.count, threads: threads) { version in
            Result { try scanSource(sources[version], version: version) }
        }
        var tree = ScannedTree()
        tree.nodes.append(ScannedNode(name: [], kind: .directory, mode: 0o040755, uid: getuid(), gid: getgid(),
                                      mtimeSec: Int64(time(nil)), mtimeNsec: 0, size: 0, rdev: 0, path: "", version: 0))
        var children: [Int] = []
        for (version, part) in parts.enumerated() {
            let scanned = try part!.get()
            let offset = tree.nodes.count
            for var node in scanned.nodes {
                node.children = node.children.map { $0 + offset }
                tree.nodes.append(node)
            }
            tree.nodes[offset].name = lastComponent(sources[version])
            tree.warnings += scanned.warnings
            children.append(offset)
        }
        tree.nodes[0].mtimeSec = children.map { tree.nodes[$0].mtimeSec }.max() ?? tree.nodes[0].mtimeSec
        tree.nodes[0].children = children.sorted { tree.nodes[$0].name.lexicographicallyPrecedes(tree.nodes[$1].name) }
        return tree
    }

    private static func lastComponent(_ path: String) -> [UInt8] {
        let parts = path.split(separator: "/")
        return Array((parts.last.map(String.init) ?? path).utf8)
    }

    private func statSource(_ path: String, version: Int) throws -> ScannedNode {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw ArchiveError(.usage, "cannot read source \(path): \(posixErrorText(errno))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw ArchiveError(.usage, "source \(path) is not a directory (gpuarc-build archives directories)")
        }
        return node(from: st, name: [], path: path, version: version, kind: .directory)
    }

    private func node(from st: stat, name: [UInt8], path: String, version: Int, kind: InodeKind) -> ScannedNode {
        ScannedNode(name: name, kind: kind, mode: UInt32(st.st_mode), uid: st.st_uid, gid: st.st_gid,
                    mtimeSec: Int64(st.st_mtim.tv_sec), mtimeNsec: UInt32(st.st_mtim.tv_nsec),
                    size: kind == .regular ? UInt64(st.st_size) : 0, rdev: UInt64(st.st_rdev),
                    path: path, version: version)
    }

    private mutating func warn(_ message: String) { tree.warnings.append(message) }

    private mutating func scanDirectory(node id: Int, path: String) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            warn("cannot read directory \(path): \(posixErrorText(errno)); archived as an empty directory")
            return
        }
        guard let dir = fdopendir(fd) else {
            close(fd)
            warn("cannot read directory \(path): \(posixErrorText(errno)); archived as an empty directory")
            return
        }
        defer { closedir(dir) }
        var found: [(name: [UInt8], st: stat)] = []
        while true {
            errno = 0
            guard let ent = readdir(dir) else {
                if errno != 0 { warn("error while listing \(path): \(posixErrorText(errno)); some entries may be missing") }
                break
            }
            let name: [UInt8] = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                Array(raw.prefix(while: { $0 != 0 }))
            }
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            var st = stat()
            let ok = name.withUnsafeBufferPointer { buf -> Bool in
                var cName = Array(buf) + [0]
                return cName.withUnsafeMutableBufferPointer { c in
                    fstatat(fd, UnsafeRawPointer(c.baseAddress!).assumingMemoryBound(to: CChar.self), &st, AT_SYMLINK_NOFOLLOW) == 0
                }
            }
            let childPath = path.hasSuffix("/") ? path + String(decoding: name, as: UTF8.self) : path + "/" + String(decoding: name, as: UTF8.self)
            guard ok else {
                warn("cannot stat \(childPath): \(posixErrorText(errno)); skipped")
                continue
            }
            found.append((name, st))
        }
        found.sort { $0.name.lexicographicallyPrecedes($1.name) }
        var children: [Int] = []
        for (name, st) in found {
            let childPath = path.hasSuffix("/") ? path + String(decoding: name, as: UTF8.self) : path + "/" + String(decoding: name, as: UTF8.self)
            guard let kind = Self.kind(of: st.st_mode) else {
                warn("\(childPath) has an unknown file type; skipped")
                continue
            }
            var child = node(from: st, name: name, path: childPath, version: tree.nodes[id].version, kind: kind)
            if kind == .symlink {
                child.linkTarget = readLink(dirfd: fd, name: name, size: Int(st.st_size))
                if child.linkTarget.isEmpty {
                    warn("cannot read symlink \(childPath): \(posixErrorText(errno)); skipped")
                    continue
                }
            }
            if kind != .directory && st.st_nlink > 1 {
                child.linkKey = HardLinkKey(dev: UInt64(st.st_dev), ino: UInt64(st.st_ino))
            }
            let childID = tree.nodes.count
            tree.nodes.append(child)
            children.append(childID)
            if kind == .directory { scanDirectory(node: childID, path: childPath) }
        }
        tree.nodes[id].children = children
    }

    private func readLink(dirfd: Int32, name: [UInt8], size: Int) -> [UInt8] {
        var capacity = max(size, 255) + 1
        while true {
            var buffer = [UInt8](repeating: 0, count: capacity)
            let cName = name.map { CChar(bitPattern: $0) } + [0]
            let n = buffer.withUnsafeMutableBytes { readlinkat(dirfd, cName, $0.baseAddress!.assumingMemoryBound(to: CChar.self), capacity) }
            if n < 0 { return [] }
            if n < capacity { return Array(buffer[0..<n]) }
            capacity *= 2
        }
    }

    static func kind(of mode: mode_t) -> InodeKind? {
        switch mode & S_IFMT {
        case S_IFDIR: return .directory
        case S_IFREG: return .regular
        case S_IFLNK: return .symlink
        case S_IFIFO: return .fifo
        case S_IFCHR: return .charDevice
        case S_IFBLK: return .blockDevice
        case S_IFSOCK: return .socket
        default: return nil
        }
    }
}
