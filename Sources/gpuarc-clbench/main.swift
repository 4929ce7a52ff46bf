// Kernel throughput of the OpenCL path: compress, decode and FNV-1a hash on
// frames of source-tree text, timed with OpenCL event profiling (transfers
// apart) and as wall time including transfers, next to the single-threaded
// CPU codec that `auto` competes with. CPU and OpenCL runs alternate
// (--runs times) so a varying machine load hits both alike; the summary
// gives each figure's range over the runs and the ratio kernel / CPU. A
// decode or hash pass takes milliseconds, so a run counts the best of 5.
//
//   gpuarc-clbench [--list-devices] [--frames N] [--frame-size BYTES] [--device LIST] [--source DIR]
//                  [--runs N] [--only compress,decode,fnv1a] [--variant fine-grained|per-frame]
//                  [--hash-bits B] [--top-k K] [--max-steps S] [--sub-block BYTES] [--segment BYTES]
//
// Per core: run a CPU driver on one core, e.g. PoCL with POCL_MAX_PTHREAD_COUNT=1
// (the compute-unit count is printed), against the CPU codec's one thread.
import Archive
import Foundation

struct Options {
    var frames = 2
    var frameSize = 16 << 20
    var device: String?
    var source = "/usr/include"
    var compressor = GPULZ4XCompressorOptions.default
    var variant: GPULZ4XCompressor.Variant?
    var runs = 3
    var jobs: Set<String> = ["compress", "decode", "fnv1a"]
    var listOnly = false
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("gpuarc-clbench: \(message)\n".utf8))
    exit(1)
}

let usage = "usage: gpuarc-clbench [--list-devices] [--frames N] [--frame-size BYTES] [--device LIST] [--source DIR]\n"
    + "       [--runs N] [--only compress,decode,fnv1a] [--variant fine-grained|per-frame]\n"
    + "       [--hash-bits B] [--top-k K] [--max-steps S] [--sub-block BYTES] [--segment BYTES]"

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
        case "--frames": o.frames = max(1, int())
        case "--frame-size": o.frameSize = max(1, int())
        case "--device": o.device = args.popFirst()
        case "--source": o.source = args.popFirst() ?? o.source
        case "--runs": o.runs = max(1, int())
        case "--only":
            o.jobs = Set((args.popFirst() ?? "").split(separator: ",").map(String.init))
            if o.jobs.isEmpty || !o.jobs.isSubset(of: ["compress", "decode", "fnv1a"]) { fail("--only takes compress,decode,fnv1a") }
        case "--variant":
            guard let v = args.popFirst().flatMap(GPULZ4XCompressor.Variant.init(rawValue:)) else {
                fail("--variant takes fine-grained or per-frame")
            }
            o.variant = v
        case "--hash-bits": o.compressor.hashBits = int()
        case "--top-k": o.compressor.topK = int()
        case "--max-steps": o.compressor.maxSteps = int()
        case "--sub-block": o.compressor.subBlockSize = int()
        case "--segment": o.compressor.segmentSize = int()
        default: fail("unknown option \(arg)\n\(usage)")
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
    return max(1e-9, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

/// Stable buffers for the pointer APIs (the array forms copy, which would
/// be timed too).
final class Buffers {
    let inputs: [UnsafeRawBufferPointer]
    let outputs: [UnsafeMutableRawBufferPointer]
    init(_ arrays: [[UInt8]], outputSizes: [Int]) {
        inputs = arrays.map { array in
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(array.count, 1), alignment: 64)
            array.withUnsafeBytes { copy.copyMemory(from: $0) }
            return UnsafeRawBufferPointer(rebasing: copy[..<array.count])
        }
        outputs = outputSizes.map { size in
            let out = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
            out.initializeMemory(as: UInt8.self, repeating: 0)
            return UnsafeMutableRawBufferPointer(rebasing: out[..<size])
        }
    }
    deinit {
        inputs.forEach { UnsafeMutableRawBufferPointer(mutating: $0).deallocate() }
        outputs.forEach { $0.deallocate() }
    }
    func output(_ i: Int, _ count: Int) -> [UInt8] { Array(outputs[i].prefix(count)) }
}

/// One job's figures per run, in bytes per second.
struct Figures {
    var kernel: [Double] = [], wall: [Double] = [], cpu: [Double] = []
    var note = ""

    static func range(_ v: [Double]) -> String {
        guard let lo = v.min(), let hi = v.max() else { return "n/a" }
        return abs(hi - lo) < 0.0005e9 ? String(format: "%.3f", lo / 1e9) : String(format: "%.3f–%.3f", lo / 1e9, hi / 1e9)
    }

    /// kernel / CPU of each run (the two were measured back to back).
    var ratios: String {
        let r = zip(kernel, cpu).map { $0 / $1 }
        guard let lo = r.min(), let hi = r.max() else { return "n/a" }
        return abs(hi - lo) < 0.005 ? String(format: "%.2f", lo) : String(format: "%.2f–%.2f", lo, hi)
    }
}

