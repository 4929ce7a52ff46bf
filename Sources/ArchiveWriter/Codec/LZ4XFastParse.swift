import Archive

/// The low levels' parse (LZ4's fast parse on LZ4X's 3-byte offsets): one
/// probe of a one-way hash table per position, the first match of at least
/// `LZ4XEncoder.minUsefulMatch` bytes taken as it is, no lazy step. Over
/// input that keeps missing, the step between probes grows by one every
/// 2^`skipTrigger` probes, so incompressible data (compressed files, media)
/// costs a fraction of a probe per byte; a match resets it.
///
/// A table entry is 64 bits: the position (as `epoch + position`) and the
/// 4 bytes found there. A probe compares those bytes before it reads the
/// input at the candidate, so a bucket taken over by another string costs no
/// cache miss on input up to 16 MiB back: on 16 MiB frames of Django
/// releases and of a system tree this was 10-25% faster than 32-bit entries
/// at the same ratio (twice the entries in the same memory, `gpuarc-bench
/// levels`).
///
/// Plain pointers and integers only, so the optimizer keeps it in registers.
struct LZ4XFastParse {
    let src: UnsafeRawPointer
    let n: Int
    /// 2^hashLog entries of 8 bytes (read and written as raw memory: the
    /// encoder's table allocation is typed for its 32-bit buckets).
    let table: UnsafeMutableRawPointer
    let hashLog: Int
    /// Bytes of input a table entry is hashed on (5 ... 8).
    let hashBytes: Int
    /// Table entries below this belong to an earlier call (see `LZ4XEncoder`).
    let epoch: UInt32

    /// Probes between two increments of the step: LZ4's value. Text keeps
    /// finding matches well within it; compressed data reaches step 2 after
    /// 64 bytes, 3 after 128 more, and so on.
    static let skipTrigger = 6

    @inline(__always) func load(_ p: Int) -> UInt64 {
        UInt64(littleEndian: src.loadUnaligned(fromByteOffset: p, as: UInt64.self))
    }

    @inline(__always) func hash(_ v: UInt64) -> Int {
        LZ4XMatchFinder<LZ4XWays1>.hash(v, bytes: hashBytes, log: hashLog)
    }

    @inline(__always) func entry(_ p: Int, _ v: UInt64) -> UInt64 {
        UInt64(epoch &+ UInt32(truncatingIfNeeded: p)) | v << 32
    }

    @inline(__always) func insert(_ p: Int) {
        let v = load(p)
        table.storeBytes(of: entry(p, v), toByteOffset: hash(v) &* 8, as: UInt64.self)
    }

    /// Encodes src[start..<n] (src[0..<start] is a prefix dictionary, entered every
    /// `prefixStep`-th position) into `output`; nil when it does not fit.
    func encode(start: Int, prefixStep: Int, output: UnsafeMutableRawBufferPointer) -> Int? {
        var writer = LZ4XSequenceWriter(out: output.baseAddress!, capacity: output.count)
        var anchor = start
        if n - start >= LZ4X.matchStartMargin + 1 {
            let lastStart = n - LZ4X.matchStartMargin
            let matchLimit = n - LZ4X.lastLiterals
            var q = 0
            while q < start && q <= n - 8 {
                insert(q)
                q &+= prefixStep
            }
            var p = start
            search: while true {
                // Find a match: probe, record this position, move on by the step.
                var probes = 1 << Self.skipTrigger
                var candidate = 0
                var length = 0
                while true {
                    guard p <= lastStart else { break search }
                    let v = load(p)
                    let h = hash(v)
                    let found = table.load(fromByteOffset: h &* 8, as: UInt64.self)
                    table.storeBytes(of: entry(p, v), toByteOffset: h &* 8, as: UInt64.self)
                    let position = UInt32(truncatingIfNeeded: found)
                    if position >= epoch && UInt32(truncatingIfNeeded: found >> 32) == UInt32(truncatingIfNeeded: v) {
                        let c = Int(position &- epoch)
                        // The first 5 bytes equal (a 4-byte match saves nothing with a 3-byte offset).
                        if p &- c <= LZ4X.maxOffset && (v ^ load(c)) & 0xFF_FFFF_FFFF == 0 {
                            candidate = c
                            length = 5 &+ matchLength(p &+ 5, c &+ 5, limit: matchLimit &- p &- 5)
                            break
                        }
                    }
                    p &+= probes >> Self.skipTrigger
                    probes &+= 1
                }
                // Extend backwards over literals the probes skipped.
                while p > anchor && candidate > 0
                        && src.load(fromByteOffset: p &- 1, as: UInt8.self) == src.load(fromByteOffset: candidate &- 1, as: UInt8.self) {
                    p &-= 1
                    candidate &-= 1
                    length &+= 1
                }
                guard writer.sequence(literals: src + anchor, count: p - anchor,
                                      offset: p - candidate, matchLength: length) else { return nil }
                p &+= length
                anchor = p
                // A position near the match's end is where the next repeat most often starts.
                if p <= lastStart { insert(p &- 2) }
            }
        }
        guard writer.lastLiterals(src + anchor, count: n - anchor) else { return nil }
        return writer.written
    }

    /// Common-prefix length of src[p...] and src[c...], at most `limit`.
    @inline(__always) func matchLength(_ p: Int, _ c: Int, limit: Int) -> Int {
        var len = 0
        while len &+ 8 <= limit {
            let x = load(p &+ len) ^ load(c &+ len)
            if x != 0 { return len &+ x.trailingZeroBitCount >> 3 }
            len &+= 8
        }
        while len < limit && src.load(fromByteOffset: p &+ len, as: UInt8.self)
            == src.load(fromByteOffset: c &+ len, as: UInt8.self) {
            len &+= 1
        }
        return len
    }
}
