import Archive
import ArchiveWriter
import Foundation

// gpuarc-bench: single-core codec figures for `make bench` (not a test).
//   gpuarc-bench codec ARCHIVE.001   re-encode and decode every frame's bytes on one core
//   gpuarc-bench file PATH           the same on one file cut into 16 MiB frames
//   gpuarc-bench levels ARCHIVE.001 [lz4x|zstd] [LEVEL...]  ratio, encode and decode speed of
//                                    every --level of the codec (default lz4x; or of those named)
//                                    on the archive's frames, through the codec seam
//   gpuarc-bench delta PATH [default|delta|delta-big-tables|estimate]  LZ4X delta encodes (8 KiB base
//                                    + edited 8 KiB target) cut from PATH: frame encoder options, the
//                                    builder's delta coder (base entered every 2nd position, 2^12-bucket
//                                    tables), the same on frame-size tables, the filter's estimate options
//   gpuarc-bench digest DIR          XXH64 of the encoder's output for every file in DIR and
//                                    generated edge cases under many option sets (a reference
//                                    to diff before and after an encoder change)

/// CPU time of the calling thread: on a machine shared with other jobs, time
/// spent descheduled does not count against the codec.
func seconds(_ body: () throws -> Void) rethrows -> Double {
    func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
    let start = now()
    try body()
    return now() - start
}

/// Encodes then decodes each frame once (best of 3 runs), on the calling
/// thread, with any codec through the codec seam (`FrameDecoders` decodes
/// what `encoder` wrote); a frame that does not shrink counts as RAW.
/// GPUARC_BENCH_HUGE=1: the encoder reads frames from memory marked for transparent huge pages.
func measure(frames: [[UInt8]], encoder: CodecEncoder) {
    let decoder = FrameDecoders().decoder(for: encoder.codec)
    let huge = ProcessInfo.processInfo.environment["GPUARC_BENCH_HUGE"] == "1"
    let hugeBuffer = UnsafeMutableRawPointer.allocate(byteCount: huge ? 32 << 20 : 1, alignment: 2 << 20)
    if huge { _ = madvise(hugeBuffer, 32 << 20, Int32(MADV_HUGEPAGE)) }
    var encoded: [[UInt8]] = []
    var encodeTime = Double.infinity, decodeTime = Double.infinity
    for _ in 0..<3 {
        encoded = []
        encodeTime = min(encodeTime, seconds {
            for frame in frames {
                var out = [UInt8](repeating: 0, count: frame.count)
                let n = frame.withUnsafeBytes { input in
                    out.withUnsafeMutableBytes { o in
                        guard huge else { return encoder.compress(input, into: o) }
                        hugeBuffer.copyMemory(from: input.baseAddress!, byteCount: input.count)
                        return encoder.compress(UnsafeRawBufferPointer(start: hugeBuffer, count: input.count), into: o)
                    }
                }
                encoded.append(n.map { Array(out[0..<$0]) } ?? [])
            }
        })
    }
    var scratch = [UInt8](repeating: 0, count: frames.map(\.count).max() ?? 0)
    for _ in 0..<3 {
        decodeTime = min(decodeTime, seconds {
            for (frame, block) in zip(frames, encoded) where !block.isEmpty {
                block.withUnsafeBytes { src in
                    scratch.withUnsafeMutableBytes { try! decoder.decode(src, into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<frame.count])) }
                }
            }
        })
    }
    let total = frames.reduce(0) { $0 + $1.count }
    let stored = zip(frames, encoded).reduce(0) { $0 + ($1.1.isEmpty ? $1.0.count : $1.1.count) }
    let decodedBytes = zip(frames, encoded).reduce(0) { $0 + ($1.1.isEmpty ? 0 : $1.0.count) }
    print(String(format: "  %d frames, %.1f MB -> %.1f MB (ratio %.2f)", frames.count, Double(total) / 1e6,
                 Double(stored) / 1e6, Double(total) / Double(max(stored, 1))))
    print(String(format: "  encode %.1f MB/s, decode %.0f MB/s (one core)", Double(total) / 1e6 / encodeTime,
                 Double(decodedBytes) / 1e6 / decodeTime))
}

