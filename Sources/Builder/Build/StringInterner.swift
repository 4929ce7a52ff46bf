import Glibc

/// The index's string table as a set: every distinct byte string (a name,
/// a link target, an attribute name or value) stored once. An
/// open-addressing table of where each string already sits in the table
/// (offset, length, hash), so nothing is copied to look a string up; the
/// assembler interns a name per entry, and with `[UInt8]` keys the hashing
/// and the key arrays took a fifth of an unchanged append's assembly.
struct StringInterner {
    private struct Slot {
        var offset: UInt64
        var length: UInt32
        var hash: UInt32
        static let empty = Slot(offset: 0, length: .max, hash: 0)
    }
    private var slots: [Slot]
    private var count = 0

    init(expected: Int = 0) {
        var capacity = 64
        while capacity < expected * 2 { capacity *= 2 }
        slots = [Slot](repeating: .empty, count: capacity)
    }

    /// The offset of `bytes` in `strings`, appending them if not there yet.
    mutating func intern(_ bytes: [UInt8], in strings: inout [UInt8]) -> UInt64 {
        bytes.withUnsafeBytes { raw in
            let hash = Self.hash(raw)
            if let offset = find(raw, hash: hash, in: strings) { return offset }
            let offset = UInt64(strings.count)
            strings += bytes
            insert(Slot(offset: offset, length: UInt32(raw.count), hash: hash))
            return offset
        }
    }

    /// Records a string already in `strings` (an earlier segment's), unless
    /// the same bytes are recorded already (the first stays the one used).
    mutating func remember(offset: UInt64, length: Int, in strings: [UInt8]) {
        strings.withUnsafeBytes { all in
            let raw = UnsafeRawBufferPointer(rebasing: all[Int(offset)..<(Int(offset) + length)])
            let hash = Self.hash(raw)
            if find(raw, hash: hash, in: strings) == nil {
                insert(Slot(offset: offset, length: UInt32(length), hash: hash))
            }
        }
    }

    private func find(_ raw: UnsafeRawBufferPointer, hash: UInt32, in strings: [UInt8]) -> UInt64? {
        let mask = slots.count - 1
        var i = Int(hash) & mask
        return strings.withUnsafeBytes { (all: UnsafeRawBufferPointer) -> UInt64? in
            while true {
                let slot = slots[i]
                if slot.length == .max { return nil }
                if slot.hash == hash && Int(slot.length) == raw.count
                    && (raw.isEmpty || memcmp(all.baseAddress! + Int(slot.offset), raw.baseAddress!, raw.count) == 0) {
                    return slot.offset
                }
                i = (i + 1) & mask
            }
        }
    }

    private mutating func insert(_ slot: Slot) {
        if (count + 1) * 2 > slots.count { grow() }
        let mask = slots.count - 1
        var i = Int(slot.hash) & mask
        while slots[i].length != .max { i = (i + 1) & mask }
        slots[i] = slot
        count += 1
    }

    private mutating func grow() {
        let old = slots
        slots = [Slot](repeating: .empty, count: old.count * 2)
        count = 0
        for slot in old where slot.length != .max { insert(slot) }
    }

    /// A multiply-xorshift hash over 8-byte words: names are short, and
    /// nothing here is hostile (the strings are the builder's own input).
    private static func hash(_ raw: UnsafeRawBufferPointer) -> UInt32 {
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 ^ UInt64(raw.count)
        var at = 0
        while at + 8 <= raw.count {
            h = (h ^ raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)) &* 0xBF58_476D_1CE4_E5B9
            h ^= h >> 31
            at += 8
        }
        var tail: UInt64 = 0
        for k in at..<raw.count { tail |= UInt64(raw[k]) << (8 * UInt64(k - at)) }
        h = (h ^ tail) &* 0x94D0_49BB_1331_11EB
        h ^= h >> 29
        return UInt32(truncatingIfNeeded: h)
    }
}
