import XCTest
@testable import Archive
@testable import ArchiveWriter

final class GPUSelectionTests: XCTestCase {
    /// The compressor's calibration, in the shape GPUSelection takes (a small sample: debug builds are slow).
    static func measureCompression(_ device: OpenCLDevice) throws -> CalibrationRates? {
        try CompressCalibration.measure(device, encoder: LZ4XEncoder(), threads: 2, sampleFrameSize: 1 << 16)
    }

    func testCalibrationIsCachedPerDeviceAndJob() throws {
        let device = try OpenCLTestSupport.device()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-cache-\(getpid())")
        setenv("GPUARC_CACHE_DIR", cache.path, 1)
        defer { unsetenv("GPUARC_CACHE_DIR"); try? FileManager.default.removeItem(at: cache) }

        var measured = 0
        let first = try XCTUnwrap(GPUCalibrator.calibration(for: device, work: .compress) {
            measured += 1
            return try Self.measureCompression($0)
        })
        XCTAssertTrue(FileManager.default.fileExists(atPath: GPUCalibrator.cacheFile.path))
        XCTAssertGreaterThan(first.gpu, 0)
        XCTAssertGreaterThan(first.cpu, 0)
        // A second call reads the file instead of measuring again.
        XCTAssertEqual(try GPUCalibrator.calibration(for: device, work: .compress) { _ in
            measured += 1
            return (1, 2)
        }, first)
        XCTAssertEqual(measured, 1)
        print("calibration on \(device.name): GPU compress \(Int(first.gpu / 1e6)) MB/s, CPU \(Int(first.cpu / 1e6)) MB/s")
        // Decoding is its own entry; nothing to measure on is not cached.
        XCTAssertNil(try GPUCalibrator.calibration(for: device, work: .decode) { _ in nil })
        let decode = try XCTUnwrap(GPUCalibrator.calibration(for: device, work: .decode) { _ in (3e9, 1e9) })
        XCTAssertTrue(decode.gpuIsFaster)
        XCTAssertEqual(GPUCalibrator.loadAll().count, 2)

        // gpu and cpu do as told.
        XCTAssertFalse(try GPUSelection.devices(mode: .gpu, list: "0", for: .decode, sample: "test") { _ in
            XCTFail("gpu does not measure"); return nil
        }.devices.isEmpty)
        XCTAssertTrue(try GPUSelection.devices(mode: .cpu, list: nil, for: .compress, sample: "test", measure: Self.measureCompression).devices.isEmpty)
    }

    /// `auto` never takes a CPU device, whatever its figures say (here
    /// cached figures that have PoCL a thousand times faster): it shares the
    /// cores the CPU path uses. `gpu` still takes it. So with PoCL alone
    /// every job stays on the CPU, and the note says why.
    func testAutoNeverPicksACPUDevice() throws {
        let device = try OpenCLTestSupport.device()
        XCTAssertTrue(device.isCPU, "the test machine's OpenCL is PoCL")
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-cpu-device-\(getpid())")
        setenv("GPUARC_CACHE_DIR", cache.path, 1)
        defer { unsetenv("GPUARC_CACHE_DIR"); try? FileManager.default.removeItem(at: cache) }
        for work in [GPUSelection.Work.compress, .decode] {
            XCTAssertNotNil(try GPUCalibrator.calibration(for: device, work: work, sample: "test") { _ in (1e12, 1e9) })
            let auto = try GPUSelection.devices(mode: .auto, list: nil, for: work, sample: "test") { _ in
                XCTFail("a CPU device is not measured for auto"); return nil
            }
            XCTAssertTrue(auto.devices.isEmpty, "\(work)")
            let note = try XCTUnwrap(auto.note)
            XCTAssertTrue(note.contains("only CPU devices") && note.contains(device.name) && note.hasSuffix("on the CPU"), note)
            // Remembered, so the next run does not load OpenCL to decide again.
            XCTAssertEqual(AutoDecisionMemo.cpuNote(for: GPUSelection.memoKey(work, nil, "test")), note)
            XCTAssertEqual(try GPUSelection.devices(mode: .gpu, list: nil, for: work, sample: "test") { _ in nil }.devices.map(\.name),
                           [device.name])
        }
    }

    /// `auto` remembers choosing the CPU for this installation (and then
    /// does not load OpenCL again); any change to the fingerprint, here an
    /// ICD variable, forgets it.
    func testAutoRemembersTheCPUPerInstallation() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-memo-\(getpid())")
        setenv("GPUARC_CACHE_DIR", cache.path, 1)
        defer { unsetenv("GPUARC_CACHE_DIR"); unsetenv("CUDA_VISIBLE_DEVICES"); try? FileManager.default.removeItem(at: cache) }
        let key = GPUSelection.memoKey(.decode, nil, "archive frames")
        XCTAssertNil(AutoDecisionMemo.cpuNote(for: key))
        AutoDecisionMemo.rememberCPU(for: key, note: "OpenCL measured slower; decoding on the CPU")
        XCTAssertEqual(AutoDecisionMemo.cpuNote(for: key), "OpenCL measured slower; decoding on the CPU")
        let chosen = try GPUSelection.devices(mode: .auto, list: nil, for: .decode, sample: "archive frames") { _ in
            XCTFail("a remembered decision does not measure"); return nil
        }
        XCTAssertTrue(chosen.devices.isEmpty)
        XCTAssertEqual(chosen.note, "OpenCL measured slower; decoding on the CPU")
        XCTAssertNil(AutoDecisionMemo.cpuNote(for: GPUSelection.memoKey(.compress, nil, "archive frames")), "per job")
        setenv("CUDA_VISIBLE_DEVICES", "3", 1)
        XCTAssertNil(AutoDecisionMemo.cpuNote(for: key), "another installation fingerprint")
        unsetenv("CUDA_VISIBLE_DEVICES")
        XCTAssertNotNil(AutoDecisionMemo.cpuNote(for: key))
        // `gpu` never looks at the memo.
        XCTAssertFalse(try GPUSelection.devices(mode: .gpu, list: "0", for: .decode, sample: "archive frames") { _ in nil }.devices.isEmpty)
    }

    /// With no OpenCL platform registered the runtime says so plainly; run
    /// in a child process because the runtime is set up once per process.
    func testNoPlatformIsReportedCleanly() throws {
        _ = try OpenCLTestSupport.device()
        let bench = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent("gpuarc-clbench")
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-no-icd-\(getpid())")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let process = Process()
        process.executableURL = bench
        process.arguments = ["--list-devices"]
        process.environment = ["OCL_ICD_VENDORS": empty.path, "PATH": "/usr/bin:/bin"]
        let pipe = Pipe()
        process.standardError = pipe
        try process.run()
        process.waitUntilExit()
        let message = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        XCTAssertEqual(process.terminationStatus, 1)
        XCTAssertTrue(message.contains("no OpenCL platform found"), message)
    }
}
