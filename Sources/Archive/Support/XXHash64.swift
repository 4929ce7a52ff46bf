/// XXH64 (seed 0 by default): the checksum of every frame's payload and decoded
/// bytes and of the index. Chosen because it runs at memory speed on one core, so
/// verifying a 16 MiB frame costs far less than decoding it.
public enum XXHash64 {
    @usableFromInline static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    @usableFromInline static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    @usableFromInline static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    @usableFromInline static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63
    @usableFromInline static let p5: UInt64 = 0x27D4_EB2F_1656_67C5

    @inline(__always) @usableFromInline
    static func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 &- r)) }

    @inline(__always) @usableFromInline
    static func round(_ acc: UInt64, _ input: UInt64) -> UInt64 {
        rotl(acc &+ input &* p2, 31) &* p1
    }

    @inline(__always) @usableFromInline
    static func merge(_ acc: UInt64, _ val: UInt64) -> UInt64 {
        (acc ^ round(0, val)) &* p1 &+ p4
    }

    public static func hash(_ buffer: UnsafeRawBufferPointer, seed: UInt64 = 0) -> UInt64 {
        let count = buffer.count
        guard count > 0, let base = buffer.baseAddress else { return avalanche(seed &+ p5) }
        var p = 0
        var h: UInt64
        if count >= 32 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            let limit = count - 32
            while p <= limit {
                v1 = round(v1, base.loadUnaligned(fromByteOffset: p, as: UInt64.self).littleEndian)
                v2 = round(v2, base.loadUnaligned(fromByteOffset: p + 8, as: UInt64.self).littleEndian)
                v3 = round(v3, base.loadUnaligned(fromByteOffset: p + 16, as: UInt64.self).littleEndian)
                v4 = round(v4, base.loadUnaligned(fromByteOffset: p + 24, as: UInt64.self).littleEndian)
                p += 32
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
            h = merge(h, v1); h = merge(h, v2); h = merge(h, v3); h = merge(h, v4)
        } else {
            h = seed &+ p5
        }
        h = h &+ UInt64(count)
        while p + 8 <= count {
            h ^= round(0, base.loadUnaligned(fromByteOffset: p, as: UInt64.self).littleEndian)
            h = rotl(h, 27) &* p1 &+ p4
            p += 8
        }
        if p + 4 <= count {
            h ^= UInt64(base.loadUnaligned(fromByteOffset: p, as: UInt32.self).littleEndian) &* p1
            h = rotl(h, 23) &* p2 &+ p3
            p += 4
        }
        while p < count {
            h ^= UInt64(base.load(fromByteOffset: p, as: UInt8.self)) &* p5
            h = rotl(h, 11) &* p1
            p += 1
        }
        return avalanche(h)
    }

    @inline(__always) static func avalanche(_ h0: UInt64) -> UInt64 {
        var h = h0
        h ^= h >> 33; h = h &* p2
        h ^= h >> 29; h = h &* p3
        h ^= h >> 32
        return h
    }

    public static func hash(_ bytes: [UInt8], seed: UInt64 = 0) -> UInt64 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }
}
