// Kernel throughput of the OpenCL path: compress, decode and FNV-1a hash on
// frames of source-tree text, timed with OpenCL event profiling (transfers
// apart), next to the single-threaded CPU codec that `auto` competes with.
//
//   gpuarc-clbench [--list-devices] [--frames N] [--frame-size BYTES] [--device LIST] [--source DIR]
//                  [--hash-bits B] [--top-k K] [--max-steps S] [--sub-block BYTES] [--segment BYTES]
import Archive
import Foundation

struct Options {
    var frames = 2
    var frameSize = 16 << 20
    var device: String?
    var source = "/usr/include"
    var compressor = GPULZ4XCompressorOptions.default
    var listOnly = false
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("gpuarc-clbench: \(message)\n".utf8))
    exit(1)
}

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    while let arg = args.popFirst() {
        func int() -> Int {
            guard let text = args.popFirst(), let v = Int(text) else { fail("\(arg) needs a number") }
            return v
        }
        switch arg {
        case "--list-devices": o.listOnly = true
        case "--frames": o.frames = int()
        case "--frame-size": o.frameSize = int()
        case "--device": o.device = args.popFirst()
        case "--source": o.source = args.popFirst() ?? o.source
        case "--hash-bits": o.compressor.hashBits = int()
        case "--top-k": o.compressor.topK = int()
        case "--max-steps": o.compressor.maxSteps = int()
        case "--sub-block": o.compressor.subBlockSize = int()
        case "--segment": o.compressor.segmentSize = int()
        default:
            fail("unknown option \(arg)\nusage: gpuarc-clbench [--list-devices] [--frames N] [--frame-size BYTES]"
                 + " [--device LIST] [--source DIR]\n       [--hash-bits B] [--top-k K] [--max-steps S]"
                 + " [--sub-block BYTES] [--segment BYTES]")
        }
    }
    return o
}

/// Regular files under `dir` in path order, until `limit` bytes.
func sourceFiles(_ dir: String, limit: Int) -> [[UInt8]] {
    guard let walker = FileManager.default.enumerator(atPath: dir) else { fail("cannot read \(dir)") }
    var files: [[UInt8]] = []
    var total = 0
    for path in (walker.allObjects as? [String] ?? []).sorted() where total < limit {
        let full = (dir as NSString).appendingPathComponent(path)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue,
              let data = FileManager.default.contents(atPath: full) else { continue }
        files.append([UInt8](data))
        total += data.count
    }
    return files
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

func rate(_ bytes: Int, _ seconds: Double) -> String {
    seconds > 0 ? String(format: "%.3f GB/s", Double(bytes) / seconds / 1e9) : "n/a"
}

func report(_ what: String, bytes: Int, _ t: OpenCLTimings, wall: Double) {
    let kernel = Double(t.kernelNanoseconds) / 1e9
    print("  \(what): kernels \(rate(bytes, kernel)) (\(String(format: "%.3f", kernel)) s)"
          + ", upload \(String(format: "%.3f", Double(t.uploadNanoseconds) / 1e9)) s"
          + ", download \(String(format: "%.3f", Double(t.downloadNanoseconds) / 1e9)) s"
          + ", wall incl. transfers \(rate(bytes, wall))")
    if t.perKernelNanoseconds.count > 1 {
        for (name, ns) in t.perKernelNanoseconds.sorted(by: { $0.value > $1.value }) {
            print("      \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(String(format: "%.3f", Double(ns) / 1e9)) s")
        }
    }
}

/// CPU encoding of one frame (the block, sized to fit).
func cpuCompressed(_ frame: [UInt8], _ encoder: LZ4XEncoder) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: LZ4X.compressBound(frame.count))
    let n = frame.withUnsafeBytes { i in out.withUnsafeMutableBytes { encoder.compress(i, into: $0) } }
    return Array(out.prefix(n ?? 0))
}

/// CPU decoding; nil when the block is not valid for `size` bytes.
func cpuDecoded(_ block: [UInt8], size: Int) -> [UInt8]? {
    var out = [UInt8](repeating: 0, count: size)
    do {
        try block.withUnsafeBytes { i in try out.withUnsafeMutableBytes { try LZ4XDecoder.decode(i, into: $0) } }
    } catch { return nil }
    return out
}

