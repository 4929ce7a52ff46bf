/// How an archive's parity volumes cover its data volumes (docs/FORMAT.md,
/// "Parity volumes"). Every data volume is cut into blocks of `blockSize`
/// bytes; stripe s is block s of every data volume (a volume shorter than
/// the longest reads as zeros past its end), and parity volume j holds block
/// s of parity shard j for every stripe. So a lost volume costs one block of
/// each stripe, damage inside a volume costs only the blocks it touches, and
/// any `parityCount` lost blocks of a stripe (data or parity) are rebuilt.
///
/// The layout also carries the size of every data volume and the XXH64 of
/// every block, data and parity: what a repair checks volumes against, and
/// how a reader tells a damaged block from a good one. Every parity volume
/// holds the whole layout.
public struct ParityLayout: Sendable, Hashable {
    public var archiveID: [UInt8]
    public var parityCount: Int
    public var blockSize: Int
    /// Exact file size of each data volume (the last one's includes the index and footer).
    public var volumeSizes: [UInt64]
    /// XXH64 of each data volume's blocks (a last partial block: of its bytes alone).
    public var blockHashes: [[UInt64]]
    /// XXH64 of each parity volume's blocks, one per stripe.
    public var parityHashes: [[UInt64]]

    public init(archiveID: [UInt8], parityCount: Int, blockSize: Int, volumeSizes: [UInt64],
                blockHashes: [[UInt64]], parityHashes: [[UInt64]]) {
        self.archiveID = archiveID; self.parityCount = parityCount; self.blockSize = blockSize
        self.volumeSizes = volumeSizes; self.blockHashes = blockHashes; self.parityHashes = parityHashes
    }

    public var dataCount: Int { volumeSizes.count }
    public var stripeCount: Int { volumeSizes.map { Self.blocks(of: $0, blockSize) }.max() ?? 0 }

    public static func blocks(of size: UInt64, _ blockSize: Int) -> Int {
        // (Not size + blockSize - 1: a hostile size near 2^64 overflowed, found by fuzzing.)
        Int(size / UInt64(blockSize) + (size % UInt64(blockSize) == 0 ? 0 : 1))
    }

    /// Bytes of block `block` that lie inside data volume `volume` (0 past its end).
    public func bytes(inVolume volume: Int, block: Int) -> Int {
        let start = UInt64(block) * UInt64(blockSize)
        guard start < volumeSizes[volume] else { return 0 }
        return Int(min(UInt64(blockSize), volumeSizes[volume] - start))
    }

    /// The block size for data volumes of at most `largest` bytes, `shards`
    /// data and parity volumes in all: at least 16 stripes where volumes
    /// allow (damage costs only its blocks), at most 1 MiB (where ISA-L
    /// runs at full speed), and no more than 64 MiB for one stripe of every
    /// shard in memory. A multiple of 4 KiB.
    public static func blockSize(largest: UInt64, shards: Int) -> Int {
        var size = 1 << 20
        while size > 4096 && (UInt64(size) * 16 > largest || size * shards > 64 << 20) { size >>= 1 }
        return size
    }

    // MARK: the parity volume header and manifest (docs/FORMAT.md)

    public static let magic: [UInt8] = Array("GPUARCP1".utf8)
    public static let headerSize = 64

    /// Bytes of the manifest that follows the header.
    public var manifestSize: Int {
        8 * dataCount + 8 * blockHashes.reduce(0) { $0 + $1.count } + 8 * parityCount * stripeCount + 8
    }

    /// Where parity blocks start in a parity volume, and its whole size.
    public var firstBlockOffset: Int { Self.headerSize + manifestSize }
    public var parityVolumeSize: UInt64 { UInt64(firstBlockOffset) + UInt64(stripeCount) * UInt64(blockSize) }

