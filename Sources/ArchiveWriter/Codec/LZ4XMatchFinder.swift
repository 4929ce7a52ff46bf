import CPrefetch
import Archive

/// Bucket width known at compile time: the encoder is specialized for the common widths, so
/// their bucket loops unroll and bucket addresses are shifts.
protocol LZ4XBucketWays {
    /// Positions per bucket, or 0 for "the finder's runtime value".
    static var ways: Int { get }
}
enum LZ4XWays8: LZ4XBucketWays { static var ways: Int { 8 } }
enum LZ4XWays1: LZ4XBucketWays { static var ways: Int { 1 } }
enum LZ4XWaysAny: LZ4XBucketWays { static var ways: Int { 0 } }

/// Hash-bucket match search over one input. Plain pointers and integers only, so the
/// optimizer keeps it in registers.
struct LZ4XMatchFinder<W: LZ4XBucketWays> {
    let src: UnsafeRawPointer
    let slots: UnsafeMutablePointer<UInt32>
    let shortSlots: UnsafeMutablePointer<UInt32>
    let runtimeK: Int
    @inline(__always) var k: Int { W.ways == 0 ? runtimeK : W.ways }
    let epoch: UInt32
    let niceLength: Int
    /// log2 of the long and the short table's bucket counts (the encoder's options).
    let hashLog: Int
    let shortHashLog: Int
    /// Matches end at or before this (the last 5 bytes stay literals).
    let matchLimit: Int
    /// Highest position that can be hashed (the hash loads 8 bytes).
    let lastHashable: Int

    init(src: UnsafeRawPointer, n: Int, slots: UnsafeMutablePointer<UInt32>,
         shortSlots: UnsafeMutablePointer<UInt32>, k: Int, epoch: UInt32, niceLength: Int,
         hashLog: Int, shortHashLog: Int) {
        self.src = src
        self.hashLog = hashLog
        self.shortHashLog = shortHashLog
        self.slots = slots
        self.shortSlots = shortSlots
        runtimeK = k
        self.epoch = epoch
        self.niceLength = niceLength
        matchLimit = n - LZ4X.lastLiterals
        lastHashable = n - 8
    }

    @inline(__always) func load(_ p: Int) -> UInt64 {
        UInt64(littleEndian: src.loadUnaligned(fromByteOffset: p, as: UInt64.self))
    }

    /// Hash of the first `bytes` bytes of v into `log` bits.
    /// (Masking shifts: `bytes` is 1...8 and `log` 1...63, and Swift's
    /// checked shifts by a run-time amount cost the fast parse's probe loop
    /// two compares and branches each.)
    @inline(__always) static func hash(_ v: UInt64, bytes: Int, log: Int) -> Int {
        let key = (v &<< UInt64(64 - 8 * bytes)) &* 0x9E37_79B1_85EB_CA87
        return Int(truncatingIfNeeded: key &>> UInt64(64 - log))
    }

    @inline(__always) func longHash(_ v: UInt64) -> Int {
        Self.hash(v, bytes: LZ4XEncoder.hashBytes, log: hashLog)
    }

    @inline(__always) func shortHash(_ v: UInt64) -> Int {
        Self.hash(v, bytes: LZ4XEncoder.shortHashBytes, log: shortHashLog)
    }

    /// Buckets are kept most recent first (positions are inserted in increasing order), so a
    /// search can stop at the first entry that is stale or out of the window.
    @inline(__always) func insert(_ p: Int, hash h: Int, shortHash hs: Int) {
        let value = epoch &+ UInt32(truncatingIfNeeded: p)
        let bucket = slots + h &* k
        if k == 8 {
            // The default: shift entries 0...6 to 1...7 with two 16-byte moves (both loaded first).
            let raw = UnsafeMutableRawPointer(bucket)
            let low = raw.loadUnaligned(as: SIMD4<UInt32>.self)
            let high = raw.loadUnaligned(fromByteOffset: 12, as: SIMD4<UInt32>.self)
            raw.storeBytes(of: low, toByteOffset: 4, as: SIMD4<UInt32>.self)
            raw.storeBytes(of: high, toByteOffset: 16, as: SIMD4<UInt32>.self)
        } else {
            var i = k &- 1
            while i > 0 {
                bucket[i] = bucket[i &- 1]
                i &-= 1
            }
        }
        bucket[0] = value
        shortSlots[hs] = value
    }