func benchDevice(_ device: OpenCLDevice, _ o: Options, frames: [[UInt8]], files: [[UInt8]],
                 cpuBlocks: [[UInt8]], cpuHashes: [UInt64]) throws {
    let total = frames.reduce(0) { $0 + $1.count }
    let cpuSize = cpuBlocks.reduce(0) { $0 + $1.count }
    print("device \(device.index): \(device), \(device.computeUnits) compute units, \(device.globalMemory >> 20) MiB")

    // Kernel times come from one frame per call, so no two batches share
    // the device; wall time from one call for all frames, where the two
    // queues overlap transfers and compute.
    let compressor = try GPULZ4XCompressor(device: device, options: o.compressor)
    _ = try compressor.compress([Array(frames[0].prefix(1 << 16))])   // builds the kernels
    compressor.timings = OpenCLTimings()
    for frame in frames { _ = try compressor.compress([frame]) }
    let compressTimes = compressor.timings
    var blocks: [[UInt8]?] = []
    let compressWall = try seconds { blocks = try compressor.compress(frames) }
    let gpuSize = blocks.reduce(0) { $0 + ($1?.count ?? 0) }
    print("  compress: ratio \(String(format: "%.4f", Double(gpuSize) / Double(total)))"
          + " (\(String(format: "%+.2f", (Double(gpuSize) / Double(cpuSize) - 1) * 100))% size vs CPU),"
          + " \(compressor.batchSize(forFramesOf: o.frameSize)) frame(s) per launch,"
          + " \(GPULZ4XCompressor.deviceBytes(perFrameOf: o.frameSize, o.compressor) >> 20) MiB device memory per frame")
    report("compress", bytes: total, compressTimes, wall: compressWall)
    for (block, frame) in zip(blocks, frames) where block.flatMap({ cpuDecoded($0, size: frame.count) }) != frame {
        fail("a GPU block does not decode to its frame with the CPU decoder")
    }

    let decoder = try GPULZ4XDecoder(device: device)
    _ = try decoder.decode([cpuBlocks[0]], decodedSizes: [frames[0].count])
    decoder.timings = OpenCLTimings()
    for (block, frame) in zip(cpuBlocks, frames) { _ = try decoder.decode([block], decodedSizes: [frame.count]) }
    let decodeTimes = decoder.timings
    var decoded: [Result<[UInt8], GPUDecodeError>] = []
    let decodeWall = try seconds { decoded = try decoder.decode(cpuBlocks, decodedSizes: frames.map(\.count)) }
    report("decode", bytes: total, decodeTimes, wall: decodeWall)
    for (result, frame) in zip(decoded, frames) where (try? result.get()) != frame {
        fail("the GPU decoder does not reproduce a frame from its CPU-encoded block")
    }

    let hasher = try GPUFNVHasher(devices: [device])
    _ = try hasher.hash([files[0]])
    hasher.timings = OpenCLTimings()
    let quarter = max(1, files.count / 4)
    for start in stride(from: 0, to: files.count, by: quarter) {
        _ = try hasher.hash(Array(files[start..<min(start + quarter, files.count)]))
    }
    let hashTimes = hasher.timings
    var hashes: [UInt64] = []
    let hashWall = try seconds { hashes = try hasher.hash(files) }
    report("fnv1a", bytes: files.reduce(0) { $0 + $1.count }, hashTimes, wall: hashWall)
    if hashes != cpuHashes { fail("GPU FNV-1a differs from the CPU") }
}

let o = parseOptions()
let devices: [OpenCLDevice]
do { devices = try OpenCLRuntime.shared().select(o.device) } catch { fail("\(error)") }
if o.listOnly {
    for device in devices { print("\(device.index): \(device)") }
    exit(0)
}

let files = sourceFiles(o.source, limit: o.frames * o.frameSize)
let text = files.flatMap { $0 }
guard !text.isEmpty else { fail("no data under \(o.source)") }
let frames = stride(from: 0, to: text.count, by: o.frameSize).prefix(o.frames).map {
    Array(text[$0..<min($0 + o.frameSize, text.count)])
}
let total = frames.reduce(0) { $0 + $1.count }
print("data: \(frames.count) frame(s), \(total) bytes of \(o.source); \(files.count) files to hash")
print("date: \(ISO8601DateFormatter().string(from: Date()))")

let encoder = LZ4XEncoder()
var cpuBlocks: [[UInt8]] = []
let cpuCompress = seconds { cpuBlocks = frames.map { cpuCompressed($0, encoder) } }
let cpuSize = cpuBlocks.reduce(0) { $0 + $1.count }
let cpuDecode = seconds {
    for (block, frame) in zip(cpuBlocks, frames) where cpuDecoded(block, size: frame.count) == nil { fail("CPU codec round trip failed") }
}
var cpuHashes: [UInt64] = []
let cpuHash = seconds { cpuHashes = files.map(FNV1a64.hash) }
print("CPU (1 thread): compress \(rate(total, cpuCompress)), ratio \(String(format: "%.4f", Double(cpuSize) / Double(total)))"
      + ", decode \(rate(total, cpuDecode)), fnv1a \(rate(total, cpuHash))")

for device in devices {
    do {
        try benchDevice(device, o, frames: frames, files: files, cpuBlocks: cpuBlocks, cpuHashes: cpuHashes)
    } catch {
        fail("\(device.name): \(error)")
    }
}
