/// Checks that a parsed index is internally consistent before anything uses it:
/// every reference in range, names safe to create on disk, the directory graph a
/// tree, sizes adding up. It also derives `parents` and `refStarts`.
/// A hostile index is refused here with a message; nothing later re-checks.
struct IndexValidator {
    let what: String

    private func fail(_ message: String) -> ArchiveError {
        ArchiveError(.format, "\(what) is invalid: \(message)")
    }

    func validate(_ index: inout ArchiveIndex) throws {
        try validateFrames(index)
        try validateChunks(index)
        let stored = try validateSparse(&index)
        try validateContents(&index, storedBytes: stored)
        try validateTree(&index)
        try validateXattrs(index)
        try validateVersions(index)
    }

    /// Versions (format 5): each names a distinct directory that is the
    /// root's entry of that name.
    private func validateVersions(_ index: ArchiveIndex) throws {
        var seen = Set<UInt32>()
        for (i, v) in index.versions.enumerated() {
            guard v.nameLength > 0, fits(v.nameOffset, v.nameLength, in: index.strings.count) else {
                throw fail("version \(i) has its name outside the string table")
            }
            let name = index.nameBytes(of: v)
            guard Int(v.inode) < index.inodes.count, index.inodes[Int(v.inode)].kind == .directory,
                  name.withUnsafeBytes({ index.lookup(directory: ArchiveIndex.rootInode, name: $0) }) == Int(v.inode),
                  seen.insert(v.inode).inserted else {
                throw fail("version \(i) (\"\(Escaped.text(name))\") is not a directory of its own at the top of the tree")
            }
        }
    }

    /// Sparse records: one per content at most, in content order, each
    /// owning its own run of extents, which are non-empty, sorted, apart and
    /// inside the content. Returns the stored (data) bytes of each sparse content.
    private func validateSparse(_ index: inout ArchiveIndex) throws -> [Int: UInt64] {
        var stored: [Int: UInt64] = [:]
        var starts = [UInt64](repeating: 0, count: index.extents.count)
        var nextExtent: UInt64 = 0
        var previousContent = -1
        for (i, r) in index.sparse.enumerated() {
            guard Int(r.content) < index.contents.count, Int(r.content) > previousContent else {
                throw fail("sparse record \(i) names content \(r.content), which does not exist or is out of order")
            }
            previousContent = Int(r.content)
            // Records own consecutive runs, so no extent belongs to two contents.
            guard r.firstExtent == nextExtent, fits(r.firstExtent, r.extentCount, in: index.extents.count) else {
                throw fail("sparse record \(i) lists extents outside the extent table or shared with another record")
            }
            nextExtent = r.firstExtent + UInt64(r.extentCount)
            let size = index.contents[Int(r.content)].size
            var end: UInt64 = 0
            var data: UInt64 = 0
            for k in Int(r.firstExtent)..<Int(nextExtent) {
                let e = index.extents[k]
                starts[k] = data
                let last = e.offset.addingReportingOverflow(e.length)
                guard e.length > 0, e.offset >= end, !last.overflow, last.partialValue <= size else {
                    throw fail("sparse content \(r.content) has an empty, overlapping, unsorted or out-of-range data extent")
                }
                end = last.partialValue
                data += e.length
            }
            stored[Int(r.content)] = data
        }
        guard nextExtent == UInt64(index.extents.count) else { throw fail("the extent table holds extents no sparse content owns") }
        index.extentDataStarts = starts
        return stored
    }

    /// Xattr sets: pairs in range, sets own disjoint runs, names and values
    /// inside the string table, names non-empty, NUL-free, at most 255
    /// bytes and strictly sorted in their set; inodes name existing sets.
    private func validateXattrs(_ index: ArchiveIndex) throws {
        var nextPair: UInt64 = 0
        let strings = index.strings.count
        for (i, set) in index.xattrSets.enumerated() {
            guard set.firstPair == nextPair, set.pairCount > 0, fits(set.firstPair, set.pairCount, in: index.xattrPairs.count) else {
                throw fail("xattr set \(i) lists pairs outside the pair table, none, or shared with another set")
            }
            nextPair = set.firstPair + UInt64(set.pairCount)
            var previous: ArraySlice<UInt8>? = nil
            for p in index.xattrPairs[Int(set.firstPair)..<Int(nextPair)] {
                guard fits(p.nameOffset, p.nameLength, in: strings), fits(p.valueOffset, p.valueLength, in: strings) else {
                    throw fail("xattr set \(i) has a name or value outside the string table")
                }
                let name = index.strings[Int(p.nameOffset)..<Int(p.nameOffset + UInt64(p.nameLength))]
                guard !name.isEmpty, name.count <= 255, !name.contains(0) else {
                    throw fail("xattr set \(i) has an empty, overlong or NUL-containing attribute name")
                }
                guard Int(p.valueLength) <= FormatLimits.maxXattrValue else {
                    throw fail("xattr set \(i) has a value of \(p.valueLength) bytes (limit \(FormatLimits.maxXattrValue))")
                }
                if let previous, !previous.lexicographicallyPrecedes(name) {
                    throw fail("xattr set \(i) is not strictly sorted by name (\"\(Escaped.text(Array(name)))\")")
                }
                previous = name
            }
        }
        guard nextPair == UInt64(index.xattrPairs.count) else { throw fail("the xattr pair table holds pairs no set owns") }
        for (i, n) in index.inodes.enumerated() where n.xattrs > 0 {
            guard Int(n.xattrs) <= index.xattrSets.count else { throw fail("inode \(i) refers to xattr set \(n.xattrs - 1), which does not exist") }
        }
    }