    /// The header and manifest of parity volume `number` (1-based).
    public func encodedHead(number: Int) -> [UInt8] {
        var w = ByteWriter()
        w.raw(Self.magic)
        w.raw(archiveID)
        w.u32(UInt32(number))
        w.u32(UInt32(parityCount))
        w.u32(UInt32(dataCount))
        w.u32(UInt32(blockSize))
        w.u64(UInt64(stripeCount))
        w.u64(UInt64(manifestSize))
        w.u32(0)
        let check = w.bytes.withUnsafeBytes { UInt32(truncatingIfNeeded: XXHash64.hash($0)) }
        w.u32(check)
        var m = ByteWriter()
        for size in volumeSizes { m.u64(size) }
        for hashes in blockHashes { for h in hashes { m.u64(h) } }
        for hashes in parityHashes { for h in hashes { m.u64(h) } }
        let sum = m.bytes.withUnsafeBytes { XXHash64.hash($0) }
        m.u64(sum)
        return w.bytes + m.bytes
    }

    /// The layout recorded at the head of a parity volume, and its number;
    /// throws what is wrong with it. `read` reads `count` bytes at `offset`
    /// of the file (the manifest's size comes from the header, checked first).
    public static func decode(_ path: BytePath, read: (_ offset: UInt64, _ count: Int) throws -> [UInt8]) throws -> (layout: ParityLayout, number: Int) {
        let head = try read(0, headerSize)
        guard head.count == headerSize, Array(head[0..<8]) == magic else {
            throw ArchiveError(.format, "\(path) is not a gpuarc parity volume (bad magic)")
        }
        let check = head.withUnsafeBytes { UInt32(truncatingIfNeeded: XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<60]))) }
        return try head.withUnsafeBytes { raw in
            var r = ByteReader(raw, at: 8, what: path.description)
            let id = try r.raw(16)
            let number = Int(try r.u32()), parityCount = Int(try r.u32()), dataCount = Int(try r.u32())
            let blockSize = Int(try r.u32())
            let stripes = try r.u64(), manifestSize = try r.u64()
            _ = try r.u32()
            guard try r.u32() == check else { throw ArchiveError(.format, "\(path): its parity header fails its check (damaged)") }
            // Bounds before anything is allocated: a manifest holds 8 bytes per block of every volume.
            guard parityCount >= 1, dataCount >= 1, dataCount + parityCount <= ReedSolomon.maxShards, number >= 1, number <= parityCount,
                  blockSize >= 4096, blockSize <= 1 << 20, blockSize % 4096 == 0, stripes <= 1 << 32,
                  manifestSize >= UInt64(8 * dataCount + 8), manifestSize <= UInt64(8 * (dataCount + parityCount + 1)) * (stripes + 1) else {
                throw ArchiveError(.format, "\(path): its parity header holds impossible values (damaged or hostile)")
            }
            let manifest = try read(UInt64(headerSize), Int(manifestSize))
            guard manifest.count == Int(manifestSize), manifest.count >= 8 * dataCount + 8 else {
                throw ArchiveError(.format, "\(path): its parity manifest is truncated")
            }
            let sum = manifest.withUnsafeBytes { XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<(manifest.count - 8)])) }
            return try manifest.withUnsafeBytes { m in
                var r = ByteReader(m, what: "the parity manifest in \(path)")
                var sizes: [UInt64] = []
                for _ in 0..<dataCount {
                    let size = try r.u64()
                    // No volume has more blocks than the stripes the header counts.
                    guard size <= stripes * UInt64(blockSize) else {
                        throw ArchiveError(.format, "\(path): its parity manifest gives a volume more blocks than it has stripes (damaged)")
                    }
                    sizes.append(size)
                }
                var layout = ParityLayout(archiveID: id, parityCount: parityCount, blockSize: blockSize, volumeSizes: sizes,
                                          blockHashes: [], parityHashes: [])
                let blockCount = sizes.reduce(0) { $0 + blocks(of: $1, blockSize) }
                guard UInt64(layout.stripeCount) == stripes,
                      8 * dataCount + 8 * blockCount + 8 * parityCount * Int(stripes) + 8 == manifest.count else {
                    throw ArchiveError(.format, "\(path): its parity manifest disagrees with its header (damaged)")
                }
                for size in sizes {
                    layout.blockHashes.append(try (0..<blocks(of: size, blockSize)).map { _ in try r.u64() })
                }
                for _ in 0..<parityCount { layout.parityHashes.append(try (0..<Int(stripes)).map { _ in try r.u64() }) }
                guard try r.u64() == sum else { throw ArchiveError(.format, "\(path): its parity manifest fails its checksum (damaged)") }
                return (layout, number)
            }
        }
    }
}
