import Foundation
import Glibc

/// The parity volumes of an archive (OUT.p01, OUT.p02, ...) opened beside its
/// data volumes: reads any byte range of a data volume as it was written,
/// rebuilding from parity the blocks that are missing or fail their checksum,
/// and tells block by block what is damaged (for repair). Thread-safe: the
/// mount reads from many threads; rebuilt stripes are kept in a small LRU so
/// that the frames of one stripe are not rebuilt one by one.
public final class ParitySet: @unchecked Sendable {
    public let layout: ParityLayout
    public let base: BytePath
    /// Parity volumes that cannot be used (missing, or not matching the
    /// others), 0-based, with why; their blocks count as lost.
    public let problems: [Int: String]
    private let code: ReedSolomon
    private let dataFDs: [Int32]
    private let parityFDs: [Int32]
    private let lock = NSLock()
    private var stripes: [Int: [UInt8]] = [:]
    private var stripeOrder: [Int] = []
    /// Rebuilt stripes kept (data blocks only), about 32 MiB.
    private let stripeLimit: Int

    /// "OUT.p01": parity volume `number` (1-based) of archive `base`.
    public static func path(base: BytePath, number: Int) -> BytePath {
        base.withSuffix(".p" + (number < 10 ? "0" : "") + String(number))
    }

    /// The number a parity volume's name carries ("OUT.p02" -> 2), if it is one.
    public static func number(of name: [UInt8], baseName: [UInt8]) -> Int? {
        let prefix = baseName + Array(".p".utf8)
        guard name.count >= prefix.count + 2, name.starts(with: prefix) else { return nil }
        let digits = name[prefix.count...]
        guard digits.allSatisfy({ $0 >= 48 && $0 <= 57 }), digits.count <= 3 else { return nil }
        let n = digits.reduce(0) { $0 * 10 + Int($1 - 48) }
        return path(base: BytePath(baseName), number: n).lastComponent == name ? n : nil
    }

    /// The parity of the archive whose files are `files`, or nil when it has
    /// none that can be read (whose archive it is, callers check: `ArchiveOpener.matching`).
    public static func open(files: ArchiveFiles) -> ParitySet? {
        let base = files.base
        var layouts: [(layout: ParityLayout, number: Int, fd: Int32)] = []
        for number in files.parityNumbers {
            let path = files.parityPath(number)
            guard let fd = try? files.open(path) else { continue }
            if let found = try? ParityLayout.decode(path, read: { offset, count in Self.readAt(fd, offset, count) }),
               found.number == number {
                layouts.append((found.layout, number, fd))
            } else {
                close(fd)
            }
        }
        // The layout most parity volumes agree on (each carries all of it).
        guard let layout = Dictionary(grouping: layouts, by: { $0.layout }).max(by: { $0.value.count < $1.value.count })?.key else {
            return nil
        }
        var parityFDs = [Int32](repeating: -1, count: layout.parityCount)
        var problems: [Int: String] = [:]
        for entry in layouts {
            if entry.layout == layout, entry.number <= layout.parityCount { parityFDs[entry.number - 1] = entry.fd } else { close(entry.fd) }
        }
        for j in 0..<layout.parityCount where parityFDs[j] < 0 {
            problems[j] = "parity volume \(path(base: base, number: j + 1)) is missing or does not match the others"
        }
        let dataFDs = (0..<layout.dataCount).map { v in
            (try? files.open(files.volumePath(v + 1))) ?? -1
        }
        return ParitySet(layout: layout, base: base, problems: problems, dataFDs: dataFDs, parityFDs: parityFDs)
    }

    private init(layout: ParityLayout, base: BytePath, problems: [Int: String], dataFDs: [Int32], parityFDs: [Int32]) {
        self.layout = layout
        self.base = base
        self.problems = problems
        self.dataFDs = dataFDs
        self.parityFDs = parityFDs
        code = ReedSolomon(dataCount: layout.dataCount, parityCount: layout.parityCount)
        stripeLimit = max(1, (32 << 20) / max(1, layout.blockSize * layout.dataCount))
    }

    deinit { for fd in dataFDs + parityFDs where fd >= 0 { close(fd) } }

    private static func readAt(_ fd: Int32, _ offset: UInt64, _ count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let n = bytes.withUnsafeMutableBytes { (try? Posix.preadFully(fd, $0.baseAddress!, count, offset)) ?? 0 }
        return Array(bytes.prefix(n))
    }

    // MARK: blocks