    private func validateFrames(_ index: ArchiveIndex) throws {
        guard !index.volumeSizes.isEmpty else { throw fail("it lists no volumes") }
        for (i, f) in index.frames.enumerated() {
            guard Int(f.volume) < index.volumeSizes.count else {
                // Widened before adding: volume 0xFFFFFFFF made this message trap (found by fuzzing).
                throw fail("frame \(i) is in volume \(UInt64(f.volume) + 1) but the archive has \(index.volumeSizes.count)")
            }
            let end = f.offset.addingReportingOverflow(UInt64(FrameHeader.size) + UInt64(f.storedSize))
            guard f.offset >= UInt64(VolumeHeader.size), !end.overflow, end.partialValue <= index.volumeSizes[Int(f.volume)] else {
                throw fail("frame \(i) lies outside volume \(f.volume + 1)")
            }
            guard Int(f.decodedSize) <= FormatLimits.maxFrameSize, Int(f.storedSize) <= LZ4X.compressBound(FormatLimits.maxFrameSize) else {
                throw fail("frame \(i) claims \(f.decodedSize) decoded bytes (limit \(FormatLimits.maxFrameSize))")
            }
            if f.codec == .raw && f.storedSize != f.decodedSize {
                throw fail("RAW frame \(i) has stored size \(f.storedSize) != decoded size \(f.decodedSize)")
            }
        }
    }

    private func validateChunks(_ index: ArchiveIndex) throws {
        // Format 6 lets a delta's base be an earlier delta, to a depth of
        // `maxDeltaDepth`; before, bases were literal (depth 1).
        let maxDepth = index.formatVersion >= 6 ? ArchiveIndex.maxDeltaDepth : 1
        var depths = [UInt8](repeating: 0, count: index.chunks.count)
        for (i, c) in index.chunks.enumerated() {
            guard Int(c.frame) < index.frames.count else { throw fail("chunk \(i) refers to frame \(c.frame), which does not exist") }
            let frame = index.frames[Int(c.frame)]
            guard UInt64(c.offset) + UInt64(c.storedLength) <= UInt64(frame.decodedSize) else {
                throw fail("chunk \(i) runs past the end of frame \(c.frame)")
            }
            switch c.kind {
            case .literal:
                guard c.length == c.storedLength, c.base == ChunkRecord.noBase else {
                    throw fail("literal chunk \(i) has a base or mismatched lengths")
                }
            case .delta, .zstdDelta:
                guard Int(c.base) < index.chunks.count else { throw fail("delta chunk \(i) refers to base \(c.base), which does not exist") }
                if maxDepth == 1 {
                    guard index.chunks[Int(c.base)].kind == .literal else {
                        throw fail("delta chunk \(i) has base \(c.base), which is itself a delta (delta depth must be 1 before format 6)")
                    }
                } else {
                    // Earlier chunks only, so chains end; their depth is known here.
                    guard Int(c.base) < i else { throw fail("delta chunk \(i) has base \(c.base), which is not an earlier chunk") }
                    guard Int(depths[Int(c.base)]) < maxDepth else {
                        throw fail("delta chunk \(i) has base \(c.base) at delta depth \(depths[Int(c.base)]): chains are at most \(maxDepth) deltas long")
                    }
                    depths[i] = depths[Int(c.base)] + 1
                }
                guard Int(c.length) <= FormatLimits.maxChunkLength else { throw fail("delta chunk \(i) claims \(c.length) bytes") }
            }
        }
    }

    private func validateContents(_ index: inout ArchiveIndex, storedBytes: [Int: UInt64]) throws {
        var starts = [UInt64](repeating: 0, count: index.chunkRefs.count)
        // Each reference belongs to at most one content: refStarts holds one start
        // per reference, so two contents sharing references with different
        // offsets would make reads of one of them map bytes wrongly, and
        // overlapping ranges could make this loop quadratic.
        // Identical files share a content, never a reference range.
        var owned = [Bool](repeating: false, count: index.chunkRefs.count)
        for (i, c) in index.contents.enumerated() {
            let end = c.firstRef.addingReportingOverflow(UInt64(c.refCount))
            guard !end.overflow, end.partialValue <= UInt64(index.chunkRefs.count) else {
                throw fail("content \(i) lists chunk references outside the reference list")
            }
            var offset: UInt64 = 0
            for r in Int(c.firstRef)..<Int(end.partialValue) {
                guard !owned[r] else { throw fail("content \(i) shares chunk reference \(r) with another content") }
                owned[r] = true
                let chunk = index.chunkRefs[r]
                guard Int(chunk) < index.chunks.count else { throw fail("content \(i) refers to chunk \(chunk), which does not exist") }
                starts[r] = offset
                offset += UInt64(index.chunks[Int(chunk)].length)
            }
            let expected = storedBytes[i] ?? c.size
            guard offset == expected else { throw fail("content \(i) stores \(expected) bytes but its chunks add up to \(offset)") }
        }
        index.refStarts = starts
    }