/// An 8 KiB target made from `base` by a few small edits (replace, insert, delete), as a
/// changed file's chunk against its previous version.
func editedTarget(_ base: [UInt8], rng: inout XorShift64) -> [UInt8] {
    var t = base
    for _ in 0..<(1 + rng.below(24)) {
        let at = rng.below(t.count)
        let len = 1 + rng.below(20)
        switch rng.below(3) {
        case 0: for i in at..<min(t.count, at + len) { t[i] = UInt8(truncatingIfNeeded: rng.next()) }
        case 1: t.insert(contentsOf: rng.bytes(len), at: at)
        default: t.removeSubrange(at..<min(t.count, at + len))
        }
    }
    if t.count > base.count { t.removeLast(t.count - base.count) }
    return t
}

/// (base, target) pairs of 8 KiB windows of `data`.
func deltaPairs(_ data: [UInt8], count: Int) -> [([UInt8], [UInt8])] {
    var rng = XorShift64(seed: 11)
    return (0..<count).map { _ in
        let o = rng.below(max(1, data.count - 8192))
        let base = Array(data[o..<min(data.count, o + 8192)])
        return (base, editedTarget(base, rng: &rng))
    }
}

func deltaBench(_ data: [UInt8], only: String?) {
    let pairs = deltaPairs(data, count: 4000)
    let inputs = pairs.map { $0.0 + $0.1 }
    let targetBytes = pairs.reduce(0) { $0 + $1.1.count }
    for (name, options) in [("default", LZ4XEncoderOptions.default),
                            // The builder's delta coder (ContentPacker.deltaEncoder), then on frame-size tables.
                            ("delta", LZ4XEncoderOptions(prefixStep: 2, hashLog: 12, shortHashLog: 12)),
                            ("delta-big-tables", LZ4XEncoderOptions(prefixStep: 2)),
                            ("estimate", LZ4XEncoderOptions(candidates: 1, niceLength: 32, lazy: false, hashLog: 12, shortHashLog: 12))]
    where only == nil || only == name {
        let encoder = LZ4XEncoder(options: options)
        var out = [UInt8](repeating: 0, count: 16384)
        var best = Double.infinity, compressed = 0
        for _ in 0..<5 {
            compressed = 0
            let t = seconds {
                for (input, pair) in zip(inputs, pairs) {
                    let n = input.withUnsafeBytes { all in
                        out.withUnsafeMutableBytes { o in
                            encoder.compress(all, prefixLength: pair.0.count,
                                             into: UnsafeMutableRawBufferPointer(rebasing: o[..<pair.1.count]))
                        }
                    }
                    compressed += n ?? pair.1.count
                }
            }
            best = min(best, t)
        }
        print(String(format: "  delta %@: %d calls, %.1f MB targets -> %.2f MB; %.1f MB/s of target, %.2f us/call (best of 5, one core)",
                     name, pairs.count, Double(targetBytes) / 1e6, Double(compressed) / 1e6,
                     Double(targetBytes) / 1e6 / best, best / Double(pairs.count) * 1e6))
    }
}

