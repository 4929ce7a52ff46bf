/// FastCDC-style content-defined chunking with a gear hash and normalized
/// chunking: below the average size a stricter mask (two more bits) makes a
/// cut less likely, above it a looser mask (two fewer bits) makes one more
/// likely, which narrows the size distribution around the average.
///
/// The hash is warmed up over the 64 bytes before the minimum size, so every
/// cut depends only on the 64-byte window that ends at it (plus the min/max
/// bounds). An insertion early in a file therefore shifts, but does not move,
/// the cuts after it once the chunking has resynchronised.
public struct ContentDefinedChunker: Sendable {
    public let averageSize: Int
    public let minimumSize: Int
    public let maximumSize: Int
    let strictMask: UInt64
    let looseMask: UInt64

    /// Where a scan for the end of the current chunk stands, so a chunk that
    /// arrives in pieces is not rescanned from its start.
    struct Scan {
        var next = 0
        var hash: UInt64 = 0
    }

    /// `minimumSize` defaults to average/4 and `maximumSize` to average*8.
    public init(averageSize: Int = 8192, minimumSize: Int? = nil, maximumSize: Int? = nil) {
        precondition(averageSize >= 64, "average chunk size must be at least 64 bytes")
        let minimum = minimumSize ?? averageSize / 4
        let maximum = maximumSize ?? averageSize * 8
        precondition(minimum >= 1 && minimum <= averageSize && averageSize <= maximum,
                     "chunk sizes must satisfy 1 <= minimum <= average <= maximum")
        self.averageSize = averageSize
        self.minimumSize = minimum
        self.maximumSize = maximum
        // A mask of n bits fires with probability 2^-n per byte.
        var bits = 0
        while (1 << (bits + 1)) <= averageSize { bits += 1 }
        strictMask = SimilarityHashing.highMask(bits: bits + 2)
        looseMask = SimilarityHashing.highMask(bits: bits - 2)
    }

    /// Lengths of the chunks of `bytes`, in order; they sum to `bytes.count`.
    public func chunkLengths(of bytes: UnsafeRawBufferPointer) -> [Int] {
        var lengths: [Int] = []
        var start = 0
        while start < bytes.count {
            var scan = Scan()
            let rest = UnsafeRawBufferPointer(rebasing: bytes[start...])
            let length = cut(in: rest, scan: &scan, isFinal: true)!
            lengths.append(length)
            start += length
        }
        return lengths
    }

    public func chunkLengths(of bytes: [UInt8]) -> [Int] {
        bytes.withUnsafeBytes { chunkLengths(of: $0) }
    }

    /// Finds the end of the chunk that starts at `bytes[0]`.
    ///
    /// Returns the chunk's length, or nil when `bytes` ends before a cut is
    /// certain and more input may follow (`isFinal` false); `scan` then holds
    /// the progress to resume from once more bytes are appended.
    func cut(in bytes: UnsafeRawBufferPointer, scan: inout Scan, isFinal: Bool) -> Int? {
        let limit = min(bytes.count, maximumSize)
        var j = max(scan.next, minimumSize - 64)
        var h = scan.hash
        let found: Int? = SimilarityHashing.chunkingGear.withUnsafeBufferPointer { gear in
            // Warm-up: bytes that would leave the chunk shorter than the minimum.
            let warmEnd = min(limit, minimumSize - 1)
            while j < warmEnd {
                h = (h << 1) &+ gear[Int(bytes[j])]
                j += 1
            }
            let strictEnd = min(limit, averageSize - 1)
            if let cut = Self.scan(bytes, gear, from: &j, to: strictEnd, hash: &h, mask: strictMask) { return cut }
            return Self.scan(bytes, gear, from: &j, to: limit, hash: &h, mask: looseMask)
        }
        if let found {
            scan = Scan()
            return found
        }
        if bytes.count >= maximumSize || (isFinal && !bytes.isEmpty) {
            scan = Scan()
            return limit
        }
        scan = Scan(next: j, hash: h)
        return nil
    }

    /// The first cut in bytes[j..<end] under `mask`: the position after the
    /// byte whose gear hash has none of the mask's bits set; nil when there
    /// is none, with `j` at `end` and `h` the hash there.
    ///
    /// Two bytes a step: h' = (h << 2) + ((g0 << 1) + g1), where the sum of
    /// the two gear values does not wait for h, so the chain that carries
    /// the hash is one shift and one add per two bytes instead of per byte
    /// (the hash after the first byte, (h << 1) + g0, is checked beside it).
    /// The cuts are the same as one byte at a time.
    @inline(__always)
    static func scan(_ bytes: UnsafeRawBufferPointer, _ gear: UnsafeBufferPointer<UInt64>, from j: inout Int, to end: Int,
                     hash h: inout UInt64, mask: UInt64) -> Int? {
        var i = j
        var hash = h
        defer { j = i; h = hash }
        while i &+ 2 <= end {
            let g0 = gear[Int(bytes[i])]
            let g1 = gear[Int(bytes[i &+ 1])]
            let first = (hash &<< 1) &+ g0
            hash = (hash &<< 2) &+ ((g0 &<< 1) &+ g1)
            if first & mask == 0 { i &+= 1; hash = first; return i }
            i &+= 2
            if hash & mask == 0 { return i }
        }
        if i < end {
            hash = (hash &<< 1) &+ gear[Int(bytes[i])]
            i &+= 1
            if hash & mask == 0 { return i }
        }
        return nil
    }
}
