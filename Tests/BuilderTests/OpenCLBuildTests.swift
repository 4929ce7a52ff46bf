import XCTest
@testable import Archive
@testable import ArchiveWriter
@testable import Builder

/// Whole builds on the OpenCL path (PoCL in CI): archives built with
/// `--compressor gpu` extract byte-exact through the CPU decoder, and the
/// summary says which device compressed the frames.
final class OpenCLBuildTests: ScratchTestCase {

    /// Options for `--compressor gpu`, or a skip when there is no OpenCL platform.
    func gpuOptions(frameSize: Int) throws -> BuildOptions {
        var options = BuildOptions()
        options.frameSize = frameSize
        options.threads = 2
        do {
            _ = try OpenCLRuntime.shared()
        } catch OpenCLError.noPlatform {
            XCTFail("no OpenCL platform installed: run `make deps` (PoCL)")
            throw OpenCLError.noPlatform
        }
        _ = try OpenCLBuildSetup.configure(&options, mode: .gpu, devices: nil) { XCTFail($0) }
        return options
    }

    func testGPUBuildRoundTripsThroughCPUDecoder() throws {
        let frame = 16 << 10
        let fixture = TreeFixture.edgeCases(frameSize: frame)
        cleanup.append(fixture.root)
        fixture.file("big/text.txt", TreeFixture.text(300_000, seed: 9))
        fixture.file("big/random.bin", TreeFixture.random(70_000, seed: 10))
        let out = temp("gpu-out") + "/arc"
        let stats = try ArchiveBuilder(sources: [fixture.root], output: out, options: try gpuOptions(frameSize: frame)).run()
        XCTAssertTrue(stats.warnings.isEmpty, "\(stats.warnings)")
        let gpuFrames = stats.framesByDevice.filter { $0.key.hasPrefix("gpu:") }
        XCTAssertFalse(gpuFrames.isEmpty, "no frame was compressed on the GPU: \(stats.framesByDevice)")
        XCTAssertGreaterThan(gpuFrames.values.reduce(0) { $0 + ($1["lz4x"] ?? 0) }, 0)
        XCTAssertTrue(stats.summary().contains("gpu:"), stats.summary())

        let dest = temp("gpu-dest") + "/restored"
        let reader = try ArchiveReader(path: out + ".001", options: ReaderOptions(cacheBytes: 1 << 20))
        XCTAssertEqual(try Extractor(reader: reader, destination: dest).run().failures, [])
        let diff = TreeSnapshot(fixture.root).differences(from: TreeSnapshot(dest))
        XCTAssertTrue(diff.isEmpty, "trees differ:\n" + diff.prefix(20).joined(separator: "\n"))
    }

    /// Reader options decoding on OpenCL, as `gpuarc-extract --decoder gpu`.
    func gpuReaderOptions() -> ReaderOptions {
        var options = ReaderOptions(cacheBytes: 1 << 20)
        options.decoderRequest = DecoderRequest(mode: .gpu, devices: nil, threads: 2) { XCTFail($0) }
        return options
    }

    /// The reader's decode calibration times OpenCL on the archive's own
    /// LZ4X frames (none: nothing to measure, said so, not cached). `auto`
    /// itself never measures PoCL (a CPU device), so the measurement is
    /// driven here as `auto` would drive it on a GPU.
    func testDecodeCalibrationMeasuresOnTheArchivesFrames() throws {
        _ = try gpuOptions(frameSize: 16 << 10)   // fails without an OpenCL platform
        let device = try XCTUnwrap(OpenCLRuntime.shared().select(nil).first)
        let cache = temp("calibration-cache")
        setenv("GPUARC_CACHE_DIR", cache, 1)
        defer { unsetenv("GPUARC_CACHE_DIR") }
        let fixture = TreeFixture.edgeCases(frameSize: 16 << 10)
        cleanup.append(fixture.root)
        fixture.file("big/text.txt", TreeFixture.text(200_000, seed: 13))
        var build = BuildOptions()
        build.codec = .lz4x   // what the GPU decodes
        build.frameSize = 16 << 10
        let out = temp("auto-out") + "/arc"
        XCTAssertGreaterThan(try ArchiveBuilder(sources: [fixture.root], output: out, options: build).run().framesCompressed, 0)

        var options = ReaderOptions(cacheBytes: 1 << 20)
        options.decoderRequest = DecoderRequest(mode: .auto, devices: nil, threads: 2) { XCTFail($0) }
        let reader = try ArchiveReader(path: out + ".001", options: options)
        XCTAssertTrue(reader.decoderNote?.contains("only CPU devices") == true, reader.decoderNote ?? "no note")
        XCTAssertTrue(GPUCalibrator.loadAll().isEmpty, "auto measured a CPU device")
        let samples = DecodeCalibration.samples(reader.cache.loader)
        XCTAssertFalse(samples.isEmpty)
        let rates = try XCTUnwrap(DecodeCalibration.measure(device, samples: samples, threads: 2))
        XCTAssertGreaterThan(rates.gpu, 0)
        XCTAssertGreaterThan(rates.cpu, 0)
        let dest = temp("auto-dest") + "/restored"
        XCTAssertEqual(try Extractor(reader: reader, destination: dest).run().failures, [])
        let diff = TreeSnapshot(fixture.root).differences(from: TreeSnapshot(dest))
        XCTAssertTrue(diff.isEmpty, "trees differ:\n" + diff.prefix(20).joined(separator: "\n"))

        // Incompressible only: no LZ4X frame, nothing to measure on.
        let random = temp("random-src")
        try Data(TreeFixture.random(50_000, seed: 14)).write(to: URL(fileURLWithPath: random + "/noise.bin"))
        let rawOut = temp("random-out") + "/arc"
        XCTAssertEqual(try ArchiveBuilder(sources: [random], output: rawOut, options: build).run().framesCompressed, 0)
        let raw = try ArchiveReader(path: rawOut + ".001", options: ReaderOptions(cacheBytes: 1 << 20))
        XCTAssertTrue(DecodeCalibration.samples(raw.cache.loader).isEmpty)
    }