/// One line per (case, option set): output size (or nil) and XXH64 of the output.
func digest(dir: String) throws {
    let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
    var cases: [(name: String, input: [UInt8], prefix: Int, capacity: Int)] = []
    var text: [UInt8] = []
    for name in names {
        let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/" + name)))
        if text.isEmpty && name.hasPrefix("t1") { text = data }
        cases.append((name, data, 0, LZ4X.compressBound(data.count)))
    }
    if text.isEmpty { text = Array((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7 % 61 + 32) }) }
    var rng = XorShift64(seed: 5)
    let random = rng.bytes(4096)
    for n in 0...100 {
        cases.append(("text\(n)", Array(text[1000..<(1000 + n)]), 0, LZ4X.compressBound(n)))
        cases.append(("rand\(n)", Array(random[0..<n]), 0, LZ4X.compressBound(n)))
        cases.append(("zero\(n)", [UInt8](repeating: 0, count: n), 0, LZ4X.compressBound(n)))
        cases.append(("tight\(n)", Array(text[3000..<(3000 + n)]), 0, n / 2))
    }
    for b in stride(from: 0, through: 40, by: 3) {
        for t in stride(from: 0, through: 40, by: 2) {
            let input = Array(text[500..<(500 + b)]) + Array(text[520..<(520 + t)])
            cases.append(("pfx\(b)+\(t)", input, b, LZ4X.compressBound(t)))
            cases.append(("pfxcap\(b)+\(t)", input, b, t))
        }
    }
    for (i, (base, target)) in deltaPairs(text, count: 300).enumerated() {
        cases.append(("delta\(i)", base + target, base.count, target.count))
        if i % 10 == 0 { cases.append(("deltabound\(i)", base + target, base.count, LZ4X.compressBound(target.count))) }
    }
    for (i, (base, target)) in deltaPairs(random, count: 20).enumerated() {
        cases.append(("rdelta\(i)", base + target, base.count, target.count))
    }
    let optionSets: [(Int, Int, Bool)] = [(8, 128, true), (1, 32, false), (1, 128, true), (2, 16, true), (3, 64, false),
                                          (4, 5, true), (7, 300, true), (16, 128, true), (33, 1000, false),
                                          (64, 65536, true), (0, 0, true), (100, 4, false)]
    var all: [UInt64] = []
    for (c, nice, lazy) in optionSets {
        let encoder = LZ4XEncoder(options: LZ4XEncoderOptions(candidates: c, niceLength: nice, lazy: lazy))
        for k in cases {
            var out = [UInt8](repeating: 0, count: k.capacity)
            let n = k.input.withUnsafeBytes { input in
                out.withUnsafeMutableBytes { encoder.compress(input, prefixLength: k.prefix, into: $0) }
            }
            let h = n.map { XXHash64.hash(Array(out[0..<$0])) } ?? 0
            all.append(h ^ UInt64(n ?? 0xFFFF_FFFF))
            print("\(k.name) c\(c) n\(nice) l\(lazy ? 1 : 0): \(n.map { "\($0) \(String(h, radix: 16))" } ?? "nil")")
        }
    }
    print("all: \(String(XXHash64.hash(all.withUnsafeBytes { Array($0) }), radix: 16))")
}

let args = CommandLine.arguments
guard args.count == 3 || (args.count == 4 && args[1] == "delta") || (args.count > 3 && args[1] == "levels") else {
    FileHandle.standardError.write(Data("usage: gpuarc-bench codec ARCHIVE.001 | file PATH | levels ARCHIVE.001 [lz4x|zstd] [LEVEL...] | delta PATH [default|delta|delta-big-tables|estimate] | digest DIR\n".utf8))
    exit(2)
}
do {
    var frames: [[UInt8]] = []
    switch args[1] {
    case "codec":
        let reader = try ArchiveReader(path: args[2])
        for f in reader.index.frames.indices {
            frames.append(try reader.withDecodedFrame(f) { decoded, _ in Array(decoded) })
        }
    case "delta":
        deltaBench([UInt8](try Data(contentsOf: URL(fileURLWithPath: args[2]))), only: args.count == 4 ? args[3] : nil)
        exit(0)
    case "levels":
        let reader = try ArchiveReader(path: args[2])
        for f in reader.index.frames.indices {
            frames.append(try reader.withDecodedFrame(f) { decoded, _ in Array(decoded) })
        }
        var rest = Array(args.dropFirst(3))
        let codec: FrameCodec = rest.first == "zstd" ? .zstd : .lz4x
        if rest.first == "zstd" || rest.first == "lz4x" { rest.removeFirst() }
        let only = rest.compactMap { FrameEncoding.parseLevel($0, codec: codec) }
        for level in FrameEncoding.levels(of: codec) where only.isEmpty || only.contains(level) {
            print("level \(level):")
            measure(frames: frames, encoder: FrameEncoding(codec: codec, level: level).makeEncoder())
        }
        exit(0)
    case "digest":
        try digest(dir: args[2])
        exit(0)
    case "file":
        let data = try Data(contentsOf: URL(fileURLWithPath: args[2]))
        var offset = 0
        while offset < data.count {
            let end = min(data.count, offset + FormatLimits.defaultFrameSize)
            frames.append(Array(data[offset..<end]))
            offset = end
        }
    default:
        FileHandle.standardError.write(Data("unknown mode \(args[1])\n".utf8))
        exit(2)
    }
    measure(frames: frames, encoder: LZ4XCodecEncoder(options: .default))
} catch {
    FileHandle.standardError.write(Data("gpuarc-bench: \(error)\n".utf8))
    exit(1)
}
