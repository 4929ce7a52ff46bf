import Archive
import Builder

/// A small copy/insert coder with LZ4X's delta model: the target is encoded
/// as if it followed the base in one buffer, as "insert these bytes" and
/// "copy n bytes from position p" operations, where p may lie in the base or
/// earlier in the target. With an empty base it is a plain (weak) lossless
/// compressor. No entropy coding: it lets the similarity stage be tested
/// without the archive's codec, it does not compete with LZ4X.
///
/// Encoding: op byte 0 = insert (varint length, bytes), 1 = copy (varint
/// position in base+target, varint length).
struct CopyInsertDeltaCoder: DeltaCoder {
    var kind: ChunkKind { .delta }
    private static let minMatch = 8
    private static let tableBits = 15

    init() {}

    func encode(target: UnsafeRawBufferPointer, base: [UInt8]) -> [UInt8]? {
        let all = base + target
        let w = Self.minMatch
        var table = [Int](repeating: -1, count: 1 << Self.tableBits)
        var p = 0
        while p + w <= base.count {
            table[slot(all, p)] = p
            p += 1
        }
        var out: [UInt8] = []
        var literalStart = base.count
        var i = base.count
        while i + w <= all.count {
            let s = slot(all, i)
            let candidate = table[s]
            table[s] = i
            guard candidate >= 0, all[candidate..<(candidate + w)] == all[i..<(i + w)] else {
                i += 1
                continue
            }
            var length = w
            while i + length < all.count, all[candidate + length] == all[i + length] { length += 1 }
            emitInsert(all[literalStart..<i], into: &out)
            out.append(1)
            appendVarint(candidate, to: &out)
            appendVarint(length, to: &out)
            i += length
            literalStart = i
        }
        emitInsert(all[literalStart...], into: &out)
        return out
    }

    func decode(_ delta: [UInt8], base: [UInt8], targetLength: Int) -> [UInt8]? {
        let total = base.count + targetLength
        var out = base
        out.reserveCapacity(total)
        var pos = 0
        while pos < delta.count {
            let op = delta[pos]
            pos += 1
            switch op {
            case 0:
                guard let n = readVarint(delta, &pos), n <= delta.count - pos, n <= total - out.count else { return nil }
                out.append(contentsOf: delta[pos..<(pos + n)])
                pos += n
            case 1:
                guard let from = readVarint(delta, &pos), let n = readVarint(delta, &pos),
                      from < out.count, n <= total - out.count else { return nil }
                // Byte by byte: a copy may overlap the bytes it produces.
                for k in 0..<n { out.append(out[from + k]) }
            default:
                return nil
            }
        }
        return out.count == total ? Array(out[base.count...]) : nil
    }

    private func slot(_ bytes: [UInt8], _ at: Int) -> Int {
        var v: UInt64 = 0
        for k in 0..<Self.minMatch { v = v << 8 | UInt64(bytes[at + k]) }
        return Int(truncatingIfNeeded: (v &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - Self.tableBits))
    }

    private func emitInsert(_ bytes: ArraySlice<UInt8>, into out: inout [UInt8]) {
        guard !bytes.isEmpty else { return }
        out.append(0)
        appendVarint(bytes.count, to: &out)
        out.append(contentsOf: bytes)
    }

    private func appendVarint(_ value: Int, to out: inout [UInt8]) {
        var v = UInt64(value)
        while v >= 0x80 {
            out.append(UInt8(v & 0x7F) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    private func readVarint(_ bytes: [UInt8], _ pos: inout Int) -> Int? {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        while pos < bytes.count, shift < 63 {
            let b = bytes[pos]
            pos += 1
            value |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return value <= UInt64(Int.max) ? Int(value) : nil }
            shift += 7
        }
        return nil
    }
}