    private func validateTree(_ index: inout ArchiveIndex) throws {
        let inodes = index.inodes
        guard !inodes.isEmpty, inodes[0].kind == .directory else { throw fail("the root (inode 0) is not a directory") }
        for (i, n) in inodes.enumerated() {
            guard n.mode & 0o170000 == n.kind.typeBits else { throw fail("inode \(i): mode \(String(n.mode, radix: 8)) does not match its type") }
            switch n.kind {
            case .directory:
                guard fits(n.data, n.count, in: index.entries.count) else { throw fail("directory inode \(i) lists entries outside the entry table") }
            case .regular:
                guard n.data < UInt64(index.contents.count), index.contents[Int(n.data)].size == n.size else {
                    throw fail("file inode \(i) refers to a missing content or its size disagrees")
                }
            case .symlink:
                guard n.count > 0, fits(n.data, n.count, in: index.strings.count), n.size == UInt64(n.count) else {
                    throw fail("symlink inode \(i) has an empty or out-of-range target")
                }
                guard !index.strings[Int(n.data)..<Int(n.data + UInt64(n.count))].contains(0) else {
                    throw fail("symlink inode \(i) has a NUL byte in its target")
                }
            default: break
            }
        }
        // Walk from the root: every directory is reached exactly once (no cycles,
        // no directory hard links, nothing unreachable), names are safe and sorted.
        var parents = [UInt32](repeating: UInt32.max, count: inodes.count)
        var links = [UInt32](repeating: 0, count: inodes.count)
        parents[0] = 0
        var stack = [0]
        var reached = 1
        try index.strings.withUnsafeBytes { strings in
            while let dir = stack.popLast() {
                var previous: UnsafeRawBufferPointer? = nil
                for e in index.entryRange(ofDirectory: dir).map({ index.entries[$0] }) {
                    guard fits(e.nameOffset, e.nameLength, in: strings.count) else {
                        throw fail("an entry of directory inode \(dir) has its name outside the string table")
                    }
                    let name = UnsafeRawBufferPointer(rebasing: strings[Int(e.nameOffset)..<Int(e.nameOffset + UInt64(e.nameLength))])
                    try checkName(name, directory: dir)
                    if let p = previous, compareBytes(p, name) >= 0 {
                        throw fail("entries of directory inode \(dir) are not strictly sorted (duplicate or misordered name \"\(Escaped.text(Array(name)))\")")
                    }
                    previous = name
                    let child = Int(e.inode)
                    guard child < inodes.count, child != 0 else { throw fail("an entry of directory inode \(dir) refers to inode \(e.inode)") }
                    links[child] += 1
                    if inodes[child].kind == .directory {
                        guard parents[child] == UInt32.max else {
                            throw fail("directory inode \(child) is linked twice (a cycle or a directory hard link)")
                        }
                        parents[child] = UInt32(dir)
                        reached += 1
                        stack.append(child)
                    }
                }
            }
        }
        for (i, n) in inodes.enumerated() where n.kind != .directory {
            if links[i] > 0 { reached += 1 }
            guard links[i] == n.nlink else { throw fail("inode \(i) has link count \(n.nlink) but \(links[i]) entries refer to it") }
        }
        guard reached == inodes.count else { throw fail("\(inodes.count - reached) inodes are not reachable from the root") }
        index.parents = parents
    }

    /// Whether start..<start+count lies inside 0..<limit, computed so that a hostile
    /// start near UInt64.max cannot overflow (fuzzing found `data + count` trapping).
    private func fits(_ start: UInt64, _ count: UInt32, in limit: Int) -> Bool {
        start <= UInt64(limit) && UInt64(count) <= UInt64(limit) - start
    }

    private func checkName(_ name: UnsafeRawBufferPointer, directory: Int) throws {
        let bad = name.isEmpty || name.contains(0x2F) || name.contains(0) ||
            (name.count == 1 && name[0] == 0x2E) || (name.count == 2 && name[0] == 0x2E && name[1] == 0x2E)
        if bad {
            throw fail("directory inode \(directory) holds an unsafe name \"\(Escaped.text(Array(name)))\" (empty, '.', '..', or containing '/' or NUL)")
        }
    }
}
