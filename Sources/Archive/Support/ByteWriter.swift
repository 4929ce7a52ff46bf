/// Little-endian serializer for the index.
package struct ByteWriter {
    package init() {}
    package var bytes: [UInt8] = []

    package mutating func u8(_ v: UInt8) { bytes.append(v) }
    package mutating func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    package mutating func i64(_ v: Int64) { u64(UInt64(bitPattern: v)) }
    package mutating func raw(_ v: [UInt8]) { bytes.append(contentsOf: v) }
}

/// Bounds-checked little-endian parser: every read past the end throws, so a
/// hostile index can never make the parser read outside its buffer.
package struct ByteReader {
    package let bytes: UnsafeRawBufferPointer
    package private(set) var position: Int
    package let what: String

    package init(_ bytes: UnsafeRawBufferPointer, at position: Int = 0, what: String) {
        self.bytes = bytes
        self.position = position
        self.what = what
    }

    package var remaining: Int { bytes.count - position }

    // Inlined, with the error made out of line: parsing an index is about a
    // million of these reads, and the call showed in profiles of an open.
    @inline(__always)
    private mutating func take(_ n: Int) throws -> Int {
        guard n >= 0, n <= remaining else { throw truncated(needing: n) }
        let at = position
        position += n
        return at
    }

    @inline(never)
    private func truncated(needing n: Int) -> ArchiveError {
        ArchiveError(.format, "\(what) is truncated at byte \(position) (needs \(n) more bytes, \(remaining) left)")
    }

    @inline(__always) package mutating func u8() throws -> UInt8 { bytes[try take(1)] }
    @inline(__always) package mutating func u16() throws -> UInt16 { UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(2), as: UInt16.self)) }
    @inline(__always) package mutating func u32() throws -> UInt32 { UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(4), as: UInt32.self)) }
    @inline(__always) package mutating func u64() throws -> UInt64 { UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: try take(8), as: UInt64.self)) }
    package mutating func i64() throws -> Int64 { Int64(bitPattern: try u64()) }
    package mutating func skip(_ n: Int) throws { _ = try take(n) }
    /// A u64 row count that is not a table's own (checked against the
    /// tables later): refused when no index could hold that many rows.
    package mutating func count64() throws -> Int {
        let n = try u64()
        guard n <= 1 << 48 else { throw ArchiveError(.format, "\(what): a row count of \(n) is not plausible") }
        return Int(n)
    }
    package mutating func raw(_ n: Int) throws -> [UInt8] {
        let start = try take(n)
        return Array(bytes[start..<(start + n)])
    }

    /// Reads a record count and checks that `count * recordSize` bytes are
    /// really there before anything is allocated: no allocation bombs.
    package mutating func count(of recordSize: Int, wide: Bool = false, section: String) throws -> Int {
        let n = wide ? try u64() : UInt64(try u32())
        guard n <= UInt64(Int.max / max(recordSize, 1)), Int(n) * recordSize <= remaining else {
            throw ArchiveError(.format, "\(what): \(section) claims \(n) records but only \(remaining) bytes follow")
        }
        return Int(n)
    }
}
