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
        try validateContents(&index)
        try validateTree(&index)
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
            case .delta:
                guard Int(c.base) < index.chunks.count else { throw fail("delta chunk \(i) refers to base \(c.base), which does not exist") }
                guard index.chunks[Int(c.base)].kind == .literal else {
                    throw fail("delta chunk \(i) has base \(c.base), which is itself a delta (delta depth must be 1)")
                }
                guard Int(c.length) <= FormatLimits.maxChunkLength else { throw fail("delta chunk \(i) claims \(c.length) bytes") }
            }
        }
    }

    private func validateContents(_ index: inout ArchiveIndex) throws {
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
            guard offset == c.size else { throw fail("content \(i) has size \(c.size) but its chunks add up to \(offset)") }
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
                        throw fail("entries of directory inode \(dir) are not strictly sorted (duplicate or misordered name \"\(String(decoding: name, as: UTF8.self))\")")
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
            throw fail("directory inode \(directory) holds an unsafe name \"\(String(decoding: name, as: UTF8.self))\" (empty, '.', '..', or containing '/' or NUL)")
        }
    }
}