    /// Shard `shard` of stripe `stripe` as it is on disk (data shards first,
    /// zero-padded to a block), or nil when it is missing or fails its checksum.
    package func shardOnDisk(_ shard: Int, stripe: Int) -> [UInt8]? {
        let b = layout.blockSize
        if shard < layout.dataCount {
            let length = layout.bytes(inVolume: shard, block: stripe)
            if length == 0 { return [UInt8](repeating: 0, count: b) }   // past its end: zeros by definition
            guard dataFDs[shard] >= 0 else { return nil }
            var bytes = Self.readAt(dataFDs[shard], UInt64(stripe) * UInt64(b), length)
            guard bytes.count == length, bytes.withUnsafeBytes({ XXHash64.hash($0) }) == layout.blockHashes[shard][stripe] else { return nil }
            bytes += [UInt8](repeating: 0, count: b - length)
            return bytes
        }
        let j = shard - layout.dataCount
        guard parityFDs[j] >= 0 else { return nil }
        let bytes = Self.readAt(parityFDs[j], UInt64(layout.firstBlockOffset) + UInt64(stripe) * UInt64(b), b)
        guard bytes.count == b, bytes.withUnsafeBytes({ XXHash64.hash($0) }) == layout.parityHashes[j][stripe] else { return nil }
        return bytes
    }

    /// Every shard of stripe `stripe`, rebuilt where lost; throws naming the
    /// volumes when more are lost than parity covers.
    public func stripe(_ stripe: Int) throws -> [[UInt8]] {
        let shardCount = layout.dataCount + layout.parityCount
        var shards: [[UInt8]] = []
        var lost = Set<Int>()
        for shard in 0..<shardCount {
            if let bytes = shardOnDisk(shard, stripe: stripe) { shards.append(bytes) } else {
                shards.append([UInt8](repeating: 0, count: layout.blockSize))
                lost.insert(shard)
            }
        }
        guard lost.count <= layout.parityCount else {
            throw ArchiveError(.corruptFrame, "stripe \(stripe) of the archive has \(lost.count) damaged or missing blocks (in \(lost.sorted().map(shardName).joined(separator: ", "))), more than its \(layout.parityCount) parity volume(s) can rebuild")
        }
        guard !lost.isEmpty else { return shards }
        let buffers = shards.map { bytes -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: layout.blockSize, alignment: 64)
            bytes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: layout.blockSize) }
            return p
        }
        defer { buffers.forEach { $0.deallocate() } }
        guard code.reconstruct(buffers, lost: lost, length: layout.blockSize) else {
            throw ArchiveError(.corruptFrame, "stripe \(stripe) cannot be rebuilt from its parity")
        }
        for shard in lost { shards[shard] = Array(UnsafeRawBufferPointer(start: buffers[shard], count: layout.blockSize)) }
        return shards
    }

    /// The name of shard `shard` (a data or parity volume) for messages.
    public func shardName(_ shard: Int) -> String {
        shard < layout.dataCount ? VolumeNaming.path(base: base, number: shard + 1).description
            : Self.path(base: base, number: shard - layout.dataCount + 1).description
    }

    /// Block `block` of data volume `volume` as written (its bytes inside the volume).
    func dataBlock(_ volume: Int, _ block: Int) throws -> [UInt8] {
        if let bytes = shardOnDisk(volume, stripe: block) { return Array(bytes.prefix(layout.bytes(inVolume: volume, block: block))) }
        lock.lock()
        if let cached = stripes[block] {
            lock.unlock()
            let start = volume * layout.blockSize
            return Array(cached[start..<(start + layout.bytes(inVolume: volume, block: block))])
        }
        lock.unlock()
        let shards = try stripe(block)
        let data = Array(shards.prefix(layout.dataCount).joined())
        lock.lock()
        if stripes[block] == nil {
            stripes[block] = data
            stripeOrder.append(block)
            if stripeOrder.count > stripeLimit { stripes[stripeOrder.removeFirst()] = nil }
        }
        lock.unlock()
        return Array(shards[volume].prefix(layout.bytes(inVolume: volume, block: block)))
    }

    /// Reads `count` bytes at `offset` of data volume `volume` as it was
    /// written, rebuilding damaged or missing blocks from parity.
    public func read(volume: Int, offset: UInt64, count: Int, into buffer: UnsafeMutableRawPointer) throws {
        guard volume < layout.dataCount, offset + UInt64(count) <= layout.volumeSizes[volume] else {
            throw ArchiveError(.format, "\(shardName(min(volume, layout.dataCount - 1))): bytes \(offset)..<\(offset + UInt64(count)) lie outside what the parity covers")
        }
        let b = UInt64(layout.blockSize)
        var done = 0
        while done < count {
            let position = offset + UInt64(done)
            let block = Int(position / b)
            let within = Int(position % b)
            let bytes = try dataBlock(volume, block)
            let n = min(count - done, bytes.count - within)
            bytes.withUnsafeBytes { (buffer + done).copyMemory(from: $0.baseAddress! + within, byteCount: n) }
            done += n
        }
    }

    /// The blocks of every volume (data first, then parity) that are missing
    /// or fail their checksum: what a repair must rebuild.
    public func damage() -> [Int: [Int]] {
        var bad: [Int: [Int]] = [:]
        for stripe in 0..<layout.stripeCount {
            for shard in 0..<(layout.dataCount + layout.parityCount) where shardOnDisk(shard, stripe: stripe) == nil {
                bad[shard, default: []].append(stripe)
            }
        }
        return bad
    }
}