/// Decode and hash passes per run, of which each side's best counts.
let shortJobRepeats = 5

func kernelSeconds(_ t: OpenCLTimings) -> Double { max(1e-9, Double(t.kernelNanoseconds) / 1e9) }

func breakdown(_ t: OpenCLTimings) -> String {
    t.perKernelNanoseconds.sorted { $0.value > $1.value }
        .map { "\($0.key) \(String(format: "%.3f", Double($0.value) / 1e9)) s" }.joined(separator: ", ")
        + String(format: "; upload %.3f s, download %.3f s", Double(t.uploadNanoseconds) / 1e9, Double(t.downloadNanoseconds) / 1e9)
}

func benchDevice(_ device: OpenCLDevice, _ o: Options, frames: [[UInt8]], files: [[UInt8]]) throws {
    let total = frames.reduce(0) { $0 + $1.count }
    let hashBytes = files.reduce(0) { $0 + $1.count }
    print("device \(device.index): \(device), \(device.computeUnits) compute unit(s), \(device.globalMemory >> 20) MiB")
    let bound = frames.map { LZ4X.compressBound($0.count) }
    let encoder = LZ4XEncoder()
    var results: [(String, Figures)] = []

    // CPU blocks: the decode benchmark's input and the compress ratio's reference.
    let plain = Buffers(frames, outputSizes: bound)
    let cpuSizes = zip(plain.inputs, plain.outputs).map { encoder.compress($0, into: $1)! }
    let cpuBlocks = cpuSizes.indices.map { plain.output($0, cpuSizes[$0]) }
    let cpuTotal = cpuSizes.reduce(0, +)

    if o.jobs.contains("compress") {
        let compressor = try GPULZ4XCompressor(device: device, options: o.compressor, variant: o.variant)
        let gpu = Buffers(frames, outputSizes: bound)
        _ = try compressor.compress(gpu.inputs, into: gpu.outputs)   // builds the kernels, sizes both slots' buffers
        var f = Figures()
        var gpuSizes: [Int?] = []
        for run in 0..<o.runs {
            f.cpu.append(Double(total) / seconds { for (i, out) in zip(plain.inputs, plain.outputs) { _ = encoder.compress(i, into: out) } })
            // Kernel time: one frame per call, so no two batches share the device.
            compressor.timings = OpenCLTimings()
            for k in frames.indices { _ = try compressor.compress([gpu.inputs[k]], into: [gpu.outputs[k]]) }
            f.kernel.append(Double(total) / kernelSeconds(compressor.timings))
            if run == 0 { print("  compress kernels, run 1: \(breakdown(compressor.timings))") }
            // Wall: one call for all frames (batches overlap on two queues).
            f.wall.append(Double(total) / (try seconds { gpuSizes = try compressor.compress(gpu.inputs, into: gpu.outputs) }))
        }
        let gpuTotal = gpuSizes.reduce(0) { $0 + ($1 ?? 0) }
        var identical = true
        for k in frames.indices {
            guard let size = gpuSizes[k] else { fail("a frame did not fit its LZ4 bound") }
            let block = gpu.output(k, size)
            if block != cpuBlocks[k] { identical = false }
            var back = [UInt8](repeating: 0, count: frames[k].count)
            do {
                try block.withUnsafeBytes { b in try back.withUnsafeMutableBytes { try LZ4XDecoder.decode(b, into: $0) } }
            } catch { fail("an OpenCL block does not decode with the CPU decoder: \(error)") }
            if back != frames[k] { fail("an OpenCL block decodes to the wrong bytes") }
        }
        f.note = "\(compressor.variant.rawValue), \(compressor.batchSize(forFramesOf: o.frameSize)) frame(s)/launch;"
            + String(format: " ratio %.4f vs CPU %.4f (%+.2f%%)", Double(gpuTotal) / Double(total),
                     Double(cpuTotal) / Double(total), (Double(gpuTotal) / Double(cpuTotal) - 1) * 100)
            + (identical ? ", blocks byte-identical to the CPU encoder's" : "")
        results.append(("compress", f))
    }

    if o.jobs.contains("decode") {
        let decoder = try GPULZ4XDecoder(device: device)
        let blocks = Buffers(cpuBlocks, outputSizes: frames.map(\.count))
        let cpuOut = Buffers([], outputSizes: frames.map(\.count))
        _ = try decoder.decode(blocks.inputs, into: blocks.outputs)   // warm-up, as for compress
        var f = Figures()
        for _ in 0..<o.runs {
            // A decode pass takes milliseconds, so one preemption moves it a
            // lot: each run takes the best of `shortJobRepeats` passes a side.
            var cpu = Double.infinity, kernel = Double.infinity, wall = Double.infinity
            for _ in 0..<shortJobRepeats {
                cpu = min(cpu, try seconds {
                    for (b, out) in zip(blocks.inputs, cpuOut.outputs) { try LZ4XDecoder.decode(b, into: out) }
                })
                decoder.timings = OpenCLTimings()
                for k in frames.indices { _ = try decoder.decode([blocks.inputs[k]], into: [blocks.outputs[k]]) }
                kernel = min(kernel, kernelSeconds(decoder.timings))
                var statuses: [GPUDecodeStatus] = []
                wall = min(wall, try seconds { statuses = try decoder.decode(blocks.inputs, into: blocks.outputs) })
                if statuses.contains(where: { $0 != .ok }) { fail("the OpenCL decoder rejects a CPU-encoded frame") }
            }
            f.cpu.append(Double(total) / cpu)
            f.kernel.append(Double(total) / kernel)
            f.wall.append(Double(total) / wall)
        }
        for k in frames.indices where blocks.output(k, frames[k].count) != frames[k] {
            fail("the OpenCL decoder does not reproduce a frame from its CPU-encoded block")
        }
        f.note = "\(decoder.workGroup) lane(s) per frame, CPU-encoded frames"
        results.append(("decode", f))
    }

    if o.jobs.contains("fnv1a") {
        let hasher = try GPUFNVHasher(devices: [device])
        // Dedup hands the hashers its survivors grouped by size (files that
        // passed the size filter have equal-size twins), so neighbours here
        // are of similar size too: both sides hash them side by side.
        let files = files.sorted { $0.count < $1.count }
        let data = Buffers(files, outputSizes: [])
        _ = try hasher.hash(data.inputs)
        let expected = files.map(FNV1a64.hash)
        var f = Figures()
        let quarter = max(1, files.count / 4)
        for _ in 0..<o.runs {
            var cpu = Double.infinity, kernel = Double.infinity, wall = Double.infinity
            for _ in 0..<shortJobRepeats {
                var sink: UInt64 = 0   // used below, so the loop is not optimized away
                // The CPU path's own way (CPUFileHasher): four files side by side.
                cpu = min(cpu, seconds {
                    var k = 0
                    while k < data.inputs.count {
                        let q = (0..<4).map { data.inputs[min(k + $0, data.inputs.count - 1)] }
                        let h = FNV1a64.hash4(q[0], q[1], q[2], q[3])
                        for (l, v) in [h.0, h.1, h.2, h.3].enumerated() where k + l < data.inputs.count { sink ^= v }
                        k += 4
                    }
                })
                if sink != expected.reduce(0, ^) { fail("CPU FNV-1a is not deterministic") }
                hasher.timings = OpenCLTimings()
                for start in stride(from: 0, to: files.count, by: quarter) {
                    _ = try hasher.hash(Array(data.inputs[start..<min(start + quarter, files.count)]))
                }
                kernel = min(kernel, kernelSeconds(hasher.timings))
                var hashes: [UInt64] = []
                wall = min(wall, try seconds { hashes = try hasher.hash(data.inputs) })
                if hashes != expected { fail("OpenCL FNV-1a differs from the CPU") }
            }
            f.cpu.append(Double(hashBytes) / cpu)
            f.kernel.append(Double(hashBytes) / kernel)
            f.wall.append(Double(hashBytes) / wall)
        }
        f.note = "\(files.count) files, by size"
        results.append(("fnv1a", f))
    }

    print("  GB/s over \(o.runs) run(s), CPU and OpenCL alternating (decode, fnv1a: best of \(shortJobRepeats) passes per run);"
          + " kernel / CPU per run:")
    print("  | job | kernels | wall incl. transfers | CPU, 1 thread | kernel / CPU | notes |")
    print("  |---|---|---|---|---|---|")
    for (job, f) in results {
        print("  | \(job) | \(Figures.range(f.kernel)) | \(Figures.range(f.wall)) | \(Figures.range(f.cpu)) | \(f.ratios) | \(f.note) |")
    }
}

let o = parseOptions()
let devices: [OpenCLDevice]
do { devices = try OpenCLRuntime.shared().select(o.device) } catch { fail("\(error)") }
if o.listOnly {
    for device in devices { print("\(device.index): \(device), \(device.computeUnits) compute unit(s)") }
    exit(0)
}

let files = sourceFiles(o.source, limit: o.frames * o.frameSize)
let text = files.flatMap { $0 }
guard !text.isEmpty else { fail("no data under \(o.source)") }
let frames = stride(from: 0, to: text.count, by: o.frameSize).prefix(o.frames).map {
    Array(text[$0..<min($0 + o.frameSize, text.count)])
}
print("data: \(frames.count) frame(s), \(frames.reduce(0) { $0 + $1.count }) bytes of \(o.source); \(files.count) files to hash")
print("date: \(ISO8601DateFormatter().string(from: Date())), load average \(loadAverage())")

for device in devices {
    do {
        try benchDevice(device, o, frames: frames, files: files)
    } catch {
        fail("\(device.name): \(error)")
    }
}
print("load average at the end: \(loadAverage())")
