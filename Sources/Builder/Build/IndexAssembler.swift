import Archive
import Foundation

/// Turns the scanned tree and what was stored of it into the index: inode
/// numbers in breadth-first order (root = 0), each directory's entries
/// contiguous and sorted, hard links sharing an inode, duplicates sharing a
/// content, names and attribute values interned in one string table, and
/// identical attribute sets stored once.
///
/// An append (`previous`) continues the archive's index: its rows come
/// first, unchanged, the new ones after them, and the root (inode 0) is
/// replaced by one listing the old versions and the new ones, so the
/// segment written holds only what the append adds (docs/FORMAT.md).
/// A versioned build (or an append) records one version per version root
/// (each SRC, or each snapshot directory of one SRC).
struct IndexAssembler {
    struct Assembled {
        var index: ArchiveIndex
        /// Inode of each scanned node (by node id), -1 for those not archived.
        var inodeOfNode: [Int]
    }

    static func assemble(tree: ScannedTree, stored: StoredTree, chunks: [ChunkRecord], frames: [FrameRecord],
                         archiveID: [UInt8], previous: ArchiveIndex? = nil, versioned: Bool = false,
                         added: Date = Date()) -> Assembled {
        var index = previous ?? ArchiveIndex()
        if previous == nil { index.archiveID = archiveID }
        let oldRoot = previous.map { $0.inodes[ArchiveIndex.rootInode] }
        let oldRootEntries = previous.map { p in p.entryRange(ofDirectory: ArchiveIndex.rootInode).map { p.entries[$0] } } ?? []
        index.frames += frames
        index.chunks += chunks
        index.contents += stored.contents
        index.chunkRefs += stored.refs
        for content in stored.sparse.keys.sorted() where content >= stored.firstContent {
            let extents = stored.sparse[content]!
            index.sparse.append(SparseRecord(content: UInt32(content), firstExtent: UInt64(index.extents.count),
                                             extentCount: UInt32(extents.count)))
            index.extents += extents
        }
        var interned = StringInterner(expected: tree.nodes.count)
        if let previous, let newest = previous.versions.last {
            // Names and link targets the newest version already has are
            // referred to, not stored again: an append's segment then holds
            // the strings of what is new (on Django patch releases each
            // append's index went from about 98 to 85 KB).
            var dirs = [Int(newest.inode)]
            while let dir = dirs.popLast() {
                for k in previous.entryRange(ofDirectory: dir) {
                    let e = previous.entries[k]
                    interned.remember(offset: e.nameOffset, length: Int(e.nameLength), in: previous.strings)
                    let inode = previous.inodes[Int(e.inode)]
                    if inode.kind == .directory { dirs.append(Int(e.inode)) }
                    if inode.kind == .symlink { interned.remember(offset: inode.data, length: Int(inode.count), in: previous.strings) }
                }
            }
        }
        func intern(_ bytes: [UInt8]) -> UInt64 { interned.intern(bytes, in: &index.strings) }
        var setOf: [[ExtendedAttribute]: UInt32] = [:]
        func xattrSet(_ attributes: [ExtendedAttribute]) -> UInt32 {
            guard !attributes.isEmpty else { return 0 }
            if let set = setOf[attributes] { return set }
            index.xattrSets.append(XattrSet(firstPair: UInt64(index.xattrPairs.count), pairCount: UInt32(attributes.count)))
            for a in attributes {
                index.xattrPairs.append(XattrPair(nameOffset: intern(a.name), nameLength: UInt32(a.name.count),
                                                  valueOffset: intern(a.value), valueLength: UInt32(a.value.count)))
            }
            setOf[attributes] = UInt32(index.xattrSets.count)
            return UInt32(index.xattrSets.count)
        }

        var inodeOfNode = [Int](repeating: -1, count: tree.nodes.count)
        func makeInode(_ id: Int) -> Int {
            if id == 0, var root = oldRoot {
                // The root continues the archive's: its own attributes, the newest time.
                let m = tree.nodes[0].metadata
                if (m.mtimeSec, m.mtimeNsec) > (root.mtimeSec, root.mtimeNsec) { (root.mtimeSec, root.mtimeNsec) = (m.mtimeSec, m.mtimeNsec) }
                index.inodes[ArchiveIndex.rootInode] = root
                inodeOfNode[0] = ArchiveIndex.rootInode
                return ArchiveIndex.rootInode
            }
            let kind = tree.nodes[id].kind
            let m = stored.metadata(of: id, in: tree)
            var inode = Inode(kind: kind, mode: m.mode, uid: m.uid, gid: m.gid, mtimeSec: m.mtimeSec,
                              mtimeNsec: m.mtimeNsec, nlink: 0, size: 0, data: 0, count: 0, xattrs: xattrSet(m.xattrs))
            switch kind {
            case .regular:
                let content = stored.contentOf[id]!
                inode.data = UInt64(content)
                inode.size = stored.size(of: content)
            case .symlink:
                let target = tree.nodes[id].linkTarget
                inode.data = intern(target)
                inode.count = UInt32(target.count)
                inode.size = UInt64(target.count)
            case .charDevice, .blockDevice:
                inode.data = m.rdev
            default: break
            }
            index.inodes.append(inode)
            inodeOfNode[id] = index.inodes.count - 1
            return index.inodes.count - 1
        }

        _ = makeInode(0)
        var queue = [0], head = 0
        while head < queue.count {
            let dirNode = queue[head]; head += 1
            let dirInode = inodeOfNode[dirNode]
            let kids = tree.nodes[dirNode].children.filter { stored.isArchived($0, in: tree) }
            index.inodes[dirInode].data = UInt64(index.entries.count)
            index.inodes[dirInode].count = UInt32(kids.count)
            var subdirs: UInt32 = 0
            var pending: [(Int, [UInt8])] = []
            for kid in kids {
                let target = stored.leader(of: kid, in: tree)
                let inode = inodeOfNode[target] >= 0 ? inodeOfNode[target] : makeInode(target)
                if tree.nodes[kid].kind == .directory { subdirs += 1; queue.append(kid) }
                pending.append((inode, tree.nodes[kid].name))
            }
            var entries = pending.map { inode, name in
                DirEntry(nameOffset: intern(name), nameLength: UInt32(name.count), inode: UInt32(inode))
            }
            for (inode, _) in pending where index.inodes[inode].kind != .directory { index.inodes[inode].nlink += 1 }
            if dirNode == 0 && oldRoot != nil {
                // The archive's versions stay where they are, beside the new ones, in name order.
                entries += oldRootEntries
                subdirs += UInt32(oldRootEntries.filter { index.inodes[Int($0.inode)].kind == .directory }.count)
                let names = entries.map { index.nameBytes(of: $0) }
                entries = entries.indices.sorted { names[$0].lexicographicallyPrecedes(names[$1]) }.map { entries[$0] }
                index.inodes[dirInode].count = UInt32(entries.count)
            }
            index.entries += entries
            index.inodes[dirInode].nlink = 2 + subdirs
        }
        if versioned {
            for root in tree.versionRoots {
                let inode = inodeOfNode[root]
                guard inode >= 0 else { continue }
                // Its regular files, a hard-link group once (where its first name in the version is).
                var files: UInt64 = 0, bytes: UInt64 = 0
                var seen = Set<Int>()
                var stack = [root]
                while let dir = stack.popLast() {
                    for kid in tree.nodes[dir].children where stored.isArchived(kid, in: tree) {
                        let kind = tree.nodes[kid].kind
                        if kind == .directory { stack.append(kid) }
                        guard kind == .regular else { continue }
                        let leader = stored.leader(of: kid, in: tree)
                        // Only names of a link group can meet their inode twice.
                        let grouped = leader != kid || tree.nodes[kid].linkKey != nil
                        guard !grouped || seen.insert(leader).inserted, inodeOfNode[leader] >= 0 else { continue }
                        files += 1
                        bytes += index.inodes[inodeOfNode[leader]].size
                    }
                }
                let name = tree.nodes[root].name
                index.versions.append(VersionRecord(nameOffset: intern(name), nameLength: UInt32(name.count),
                                                    added: Int64(added.timeIntervalSince1970.rounded(.down)), inode: UInt32(inode),
                                                    files: files, bytes: bytes))
            }
        }
        return Assembled(index: index, inodeOfNode: inodeOfNode)
    }
}