    /// insert(q) for q in from..<end. (Prefetching the table lines of later positions here was
    /// measured: no gain at K = 8, 30% slower at K = 1; the stores overlap well enough.)
    @inline(__always) func insertRange(from: Int, to end: Int, step: Int = 1) {
        let last = min(end, lastHashable &+ 1)
        var q = from
        while q < last {
            let v = load(q)
            insert(q, hash: longHash(v), shortHash: shortHash(v))
            q &+= step
        }
    }

    /// Inserts positions inside a just-emitted match [from, to). Short matches get every
    /// position; long ones (runs, copied blocks) only their ends, which is where later
    /// matches tend to start, so long runs do not cost a table update per byte.
    @inline(__always) func insertInside(from: Int, to end: Int) {
        if end - from <= 2 * Self.insideEdge {
            insertRange(from: from, to: end)
        } else {
            insertRange(from: from, to: from + Self.insideEdge)
            insertRange(from: end - Self.insideEdge, to: end)
        }
    }
    static var insideEdge: Int { 16 }

    /// Longest match for position p among the bucket's candidates (length 0 when none),
    /// then records p in the bucket.
    @inline(__always) func findAndInsert(_ p: Int) -> (length: Int, candidate: Int) {
        // The next search is most often at p + 1 (p <= n - 12, so the load is in bounds): ask
        // for its bucket now. (Prefetching its candidates' bytes too was measured: +4% on 16 MiB
        // frames, within noise, and 25% slower on 16 KiB delta inputs.)
        gpuarc_prefetch(slots + longHash(load(p &+ 1)) &* k)
        let v8 = load(p)
        let h = longHash(v8)
        let bucket = slots + h &* k
        let limit = matchLimit &- p
        var best = LZ4XEncoder.minUsefulMatch &- 1
        var bestCand = 0
        let head4 = src.loadUnaligned(fromByteOffset: p, as: UInt32.self)
        for i in 0..<k {
            let v = bucket[i]
            guard v >= epoch else { break }
            let c = Int(v &- epoch)
            guard p &- c <= LZ4X.maxOffset else { break }
            guard c < p else { continue }
            // Cheap rejections: the byte that would make this one longer, then the first 4.
            guard best < limit,
                  src.load(fromByteOffset: c &+ best, as: UInt8.self)
                    == src.load(fromByteOffset: p &+ best, as: UInt8.self),
                  src.loadUnaligned(fromByteOffset: c, as: UInt32.self) == head4 else { continue }
            let len = matchLength(p, c, limit: limit)
            if len > best {
                best = len
                bestCand = c
                if len >= niceLength { break }
            }
        }
        let hs = shortHash(v8)
        if best < LZ4XEncoder.hashBytes {
            // The long table only finds matches of hashBytes or more; try the short one.
            let v = shortSlots[hs]
            let c = Int(v &- epoch)
            if v >= epoch && c < p && p &- c <= LZ4X.maxOffset && best < limit
                && src.loadUnaligned(fromByteOffset: c, as: UInt32.self) == head4 {
                let len = matchLength(p, c, limit: limit)
                if len > best {
                    best = len
                    bestCand = c
                }
            }
        }
        insert(p, hash: h, shortHash: hs)
        return best >= LZ4XEncoder.minUsefulMatch ? (best, bestCand) : (0, 0)
    }

    /// Common-prefix length of src[p...] and src[c...], at most `limit`.
    @inline(__always) func matchLength(_ p: Int, _ c: Int, limit: Int) -> Int {
        var len = 0
        while len &+ 8 <= limit {
            let x = src.loadUnaligned(fromByteOffset: p &+ len, as: UInt64.self)
                ^ src.loadUnaligned(fromByteOffset: c &+ len, as: UInt64.self)
            if x != 0 { return len &+ x.littleEndian.trailingZeroBitCount >> 3 }
            len &+= 8
        }
        while len < limit && src.load(fromByteOffset: p &+ len, as: UInt8.self)
            == src.load(fromByteOffset: c &+ len, as: UInt8.self) {
            len &+= 1
        }
        return len
    }
}
