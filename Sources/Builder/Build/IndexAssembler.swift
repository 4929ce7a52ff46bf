import Archive

/// Turns the scanned tree plus the packing results into the index: inode
/// numbers in breadth-first order (root = 0), each directory's entries
/// contiguous and sorted, hard links sharing an inode, duplicates sharing a
/// content, and names interned in one string table.
struct IndexAssembler {
    static func assemble(tree: ScannedTree, contentOfNode: [Int: Int], contents: [ContentRecord],
                         chunkRefs: [UInt32], chunks: [ChunkRecord], frames: [FrameRecord],
                         archiveID: [UInt8]) -> ArchiveIndex {
        var index = ArchiveIndex()
        index.archiveID = archiveID
        index.frames = frames
        index.chunks = chunks
        index.contents = contents
        index.chunkRefs = chunkRefs
        var interned: [[UInt8]: UInt64] = [:]
        func intern(_ bytes: [UInt8]) -> UInt64 {
            if let offset = interned[bytes] { return offset }
            let offset = UInt64(index.strings.count)
            index.strings += bytes
            interned[bytes] = offset
            return offset
        }

        var inodeOfNode: [Int: Int] = [:]
        func makeInode(_ id: Int) -> Int {
            let n = tree.nodes[id]
            var inode = Inode(kind: n.kind, mode: n.mode, uid: n.uid, gid: n.gid, mtimeSec: n.mtimeSec,
                              mtimeNsec: n.mtimeNsec, nlink: 0, size: 0, data: 0, count: 0)
            switch n.kind {
            case .regular:
                let content = contentOfNode[id]!
                inode.data = UInt64(content)
                inode.size = contents[content].size
            case .symlink:
                inode.data = intern(n.linkTarget)
                inode.count = UInt32(n.linkTarget.count)
                inode.size = UInt64(n.linkTarget.count)
            case .charDevice, .blockDevice:
                inode.data = n.rdev
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
            let dirInode = inodeOfNode[dirNode]!
            let kids = tree.nodes[dirNode].children.filter { isArchived($0, tree) }
            index.inodes[dirInode].data = UInt64(index.entries.count)
            index.inodes[dirInode].count = UInt32(kids.count)
            var subdirs: UInt32 = 0
            var pending: [(Int, [UInt8])] = []
            for kid in kids {
                let target = tree.nodes[kid].hardLinkOf ?? kid
                let inode = inodeOfNode[target] ?? makeInode(target)
                if tree.nodes[kid].kind == .directory { subdirs += 1; queue.append(kid) }
                pending.append((inode, tree.nodes[kid].name))
            }
            for (inode, name) in pending {
                index.entries.append(DirEntry(nameOffset: intern(name), nameLength: UInt32(name.count), inode: UInt32(inode)))
                if index.inodes[inode].kind != .directory { index.inodes[inode].nlink += 1 }
            }
            index.inodes[dirInode].nlink = 2 + subdirs
        }
        return index
    }

    /// Entries left out of the index: failed ones, and hard links whose first
    /// name failed.
    static func isArchived(_ id: Int, _ tree: ScannedTree) -> Bool {
        let n = tree.nodes[id]
        if n.failed { return false }
        if let first = n.hardLinkOf { return !tree.nodes[first].failed }
        return true
    }
}
