// Kernel throughput of the OpenCL path: compress, decode and FNV-1a hash on
// frames of source-tree text, timed with OpenCL event profiling (transfers
// apart) and as wall time including transfers, next to the single-threaded
// CPU codec that `auto` competes with (and, with --cpu-threads N, the CPU
// codec on N threads, as the build pipeline runs it). CPU and OpenCL runs
// alternate (--runs times) so a varying machine load hits both alike; the
// summary gives each figure's range over the runs and the ratio kernel / CPU.
// A decode or hash pass takes milliseconds, so a run counts the best of 5.
//
//   gpuarc-clbench [--list-devices] [--frames N] [--frame-size BYTES] [--device LIST]
//                  [--source DIR | --files-from LIST] [--runs N] [--cpu-threads N] [--json PATH]
//                  [--only compress,decode,fnv1a] [--variant fine-grained|per-frame]
//                  [--hash-bits B] [--top-k K] [--max-steps S] [--sub-block BYTES] [--segment BYTES]
//
// Per core: run a CPU driver on one core, e.g. PoCL with POCL_MAX_PTHREAD_COUNT=1
// (the compute-unit count is printed), against the CPU codec's one thread.
// --json writes the same figures for scripts (scripts/gpu-run.sh), rewritten
// after every run of every job so a run cut short still leaves what it measured.
import Archive
import ArchiveWriter
import Foundation

struct Options {
    var frames = 2
    var frameSize = 16 << 20
    var device: String?
    var source = "/usr/include"
    var filesFrom: String?
    var compressor = GPULZ4XCompressorOptions.default
    var variant: GPULZ4XCompressor.Variant?
    var runs = 3
    var cpuThreads = 1
    var jobs: Set<String> = ["compress", "decode", "fnv1a"]
    var listOnly = false
    var json: String?
}

// MARK: - JSON report

/// One job's figures on one device, in GB/s (10^9 bytes per second), one
/// entry per run.
struct JobReport: Codable {
    var job: String
    /// Event time of the kernels with one frame per call (fnv1a: a quarter
    /// of the files per call), summed: the kernels alone, no transfers.
    var kernelGbps: [Double] = []
    /// Event time of the kernels when all frames go in one call (many frames
    /// per launch), summed over its launches. Launches on the two queues may
    /// overlap, so with more than one launch this understates the device.
    var kernelOneCallGbps: [Double] = []
    /// Wall time of that one call, uploads and downloads included.
    var wallGbps: [Double] = []
    var cpuGbps: [Double] = []
    /// The CPU codec on `cpu_threads` threads, frames (files) split between them.
    var cpuThreadsGbps: [Double]?
    /// kernel_gbps / cpu_gbps per run.
    var kernelOverCpu: [Double] = []
    /// Device time of the last one-call pass, by kernel and for the transfers.
    var perKernelSeconds: [String: Double] = [:]
    var uploadSeconds = 0.0, downloadSeconds = 0.0
    var launches: Int?, framesPerLaunch: Int?
    /// Wall time of the first call (all frames), which builds the kernels
    /// and sizes the buffers: on a slow device, the one figure there may be.
    var warmupSeconds: Double?
    /// Runs finished: the report is rewritten after each.
    var runsDone = 0
    /// compress: output / input of the OpenCL and the CPU blocks.
    var ratio: Double?, cpuRatio: Double?
    var blocksIdenticalToCpu: Bool?
    var note = ""
}

struct DeviceReport: Codable {
    /// The number `--device` takes: the position in the runtime's list (GPUs first).
    var index: Int
    var name: String, platform: String, isGPU: Bool
    var computeUnits: Int, globalMemoryMib: UInt64, maxAllocationMib: UInt64, maxWorkGroupSize: Int
    var jobs: [JobReport] = []
    var error: String?

    init(_ d: OpenCLDevice) {
        index = number(of: d); name = d.name; platform = d.platformName; isGPU = d.isGPU
        computeUnits = d.computeUnits; globalMemoryMib = d.globalMemory >> 20
        maxAllocationMib = d.maxAllocation >> 20; maxWorkGroupSize = d.maxWorkGroupSize
    }
}

