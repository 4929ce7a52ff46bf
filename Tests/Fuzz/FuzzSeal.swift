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
        let paths = index.paths()
        for (inode, path) in paths {
            // Names need not be UTF-8 (String(decoding:) then shows U+FFFD, which
            // cannot be looked up by its bytes); those are resolved by bytes elsewhere.
            if !path.contains("\u{FFFD}"), index.resolve(path: path) != inode { fatalError("path \(path) does not resolve to its inode \(inode)") }
            _ = index.symlinkTarget(of: inode)
            if index.inodes[inode].kind == .regular {
                _ = index.refRange(ofContent: Int(index.inodes[inode].data))
            }
        }
        _ = Listing.lines(index)
        _ = index.totalFileBytes
        _ = index.totalContentBytes
    }
}
