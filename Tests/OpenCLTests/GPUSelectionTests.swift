import XCTest
@testable import Archive

final class GPUSelectionTests: XCTestCase {
    /// The CPU codec in the shape the calibration takes.
    static let cpu = CPUCodecForCalibration(threads: 2, compress: { input, output in
        LZ4XEncoder().compress(input, into: output)
    }, decode: { block, output in
        try LZ4XDecoder.decode(block, into: output)
    })

    func testCalibrationIsCachedPerDevice() throws {
        let device = try OpenCLTestSupport.device()
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-cache-\(getpid())")
        setenv("XDG_CACHE_HOME", cache.path, 1)
        defer { unsetenv("XDG_CACHE_HOME"); try? FileManager.default.removeItem(at: cache) }

        // A small sample: debug builds are slow.
        let first = try GPUCalibrator.calibration(for: device, cpu: Self.cpu, sampleFrameSize: 1 << 16)
        XCTAssertTrue(FileManager.default.fileExists(atPath: GPUCalibrator.cacheFile.path))
        XCTAssertGreaterThan(first.gpuCompress, 0)
        XCTAssertGreaterThan(first.cpuDecode, 0)
        // A second call reads the file instead of measuring again.
        XCTAssertEqual(try GPUCalibrator.calibration(for: device, cpu: Self.cpu, sampleFrameSize: 1 << 16), first)
        print("calibration on \(device.name): GPU compress \(Int(first.gpuCompress / 1e6)) MB/s,"
              + " CPU \(Int(first.cpuCompress / 1e6)) MB/s; GPU decode \(Int(first.gpuDecode / 1e6)) MB/s,"
              + " CPU \(Int(first.cpuDecode / 1e6)) MB/s")

        // gpu and cpu do as told.
        XCTAssertFalse(try GPUSelection.devices(mode: .gpu, list: "0", for: .decode, cpu: Self.cpu).devices.isEmpty)
        XCTAssertTrue(try GPUSelection.devices(mode: .cpu, list: nil, for: .compress, cpu: Self.cpu).devices.isEmpty)
    }

    /// `auto` never takes a CPU device, whatever its figures say (here a
    /// cached calibration that has PoCL a thousand times faster): it shares
    /// the cores the CPU path uses. `gpu` still takes it. So with PoCL alone
    /// every job stays on the CPU, and the note says why.
    func testAutoNeverPicksACPUDevice() throws {
        let device = try OpenCLTestSupport.device()
        XCTAssertTrue(device.isCPU, "the test machine's OpenCL is PoCL")
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-cpu-device-\(getpid())")
        setenv("XDG_CACHE_HOME", cache.path, 1)
        defer { unsetenv("XDG_CACHE_HOME"); try? FileManager.default.removeItem(at: cache) }
        let flattering = GPUCalibration(device: GPUCalibrator.key(device), gpuCompress: 1e12, gpuDecode: 1e12,
                                        cpuCompress: 1e9, cpuDecode: 1e9, measured: Date(timeIntervalSince1970: 0))
        GPUCalibrator.store([GPUCalibrator.key(device): flattering])
        for work in [GPUSelection.Work.compress, .decode] {
            let auto = try GPUSelection.devices(mode: .auto, list: nil, for: work, cpu: Self.cpu)
            XCTAssertTrue(auto.devices.isEmpty, "\(work)")
            let note = try XCTUnwrap(auto.note)
            XCTAssertTrue(note.contains("only CPU devices") && note.contains(device.name) && note.hasSuffix("on the CPU"), note)
            // Remembered, so the next run does not load OpenCL to decide again.
            XCTAssertEqual(AutoDecisionMemo.cpuNote(for: GPUSelection.memoKey(work, nil, GPUCalibrator.defaultSampleFrameSize)), note)
            XCTAssertEqual(try GPUSelection.devices(mode: .gpu, list: nil, for: work, cpu: Self.cpu).devices.map(\.name), [device.name])
        }
    }

    /// `auto` remembers choosing the CPU for this installation (and then
    /// does not load OpenCL again); any change to the fingerprint, here an
    /// ICD variable, forgets it.
    func testAutoRemembersTheCPUPerInstallation() throws {
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-memo-\(getpid())")
        setenv("XDG_CACHE_HOME", cache.path, 1)
        defer { unsetenv("XDG_CACHE_HOME"); unsetenv("CUDA_VISIBLE_DEVICES"); try? FileManager.default.removeItem(at: cache) }
        let key = GPUSelection.memoKey(.decode, nil, 1 << 16)
        XCTAssertNil(AutoDecisionMemo.cpuNote(for: key))
        AutoDecisionMemo.rememberCPU(for: key, note: "OpenCL measured slower; decoding on the CPU")
        XCTAssertEqual(AutoDecisionMemo.cpuNote(for: key), "OpenCL measured slower; decoding on the CPU")
        let chosen = try GPUSelection.devices(mode: .auto, list: nil, for: .decode, cpu: Self.cpu, sampleFrameSize: 1 << 16)
        XCTAssertTrue(chosen.devices.isEmpty)
        XCTAssertEqual(chosen.note, "OpenCL measured slower; decoding on the CPU")
        XCTAssertNil(AutoDecisionMemo.cpuNote(for: GPUSelection.memoKey(.compress, nil, 1 << 16)), "per job")
        setenv("CUDA_VISIBLE_DEVICES", "3", 1)
        XCTAssertNil(AutoDecisionMemo.cpuNote(for: key), "another installation fingerprint")
        unsetenv("CUDA_VISIBLE_DEVICES")
        XCTAssertNotNil(AutoDecisionMemo.cpuNote(for: key))
        // `gpu` never looks at the memo.
        XCTAssertFalse(try GPUSelection.devices(mode: .gpu, list: "0", for: .decode, cpu: Self.cpu).devices.isEmpty)
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
