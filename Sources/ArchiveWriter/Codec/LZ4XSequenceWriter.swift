import Archive

/// Writes sequences, refusing (returning false) any that would not fit.
struct LZ4XSequenceWriter {
    let out: UnsafeMutableRawPointer
    let capacity: Int
    var written = 0

    @inline(__always) static func extensionBytes(_ value: Int) -> Int {
        value < 15 ? 0 : (value - 15) / 255 + 1
    }

    @inline(__always) mutating func byte(_ b: Int) {
        out.storeBytes(of: UInt8(truncatingIfNeeded: b), toByteOffset: written, as: UInt8.self)
        written &+= 1
    }

    @inline(__always) mutating func extensionValue(_ value: Int) {
        var rest = value - 15
        while rest >= 255 {
            byte(255)
            rest -= 255
        }
        byte(rest)
    }

    @inline(__always) mutating func literals(_ literals: UnsafeRawPointer, count: Int) {
        (out + written).copyMemory(from: literals, byteCount: count)
        written &+= count
    }

    /// Copies literals 8 bytes at a time, up to 7 bytes past both ends:
    /// the caller has room for that in the output, and a sequence's
    /// literals end at its match, at least 12 bytes before the input's end.
    @inline(__always) mutating func wildLiterals(_ literals: UnsafeRawPointer, count: Int) {
        var i = 0
        while i < count {
            out.storeBytes(of: literals.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: written &+ i, as: UInt64.self)
            i &+= 8
        }
        written &+= count
    }

    @inline(__always)
    mutating func sequence(literals: UnsafeRawPointer, count: Int, offset: Int, matchLength: Int) -> Bool {
        let ml = matchLength - LZ4X.minMatch
        let need = 1 + Self.extensionBytes(count) + count + 3 + Self.extensionBytes(ml)
        guard need <= capacity - written else { return false }
        byte(min(count, 15) << 4 | min(ml, 15))
        if count >= 15 { extensionValue(count) }
        if need &+ 8 <= capacity &- written { wildLiterals(literals, count: count) } else { self.literals(literals, count: count) }
        byte(offset)
        byte(offset >> 8)
        byte(offset >> 16)
        if ml >= 15 { extensionValue(ml) }
        return true
    }

    mutating func lastLiterals(_ literals: UnsafeRawPointer, count: Int) -> Bool {
        guard 1 + Self.extensionBytes(count) + count <= capacity - written else { return false }
        byte(min(count, 15) << 4)
        if count >= 15 { extensionValue(count) }
        self.literals(literals, count: count)
        return true
    }
}