    func testGPUDecoderExtractsCPUBuiltArchive() throws {
        let frame = 16 << 10
        let fixture = TreeFixture.edgeCases(frameSize: frame)
        cleanup.append(fixture.root)
        fixture.file("big/text.txt", TreeFixture.text(200_000, seed: 11))
        var options = BuildOptions()
        options.codec = .lz4x   // what the GPU decodes
        options.frameSize = frame
        options.threads = 2
        let out = temp("cpu-out") + "/arc"
        let stats = try ArchiveBuilder(sources: [fixture.root], output: out, options: options).run()
        XCTAssertGreaterThan(stats.framesCompressed, 0)

        _ = try gpuOptions(frameSize: frame)   // skips without an OpenCL platform
        let dest = temp("cpu-dest") + "/restored"
        let reader = try ArchiveReader(path: out + ".001", options: gpuReaderOptions())
        XCTAssertEqual(try Extractor(reader: reader, destination: dest).run().failures, [])
        // A whole-frame decode leaves the frame complete (read-ahead skips it).
        XCTAssertTrue(reader.cache.isComplete(reader.index.frames.count - 1))
        let diff = TreeSnapshot(fixture.root).differences(from: TreeSnapshot(dest))
        XCTAssertTrue(diff.isEmpty, "trees differ:\n" + diff.prefix(20).joined(separator: "\n"))
    }

    func testGPUDecoderRejectsACorruptBlock() throws {
        _ = try gpuOptions(frameSize: 16 << 10)   // skips without an OpenCL platform
        let decoder = try GPUFrameDecoder(devices: [try OpenCLRuntime.shared().devices[0]]) { XCTFail($0) }
        var text = TreeFixture.text(50_000, seed: 12)
        var block = [UInt8](repeating: 0, count: LZ4X.compressBound(text.count))
        let n = try XCTUnwrap(text.withUnsafeBytes { i in block.withUnsafeMutableBytes { LZ4XEncoder().compress(i, into: $0) } })
        block = Array(block.prefix(n / 2))
        XCTAssertThrowsError(try block.withUnsafeBytes { b in try text.withUnsafeMutableBytes { try decoder.decode(b, into: $0) } })
    }

    func testWorkersShareOneDeviceBatcher() throws {
        _ = try gpuOptions(frameSize: 16 << 10)   // skips without an OpenCL platform
        let batcher = try GPUFrameBatcher(device: try OpenCLRuntime.shared().devices[0])
        let frames = (0..<8).map { TreeFixture.text(20_000 + $0 * 1_000, seed: UInt64($0)) }
        let lock = NSLock()
        var decoded: [Int: [UInt8]] = [:]
        DispatchQueue.concurrentPerform(iterations: frames.count) { i in
            var block = [UInt8](repeating: 0, count: frames[i].count)
            let size = frames[i].withUnsafeBytes { input in
                block.withUnsafeMutableBytes { try? batcher.compress(input, into: $0) }
            }
            guard let size else { return }   // an error or a block that did not fit
            var out = [UInt8](repeating: 0, count: frames[i].count)
            let ok = (try? Array(block.prefix(size)).withUnsafeBytes { b in
                try out.withUnsafeMutableBytes { try LZ4XDecoder.decode(b, into: $0) }
            }) != nil
            lock.lock()
            if ok { decoded[i] = out }
            lock.unlock()
        }
        for (i, frame) in frames.enumerated() { XCTAssertEqual(decoded[i], frame, "frame \(i)") }
    }

    func testCPUModeLeavesTheDefaults() throws {
        var options = BuildOptions()
        let note = try OpenCLBuildSetup.configure(&options, mode: .cpu, devices: nil) { XCTFail($0) }
        XCTAssertNil(note)
        XCTAssertNil(options.makeCompressor)
        XCTAssertNil(options.hasher)
    }
}
