@testable import Archive
@testable import ArchiveWriter
import XCTest

enum LZ4XTestData {
    static let words = ["the", "archive", "frame", "chunk", "decode", "of", "and", "swift", "buffer",
                        "index", "volume", "a", "to", "similar", "delta", "offset", "match", "literal",
                        "\n", "struct", "func", "return", "let", "var", "{", "}", "(", ")", "=", ";"]

    /// Word salad: compressible like text, but not trivially.
    static func text(_ n: Int, seed: UInt64 = 1) -> [UInt8] {
        var rng = XorShift64(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(n + 16)
        while out.count < n {
            out.append(contentsOf: words[rng.below(words.count)].utf8)
            out.append(rng.below(7) == 0 ? UInt8(ascii: "\n") : UInt8(ascii: " "))
        }
        return Array(out[0..<n])
    }

    static func random(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = XorShift64(seed: seed)
        return rng.packedBytes(n)
    }

    static func periodic(_ n: Int, period: Int) -> [UInt8] {
        (0..<n).map { UInt8(truncatingIfNeeded: ($0 % period) &* 37 &+ 1) }
    }
}

struct LZ4XSequence: Equatable {
    var literalLength: Int
    var offset: Int  // 0 for the last, literal-only sequence
    var matchLength: Int
}

/// Test-only walker: lists the sequences of a well-formed block.
func lz4xSequences(_ block: [UInt8]) -> [LZ4XSequence] {
    var out: [LZ4XSequence] = []
    var i = 0
    func ext(_ base: Int) -> Int {
        var v = base
        guard base == 15 else { return v }
        while true {
            let b = Int(block[i]); i += 1
            v += b
            if b != 255 { return v }
        }
    }
    while i < block.count {
        let token = Int(block[i]); i += 1
        let lit = ext(token >> 4)
        i += lit
        if i == block.count {
            out.append(LZ4XSequence(literalLength: lit, offset: 0, matchLength: 0))
            break
        }
        let offset = Int(block[i]) | Int(block[i + 1]) << 8 | Int(block[i + 2]) << 16
        i += 3
        out.append(LZ4XSequence(literalLength: lit, offset: offset, matchLength: ext(token & 15) + 4))
    }
    return out
}

/// Encodes input[prefixLength...]; nil when it does not fit in `capacity` (default: compressBound).
func lz4xEncode(_ input: [UInt8], prefixLength: Int = 0, capacity: Int? = nil,
                encoder: LZ4XEncoder = LZ4XEncoder()) -> [UInt8]? {
    let cap = capacity ?? LZ4X.compressBound(input.count - prefixLength)
    var out = [UInt8](repeating: 0, count: cap)
    let n = input.withUnsafeBytes { src in
        out.withUnsafeMutableBytes { encoder.compress(src, prefixLength: prefixLength, into: $0) }
    }
    return n.map { Array(out[0..<$0]) }
}

/// Decodes into a buffer of exactly `size` bytes (after `prefix`), with guard bytes behind it
/// that must survive, so a write past dst shows up as a failure.
func lz4xDecode(_ block: [UInt8], size: Int, prefix: [UInt8] = [],
                file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
    let guardCount = 64
    var buf = prefix + [UInt8](repeating: 0, count: size) + [UInt8](repeating: 0xA5, count: guardCount)
    let total = prefix.count + size
    defer {
        XCTAssertEqual(Array(buf[total...]), [UInt8](repeating: 0xA5, count: guardCount),
                       "decoder wrote past dst", file: file, line: line)
    }
    try block.withUnsafeBytes { src in
        try buf.withUnsafeMutableBytes { dst in
            try LZ4XDecoder.decode(src, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<total]),
                                   prefixLength: prefix.count)
        }
    }
    return Array(buf[prefix.count..<total])
}

func lz4xAssertRoundTrip(_ input: [UInt8], encoder: LZ4XEncoder = LZ4XEncoder(),
                         file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
    let block = try XCTUnwrap(lz4xEncode(input, encoder: encoder), "compressBound too small", file: file, line: line)
    XCTAssertLessThanOrEqual(block.count, LZ4X.compressBound(input.count), file: file, line: line)
    let decoded = try lz4xDecode(block, size: input.count, file: file, line: line)
    XCTAssert(decoded == input, "round trip mismatch for \(input.count) bytes", file: file, line: line)
    lz4xAssertEndRules(block, size: input.count, file: file, line: line)
    return block
}

/// The LZ4 end-of-block rules: the last 5 bytes are literals, the last match starts at least
/// 12 bytes before the end, and blocks under 13 bytes are all literals.
func lz4xAssertEndRules(_ block: [UInt8], size: Int, file: StaticString = #filePath, line: UInt = #line) {
    let seqs = lz4xSequences(block)
    XCTAssertEqual(seqs.last?.offset, 0, "last sequence must be literals only", file: file, line: line)
    var pos = 0
    for s in seqs.dropLast() {
        pos += s.literalLength
        XCTAssertLessThanOrEqual(pos, size - LZ4X.matchStartMargin, "match starts too late", file: file, line: line)
        pos += s.matchLength
    }
    if size > 0 {
        XCTAssertGreaterThanOrEqual(seqs.last?.literalLength ?? 0, min(size, LZ4X.lastLiterals),
                                    file: file, line: line)
    }
    if size < 13 { XCTAssertEqual(seqs.count, 1, file: file, line: line) }
}
