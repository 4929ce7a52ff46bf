@testable import Archive
@testable import ArchiveWriter
import XCTest

/// Pins the encoder's exact output: archives built before and after an encoder change must not
/// differ unless the change means to (the OpenCL per-frame kernel must also stay byte-identical
/// to it). Speed work on the encoder must leave these digests alone; a change that alters the
/// output on purpose updates them, and says so.
final class LZ4XEncoderPinTests: XCTestCase {
    private static let words = ["static", "const", "return", "the", "struct", "int", "void", "if", "(",
                                ")", "{", "}", ";", "\n", "    ", "uint32_t", "buffer", "length",
                                "offset", "match", "#define", "frame", "=", "+", "0x", "1", "16"]

    /// Source-like text: word salad with pasted earlier stretches (near and far, short and
    /// long), runs, and random bytes, so every encoder path (skips, lazy steps, backward
    /// extension, long-match edge inserts, the short table) is taken.
    private static func text(_ n: Int, seed: UInt64) -> [UInt8] {
        var rng = XorShift64(seed: seed)
        var out: [UInt8] = []
        out.reserveCapacity(n + 70_000)
        while out.count < n {
            switch rng.below(20) {
            case 0 where out.count > 100:
                let len = 8 + rng.below(rng.below(4) == 0 ? 3000 : 60)
                let from = out.count - 1 - rng.below(min(out.count - 1, rng.below(2) == 0 ? 2000 : 1 << 20))
                for i in 0..<len { out.append(out[from + i % (out.count - from)]) }
            case 1: out.append(contentsOf: [UInt8](repeating: UInt8(truncatingIfNeeded: rng.next()), count: rng.below(300)))
            case 2: out.append(contentsOf: rng.bytes(rng.below(40)))
            default:
                out.append(contentsOf: words[rng.below(words.count)].utf8)
                out.append(rng.below(5) == 0 ? UInt8(ascii: "\n") : UInt8(ascii: " "))
            }
        }
        return Array(out[0..<n])
    }

    /// XXH64 over the sizes and bytes of every pinned case under one option set.
    private func digest(_ options: LZ4XEncoderOptions) -> UInt64 {
        let encoder = LZ4XEncoder(options: options)  // reused, as the builder does
        var all: [UInt8] = []
        func add(_ input: [UInt8], prefix: Int = 0, capacity: Int? = nil) {
            let block = lz4xEncode(input, prefixLength: prefix, capacity: capacity, encoder: encoder)
            let size = block.map { UInt32($0.count) } ?? UInt32.max
            withUnsafeBytes(of: size.littleEndian) { all.append(contentsOf: $0) }
            all.append(contentsOf: block ?? [])
        }
        let big = Self.text(3 << 20, seed: 1)
        add(big)
        add(Array(big[5000..<(5000 + (1 << 20))]))
        var rng = XorShift64(seed: 2)
        add(rng.bytes(100_000))
        add([UInt8](repeating: 0x41, count: 70_000))
        for n in 0...40 { add(Array(big[1000..<(1000 + n)])) }
        // Delta chunks: an 8 KiB base, then an edited copy, encoded with the base as prefix and
        // refused (nil) when it does not shrink, as LZ4XDeltaCoder does.
        for i in 0..<40 {
            let o = rng.below(big.count - 8192)
            let base = i % 10 == 9 ? rng.bytes(8192) : Array(big[o..<(o + 8192)])
            var target = base
            for _ in 0..<(1 + rng.below(20)) {
                let at = rng.below(target.count)
                if rng.below(2) == 0 {
                    target.insert(contentsOf: rng.bytes(1 + rng.below(16)), at: at)
                } else {
                    target.removeSubrange(at..<min(target.count, at + 1 + rng.below(16)))
                }
            }
            add(base + target, prefix: base.count, capacity: target.count)
        }
        add(Array(big[0..<30]), prefix: 17)
        add(Array(big[0..<100]), prefix: 100)
        return XXHash64.hash(all)
    }

    private func assertPinned(_ options: LZ4XEncoderOptions, _ expected: UInt64,
                              file: StaticString = #filePath, line: UInt = #line) {
        let got = digest(options)
        XCTAssertEqual(got, expected, "encoder output changed: digest is 0x\(String(got, radix: 16))",
                       file: file, line: line)
    }

    /// The pinned inputs come from XorShift64: pin the generator too, so a
    /// change to it reads as such and not as an encoder change.
    func testInputGeneratorIsPinned() {
        var rng = XorShift64(seed: 2)
        XCTAssertEqual((0..<3).map { _ in rng.next() }, [13274060131603364635, 15844116986245010605, 8004331454830273604])
        XCTAssertEqual(rng.bytes(4), [140, 245, 146, 199])
    }

    func testDefaultOptions() { assertPinned(.default, 0xd42b75d603d92820) }
    func testEstimateOptions() { assertPinned(LZ4XEncoderOptions(candidates: 1, niceLength: 32, lazy: false), 0x380e2fbd54690f7) }
    func testWideBuckets() { assertPinned(LZ4XEncoderOptions(candidates: 16, niceLength: 64, lazy: true), 0xda83b03299108150) }
    func testOddBuckets() { assertPinned(LZ4XEncoderOptions(candidates: 3, niceLength: 300, lazy: false), 0x204a8c5f68a25da0) }
    /// The builder's delta coder: every second base position, 2^12-bucket tables.
    func testSmallTables() { assertPinned(LZ4XEncoderOptions(prefixStep: 2, hashLog: 12, shortHashLog: 12), 0x76670c59069be883) }
    func testWidestBuckets() { assertPinned(LZ4XEncoderOptions(candidates: 64, niceLength: 1000, lazy: true), 0x77a612e6b34f5e0a) }
}