struct Report: Codable {
    var tool = "gpuarc-clbench"
    var date = ISO8601DateFormatter().string(from: Date())
    var source: String?
    var frames = 0, frameSize = 0, frameBytes = 0, files = 0, hashBytes = 0
    var runs = 0, cpuThreads = 1, shortJobRepeats = 0
    var loadAverageStart = loadAverage(), loadAverageEnd: String?
    var devices: [DeviceReport] = []
    var error: String?
}

/// The number `--device` selects `device` by: its position in the runtime's
/// list, which puts GPUs first (`OpenCLDevice.index` is the enumeration order,
/// which differs from it when a CPU platform comes before a GPU one).
func number(of device: OpenCLDevice) -> Int {
    (try? OpenCLRuntime.shared().devices.firstIndex { $0.id == device.id }).flatMap { $0 } ?? device.index
}

/// The report --json writes; nil without --json.
var report: Report?
var reportPath: String?

func writeReport() {
    guard let report, let reportPath else { return }
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    do {
        try encoder.encode(report).write(to: URL(fileURLWithPath: reportPath), options: .atomic)
    } catch {
        FileHandle.standardError.write(Data("gpuarc-clbench: cannot write \(reportPath): \(error)\n".utf8))
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("gpuarc-clbench: \(message)\n".utf8))
    if report != nil {
        report?.error = message
        writeReport()
    }
    exit(1)
}

let usage = "usage: gpuarc-clbench [--list-devices] [--frames N] [--frame-size BYTES] [--device LIST]\n"
    + "       [--source DIR | --files-from LIST] [--runs N] [--cpu-threads N] [--json PATH]\n"
    + "       [--only compress,decode,fnv1a] [--variant fine-grained|per-frame]\n"
    + "       [--hash-bits B] [--top-k K] [--max-steps S] [--sub-block BYTES] [--segment BYTES]"

