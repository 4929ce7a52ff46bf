import Archive

/// Helpers shared by the fuzz targets: recompute the checksums a mutation
/// breaks (so the fuzzer reaches the code behind them), and exercise every
/// accessor of an accepted index.
enum FuzzSeal {
    static let checksumOffset = 32, lengthOffset = 40, headerSize = 64

    /// Rewrites an inflated index's length and checksum fields to match its bytes.
    static func sealIndex(_ body: inout [UInt8]) {
        guard body.count >= headerSize else { return }
        store(UInt64(body.count - headerSize), in: &body, at: lengthOffset)
        store(0, in: &body, at: checksumOffset)
        store(XXHash64.hash(body), in: &body, at: checksumOffset)
    }

    static func store(_ value: UInt64, in bytes: inout [UInt8], at offset: Int) {
        for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    static func load(_ bytes: [UInt8], at offset: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    /// Everything a reader may call on an index the validator accepted must be
    /// safe: listing, path resolution, lookups, symlink targets, chunk ranges.
    static func walk(_ index: ArchiveIndex) {
        // Every entry is found again by a byte-wise lookup in its directory.
        for (dir, node) in index.inodes.enumerated() where node.kind == .directory {
            for i in index.entryRange(ofDirectory: dir) {
                let name = index.nameBytes(of: index.entries[i])
                let found = name.withUnsafeBytes { index.lookup(directory: dir, name: $0) }
                if found != Int(index.entries[i].inode) { fatalError("entry \(i) of directory \(dir) is not found by its name") }
            }
        }
        for (inode, path) in index.bytePaths() {
            // Paths are bytes: every one resolves back, whatever its names hold.
            if index.resolve(bytes: path) != inode {
                fatalError("path \(Escaped.text(path)) does not resolve to its inode \(inode)")
            }
            _ = index.symlinkTarget(of: inode)
            if index.inodes[inode].kind == .regular {
                let content = Int(index.inodes[inode].data)
                _ = index.refRange(ofContent: content)
                _ = index.dataExtents(ofContent: content)
                _ = index.dataBytes(ofContent: content)
            }
            // Every attribute is found again by name.
            for (name, value) in index.xattrs(of: inode) {
                let found = name.withUnsafeBytes { index.withXattr(of: inode, name: $0) { $0.map(Array.init) } }
                if found != value { fatalError("attribute \(Escaped.text(name)) of inode \(inode) is not found by its name") }
            }
        }
        _ = index.paths()
        _ = Listing.lines(index)
        _ = index.totalFileBytes
        _ = index.totalContentBytes
    }
}
