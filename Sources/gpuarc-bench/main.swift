import Archive
import Foundation

// gpuarc-bench: single-core codec figures for `make bench` (not a test).
//   gpuarc-bench codec ARCHIVE.001   re-encode and decode every frame's bytes on one core
//   gpuarc-bench file PATH           the same on one file cut into 16 MiB frames

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

/// Encodes then decodes each frame once (best of 3 runs), on the calling thread.
func measure(frames: [[UInt8]]) {
    let encoder = LZ4XEncoder()
    var total = 0, compressed = 0
    var encodeTime = Double.infinity, decodeTime = Double.infinity
    var encoded: [[UInt8]] = []
    for _ in 0..<3 {
        encoded = []
        compressed = 0; total = 0
        let t = seconds {
            for frame in frames {
                var out = [UInt8](repeating: 0, count: LZ4X.compressBound(frame.count))
                let n = frame.withUnsafeBytes { input in
                    out.withUnsafeMutableBytes { encoder.compress(input, into: $0) }
                } ?? frame.count
                encoded.append(n == frame.count ? [] : Array(out[0..<n]))
                total += frame.count
                compressed += n
            }
        }
        encodeTime = min(encodeTime, t)
    }
    var scratch = [UInt8](repeating: 0, count: frames.map(\.count).max() ?? 0)
    for _ in 0..<3 {
        let t = seconds {
            for (frame, block) in zip(frames, encoded) where !block.isEmpty {
                block.withUnsafeBytes { src in
                    scratch.withUnsafeMutableBytes { dst in
                        try! LZ4XDecoder.decode(src, into: UnsafeMutableRawBufferPointer(rebasing: dst[0..<frame.count]))
                    }
                }
            }
        }
        decodeTime = min(decodeTime, t)
    }
    let decodedBytes = zip(frames, encoded).reduce(0) { $0 + ($1.1.isEmpty ? 0 : $1.0.count) }
    print(String(format: "  %d frames, %.1f MB -> %.1f MB (ratio %.2f)", frames.count, Double(total) / 1e6,
                 Double(compressed) / 1e6, Double(total) / Double(max(compressed, 1))))
    print(String(format: "  encode %.1f MB/s, decode %.0f MB/s (one core)", Double(total) / 1e6 / encodeTime,
                 Double(decodedBytes) / 1e6 / decodeTime))
}

let args = CommandLine.arguments
guard args.count == 3 else {
    FileHandle.standardError.write(Data("usage: gpuarc-bench codec ARCHIVE.001 | gpuarc-bench file PATH\n".utf8))
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
    measure(frames: frames)
} catch {
    FileHandle.standardError.write(Data("gpuarc-bench: \(error)\n".utf8))
    exit(1)
}