func parseOptions() -> Options {
    var o = Options()
    var args = CommandLine.arguments.dropFirst()
    while let arg = args.popFirst() {
        func int() -> Int {
            guard let text = args.popFirst(), let v = Int(text) else { fail("\(arg) needs a number") }
            return v
        }
        func string() -> String {
            guard let text = args.popFirst() else { fail("\(arg) needs a value") }
            return text
        }
        switch arg {
        case "--list-devices": o.listOnly = true
        case "--frames": o.frames = max(1, int())
        case "--frame-size": o.frameSize = max(1, int())
        case "--device": o.device = args.popFirst()
        case "--source": o.source = string()
        case "--files-from": o.filesFrom = string()
        case "--runs": o.runs = max(1, int())
        case "--cpu-threads": o.cpuThreads = max(1, int())
        case "--json": o.json = string()
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

/// The contents of `paths` in order (regular files only), until `limit` bytes.
func readFiles(_ paths: [String], limit: Int) -> [[UInt8]] {
    var files: [[UInt8]] = []
    var total = 0
    for path in paths where total < limit {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue,
              let data = FileManager.default.contents(atPath: path) else { continue }
        files.append([UInt8](data))
        total += data.count
    }
    return files
}

/// Regular files under `dir` in path order, until `limit` bytes.
func sourceFiles(_ dir: String, limit: Int) -> [[UInt8]] {
    guard let walker = FileManager.default.enumerator(atPath: dir) else { fail("cannot read \(dir)") }
    let paths = (walker.allObjects as? [String] ?? []).sorted().map { (dir as NSString).appendingPathComponent($0) }
    return readFiles(paths, limit: limit)
}

/// The files a list names, one path per line, in the list's order, until `limit` bytes.
func listedFiles(_ list: String, limit: Int) -> [[UInt8]] {
    guard let text = try? String(contentsOfFile: list, encoding: .utf8) else { fail("cannot read the file list \(list)") }
    return readFiles(text.split(separator: "\n").map(String.init), limit: limit)
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return max(1e-9, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}

func loadAverage() -> String {
    (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
}

/// Runs `body` on `threads` threads at once, each given a contiguous share
/// of 0..<count (the CPU path's workers take whole frames, so do these).
func parallel(_ count: Int, threads: Int, _ body: (_ thread: Int, _ share: Range<Int>) -> Void) {
    let n = max(1, min(threads, count))
    DispatchQueue.concurrentPerform(iterations: n) { t in body(t, count * t / n ..< count * (t + 1) / n) }
}

/// Stable buffers for the pointer APIs (the array forms copy, which would
/// be timed too).
final class Buffers: @unchecked Sendable {
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

/// Figures as the table prints them: GB/s ranges over the runs.
enum Table {
    static func range(_ v: [Double]?) -> String {
        guard let v, let lo = v.min(), let hi = v.max() else { return "n/a" }
        return abs(hi - lo) < 0.0005 ? String(format: "%.3f", lo) : String(format: "%.3f–%.3f", lo, hi)
    }

    static func ratios(_ r: [Double]) -> String {
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

extension JobReport {
    /// Records the device time of a one-call pass.
    mutating func record(_ t: OpenCLTimings) {
        perKernelSeconds = t.perKernelNanoseconds.mapValues { Double($0) / 1e9 }
        uploadSeconds = Double(t.uploadNanoseconds) / 1e9
        downloadSeconds = Double(t.downloadNanoseconds) / 1e9
    }

    mutating func finishRatios() { kernelOverCpu = zip(kernelGbps, cpuGbps).map { $0 / $1 } }

    /// Records one run's best times (seconds) for `bytes` of input as GB/s.
    mutating func addRun(bytes: Double, cpu: Double, cpuThreads: Double?, kernel: Double, oneCall: Double, wall: Double) {
        cpuGbps.append(bytes / cpu)
        if let cpuThreads { cpuThreadsGbps?.append(bytes / cpuThreads) }
        kernelGbps.append(bytes / kernel)
        kernelOneCallGbps.append(bytes / oneCall)
        wallGbps.append(bytes / wall)
        runsDone += 1
        finishRatios()
    }
}

/// FNV-1a of `inputs[share]` four files side by side, as the CPU path
/// (CPUFileHasher) hashes; returns the xor of the hashes, which the caller
/// checks so the loop cannot be optimized away.
func cpuHash4(_ inputs: [UnsafeRawBufferPointer], _ share: Range<Int>) -> UInt64 {
    var sink: UInt64 = 0
    var k = share.lowerBound
    while k < share.upperBound {
        let q = (0..<4).map { inputs[min(k + $0, share.upperBound - 1)] }
        let h = FNV1a64.hash4(q[0], q[1], q[2], q[3])
        for (l, v) in [h.0, h.1, h.2, h.3].enumerated() where k + l < share.upperBound { sink ^= v }
        k += 4
    }
    return sink
}

func benchDevice(_ device: OpenCLDevice, _ o: Options, frames: [[UInt8]], files: [[UInt8]],
                 publish: (JobReport) -> Void) throws {
    let total = Double(frames.reduce(0) { $0 + $1.count }) / 1e9
    let hashTotal = Double(files.reduce(0) { $0 + $1.count }) / 1e9
    print("device \(number(of: device)): \(device), \(device.computeUnits) compute unit(s), \(device.globalMemory >> 20) MiB")
    let bound = frames.map { LZ4X.compressBound($0.count) }
    let threads = o.cpuThreads
    let encoders = (0..<max(1, min(threads, frames.count))).map { _ in LZ4XEncoder() }
    let encoder = encoders[0]
    var results: [JobReport] = []

    // CPU blocks: the decode benchmark's input and the compress ratio's reference.
    let plain = Buffers(frames, outputSizes: bound)
    let cpuSizes = UnsafeMutableBufferPointer<Int>.allocate(capacity: frames.count)
    defer { cpuSizes.deallocate() }
    cpuSizes.initialize(repeating: 0)
    parallel(frames.count, threads: threads) { t, share in
        for k in share { cpuSizes[k] = encoders[t].compress(plain.inputs[k], into: plain.outputs[k])! }
    }
    let cpuBlocks = cpuSizes.indices.map { plain.output($0, cpuSizes[$0]) }
    let cpuTotal = cpuSizes.reduce(0, +)

    if o.jobs.contains("compress") {
        let compressor = try GPULZ4XCompressor(device: device, options: o.compressor, variant: o.variant)
        let gpu = Buffers(frames, outputSizes: bound)
        var f = JobReport(job: "compress")
        // Builds the kernels, sizes both slots' buffers.
        f.warmupSeconds = try seconds { _ = try compressor.compress(gpu.inputs, into: gpu.outputs) }
        f.note = "\(compressor.variant.rawValue), \(compressor.batchSize(forFramesOf: o.frameSize)) frame(s)/launch"
        publish(f)
        if threads > 1 { f.cpuThreadsGbps = [] }
        var gpuSizes: [Int?] = []
        for run in 0..<o.runs {
            f.cpuGbps.append(total / seconds { for (i, out) in zip(plain.inputs, plain.outputs) { _ = encoder.compress(i, into: out) } })
            if threads > 1 {
                f.cpuThreadsGbps?.append(total / seconds {
                    parallel(frames.count, threads: threads) { t, share in
                        for k in share { _ = encoders[t].compress(plain.inputs[k], into: plain.outputs[k]) }
                    }
                })
            }
            // Kernel time: one frame per call, so no two batches share the device.
            compressor.timings = OpenCLTimings()
            for k in frames.indices { _ = try compressor.compress([gpu.inputs[k]], into: [gpu.outputs[k]]) }
            f.kernelGbps.append(total / kernelSeconds(compressor.timings))
            if run == 0 { print("  compress kernels, one frame per call, run 1: \(breakdown(compressor.timings))") }
            // Wall: one call for all frames (batches overlap on two queues).
            compressor.timings = OpenCLTimings()
            f.wallGbps.append(total / (try seconds { gpuSizes = try compressor.compress(gpu.inputs, into: gpu.outputs) }))
            f.kernelOneCallGbps.append(total / kernelSeconds(compressor.timings))
            f.record(compressor.timings)
            if run == 0 { print("  compress kernels, all frames in one call, run 1: \(breakdown(compressor.timings))") }
            f.runsDone = run + 1
            f.finishRatios()
            publish(f)
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
        let perLaunch = compressor.batchSize(forFramesOf: o.frameSize)
        f.framesPerLaunch = perLaunch
        f.launches = (frames.count + perLaunch - 1) / perLaunch
        f.ratio = Double(gpuTotal) / (total * 1e9)
        f.cpuRatio = Double(cpuTotal) / (total * 1e9)
        f.blocksIdenticalToCpu = identical
        f.note = "\(compressor.variant.rawValue), \(perLaunch) frame(s)/launch;"
            + String(format: " ratio %.4f vs CPU %.4f (%+.2f%%)", f.ratio!, f.cpuRatio!, (Double(gpuTotal) / Double(cpuTotal) - 1) * 100)
            + (identical ? ", blocks byte-identical to the CPU encoder's" : "")
        f.finishRatios()
        results.append(f)
        publish(f)
    }

    if o.jobs.contains("decode") {
        let decoder = try GPULZ4XDecoder(device: device)
        let blocks = Buffers(cpuBlocks, outputSizes: frames.map(\.count))
        let cpuOut = Buffers([], outputSizes: frames.map(\.count))
        var f = JobReport(job: "decode")
        f.warmupSeconds = try seconds { _ = try decoder.decode(blocks.inputs, into: blocks.outputs) }
        publish(f)
        if threads > 1 { f.cpuThreadsGbps = [] }
        var lastOneCall = OpenCLTimings()
        for _ in 0..<o.runs {
            // A decode pass takes milliseconds, so one preemption moves it a
            // lot: each run takes the best of `shortJobRepeats` passes a side.
            var cpu = Double.infinity, cpuN = Double.infinity, kernel = Double.infinity
            var oneCall = Double.infinity, wall = Double.infinity
            for _ in 0..<shortJobRepeats {
                cpu = min(cpu, try seconds {
                    for (b, out) in zip(blocks.inputs, cpuOut.outputs) { try LZ4XDecoder.decode(b, into: out) }
                })
                if threads > 1 {
                    // Each thread counts its own failures; the sum is checked.
                    let failures = UnsafeMutableBufferPointer<Int>.allocate(capacity: threads)
                    defer { failures.deallocate() }
                    failures.initialize(repeating: 0)
                    cpuN = min(cpuN, seconds {
                        parallel(frames.count, threads: threads) { t, share in
                            for k in share where (try? LZ4XDecoder.decode(blocks.inputs[k], into: cpuOut.outputs[k])) == nil {
                                failures[t] += 1
                            }
                        }
                    })
                    if failures.reduce(0, +) > 0 { fail("the CPU decoder rejects a CPU-encoded frame") }
                }
                decoder.timings = OpenCLTimings()
                for k in frames.indices { _ = try decoder.decode([blocks.inputs[k]], into: [blocks.outputs[k]]) }
                kernel = min(kernel, kernelSeconds(decoder.timings))
                var statuses: [GPUDecodeStatus] = []
                decoder.timings = OpenCLTimings()
                wall = min(wall, try seconds { statuses = try decoder.decode(blocks.inputs, into: blocks.outputs) })
                if kernelSeconds(decoder.timings) < oneCall { oneCall = kernelSeconds(decoder.timings); lastOneCall = decoder.timings }
                if statuses.contains(where: { $0 != .ok }) { fail("the OpenCL decoder rejects a CPU-encoded frame") }
            }
            f.addRun(bytes: total, cpu: cpu, cpuThreads: threads > 1 ? cpuN : nil, kernel: kernel, oneCall: oneCall, wall: wall)
            publish(f)
        }
        for k in frames.indices where blocks.output(k, frames[k].count) != frames[k] {
            fail("the OpenCL decoder does not reproduce a frame from its CPU-encoded block")
        }
        f.record(lastOneCall)
        f.note = "\(decoder.workGroup) lane(s) per frame, CPU-encoded frames"
        f.finishRatios()
        results.append(f)
        publish(f)
    }

    if o.jobs.contains("fnv1a") {
        let hasher = try GPUFNVHasher(devices: [device])
        // Dedup hands the hashers its survivors grouped by size (files that
        // passed the size filter have equal-size twins), so neighbours here
        // are of similar size too: both sides hash them side by side.
        let files = files.sorted { $0.count < $1.count }
        let data = Buffers(files, outputSizes: [])
        var f = JobReport(job: "fnv1a")
        f.warmupSeconds = try seconds { _ = try hasher.hash(data.inputs) }
        publish(f)
        let expected = files.map(FNV1a64.hash)
        let expectedXor = expected.reduce(0, ^)
        if threads > 1 { f.cpuThreadsGbps = [] }
        var lastOneCall = OpenCLTimings()
        let quarter = max(1, files.count / 4)
        for _ in 0..<o.runs {
            var cpu = Double.infinity, cpuN = Double.infinity, kernel = Double.infinity
            var oneCall = Double.infinity, wall = Double.infinity
            for _ in 0..<shortJobRepeats {
                var sink: UInt64 = 0
                cpu = min(cpu, seconds { sink = cpuHash4(data.inputs, data.inputs.indices) })
                if sink != expectedXor { fail("CPU FNV-1a is not deterministic") }
                if threads > 1 {
                    // Each thread writes its own slot; the xor of all is checked.
                    let sinks = UnsafeMutableBufferPointer<UInt64>.allocate(capacity: threads)
                    defer { sinks.deallocate() }
                    sinks.initialize(repeating: 0)
                    cpuN = min(cpuN, seconds {
                        parallel(files.count, threads: threads) { t, share in sinks[t] = cpuHash4(data.inputs, share) }
                    })
                    if sinks.reduce(0, ^) != expectedXor { fail("CPU FNV-1a on \(threads) threads differs from one thread") }
                }
                hasher.timings = OpenCLTimings()
                for start in stride(from: 0, to: files.count, by: quarter) {
                    _ = try hasher.hash(Array(data.inputs[start..<min(start + quarter, files.count)]))
                }
                kernel = min(kernel, kernelSeconds(hasher.timings))
                var hashes: [UInt64] = []
                hasher.timings = OpenCLTimings()
                wall = min(wall, try seconds { hashes = try hasher.hash(data.inputs) })
                if kernelSeconds(hasher.timings) < oneCall { oneCall = kernelSeconds(hasher.timings); lastOneCall = hasher.timings }
                if hashes != expected { fail("OpenCL FNV-1a differs from the CPU") }
            }
            f.addRun(bytes: hashTotal, cpu: cpu, cpuThreads: threads > 1 ? cpuN : nil, kernel: kernel, oneCall: oneCall, wall: wall)
            publish(f)
        }
        f.record(lastOneCall)
        f.launches = (data.inputs.reduce(0) { $0 + $1.count } + hasher.batchBytes - 1) / hasher.batchBytes
        f.note = "\(files.count) files, by size, batches of \(hasher.batchBytes >> 20) MiB"
        f.finishRatios()
        results.append(f)
        publish(f)
    }

    print("  GB/s over \(o.runs) run(s), CPU and OpenCL alternating (decode, fnv1a: best of \(shortJobRepeats) passes per run);"
          + " kernel / CPU per run:")
    let threadsColumn = threads > 1 ? " CPU, \(threads) threads |" : ""
    print("  | job | kernels | kernels, one call | wall incl. transfers | CPU, 1 thread |\(threadsColumn) kernel / CPU | notes |")
    print("  |---|---|---|---|---|" + (threads > 1 ? "---|" : "") + "---|---|")
    for f in results {
        let threaded = threads > 1 ? " \(Table.range(f.cpuThreadsGbps)) |" : ""
        print("  | \(f.job) | \(Table.range(f.kernelGbps)) | \(Table.range(f.kernelOneCallGbps)) | \(Table.range(f.wallGbps))"
              + " | \(Table.range(f.cpuGbps)) |\(threaded) \(Table.ratios(f.kernelOverCpu)) | \(f.note) |")
    }
}

let o = parseOptions()
if let json = o.json {
    reportPath = json
    report = Report()
    report?.runs = o.runs
    report?.cpuThreads = o.cpuThreads
    report?.shortJobRepeats = shortJobRepeats
}
let devices: [OpenCLDevice]
do { devices = try OpenCLRuntime.shared().select(o.device) } catch { fail("\(error)") }
report?.devices = devices.map(DeviceReport.init)
if o.listOnly {
    for device in devices { print("\(number(of: device)): \(device), \(device.computeUnits) compute unit(s)") }
    writeReport()
    exit(0)
}

let limit = o.frames * o.frameSize
let files = o.filesFrom.map { listedFiles($0, limit: limit) } ?? sourceFiles(o.source, limit: limit)
let sourceName = o.filesFrom.map { "the files listed in \($0)" } ?? o.source
let text = files.flatMap { $0 }
guard !text.isEmpty else { fail("no data in \(sourceName)") }
let frames = stride(from: 0, to: text.count, by: o.frameSize).prefix(o.frames).map {
    Array(text[$0..<min($0 + o.frameSize, text.count)])
}
print("data: \(frames.count) frame(s), \(frames.reduce(0) { $0 + $1.count }) bytes of \(sourceName); \(files.count) files to hash")
print("date: \(ISO8601DateFormatter().string(from: Date())), load average \(loadAverage())"
      + (o.cpuThreads > 1 ? "; CPU codec on 1 and \(o.cpuThreads) threads" : ""))
report?.source = sourceName
report?.frames = frames.count
report?.frameSize = o.frameSize
report?.frameBytes = frames.reduce(0) { $0 + $1.count }
report?.files = files.count
report?.hashBytes = files.reduce(0) { $0 + $1.count }
writeReport()

for (d, device) in devices.enumerated() {
    do {
        try benchDevice(device, o, frames: frames, files: files) { job in
            // A job is published as it goes; its latest state replaces the last.
            if let i = report?.devices[d].jobs.firstIndex(where: { $0.job == job.job }) {
                report?.devices[d].jobs[i] = job
            } else {
                report?.devices[d].jobs.append(job)
            }
            writeReport()
        }
    } catch {
        report?.devices[d].error = "\(error)"
        fail("\(device.name): \(error)")
    }
}
report?.loadAverageEnd = loadAverage()
writeReport()
print("load average at the end: \(loadAverage())")
