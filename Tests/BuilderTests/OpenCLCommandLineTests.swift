import XCTest
import Foundation
@testable import Archive

/// `--compressor`, `--decoder` and `--device` as a user types them, with and
/// without an OpenCL platform (an empty ICD directory hides PoCL).
final class OpenCLCommandLineTests: ScratchTestCase {
    func run(_ tool: String, _ args: [String], noOpenCL: Bool = false) throws -> (status: Int32, out: String, err: String) {
        var environment: [String: String] = [:]
        if noOpenCL { environment["OCL_ICD_VENDORS"] = temp("no-icd") }
        return try runTool(tool, args, environment: environment)
    }

    func testGPUBuildAndExtractRoundTrip() throws {
        do {
            _ = try OpenCLRuntime.shared()
        } catch OpenCLError.noPlatform {
            XCTFail("no OpenCL platform installed: run `make deps` (PoCL)")
            throw OpenCLError.noPlatform
        }
        let src = TreeFixture(root: TreeFixture.temporaryDirectory("clcli-src"))
        let work = TreeFixture.temporaryDirectory("clcli-out")
        cleanup += [src.root, work]
        src.file("a.txt", TreeFixture.text(120_000, seed: 21))
        src.file("b/c.bin", TreeFixture.random(30_000, seed: 22))

        let built = try run("gpuarc-build", ["--no-progress", "--frame-size", "32K", "--compressor", "gpu", "--device", "0",
                                             src.root, work + "/arc"])
        XCTAssertEqual(built.status, 0, built.err)
        XCTAssertTrue(built.out.contains("gpu:"), built.out)
        let restored = try run("gpuarc-extract", ["--decoder", "gpu", work + "/arc.001", work + "/dest"])
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertEqual(FileManager.default.contents(atPath: work + "/dest/a.txt"), FileManager.default.contents(atPath: src.path("a.txt")))
        XCTAssertEqual(FileManager.default.contents(atPath: work + "/dest/b/c.bin"), FileManager.default.contents(atPath: src.path("b/c.bin")))

        let badDevice = try run("gpuarc-build", ["--no-progress", "--compressor", "gpu", "--device", "99", src.root, work + "/x"])
        XCTAssertEqual(badDevice.status, 1)
        XCTAssertTrue(badDevice.err.contains("99") && badDevice.err.contains("devices are"), badDevice.err)
        let badMode = try run("gpuarc-build", ["--no-progress", "--compressor", "fast", src.root, work + "/y"])
        XCTAssertNotEqual(badMode.status, 0)
        XCTAssertTrue(badMode.err.contains("auto, gpu or cpu"), badMode.err)
    }

    func testWithoutOpenCLAutoSaysSoAndGPUIsAnError() throws {
        let src = TreeFixture(root: TreeFixture.temporaryDirectory("noicd-src"))
        let work = TreeFixture.temporaryDirectory("noicd-out")
        cleanup += [src.root, work]
        src.file("a.txt", TreeFixture.text(40_000, seed: 23))

        let auto = try run("gpuarc-build", ["--no-progress", "--codec", "lz4x", src.root, work + "/arc"], noOpenCL: true)
        XCTAssertEqual(auto.status, 0, auto.err)
        XCTAssertEqual(auto.err.split(separator: "\n").filter { $0.contains("OpenCL") }.count, 1, auto.err)
        XCTAssertTrue(auto.err.contains("on the CPU"), auto.err)
        // zstd, the default codec, is never compressed on a GPU: OpenCL is not even looked for.
        let zstd = try run("gpuarc-build", ["--no-progress", src.root, work + "/zstd"], noOpenCL: true)
        XCTAssertEqual(zstd.status, 0, zstd.err)
        XCTAssertFalse(zstd.err.contains("OpenCL"), zstd.err)
        let both = try run("gpuarc-build", ["--no-progress", "--compressor", "gpu", "--codec", "zstd", src.root, work + "/both"])
        XCTAssertEqual(both.status, 1)
        XCTAssertTrue(both.err.contains("--codec lz4x"), both.err)

        let gpu = try run("gpuarc-build", ["--no-progress", "--compressor", "gpu", src.root, work + "/gpu"], noOpenCL: true)
        XCTAssertEqual(gpu.status, 1)
        XCTAssertTrue(gpu.err.contains("no OpenCL platform"), gpu.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/gpu.001"))

        let extract = try run("gpuarc-extract", ["--decoder", "gpu", work + "/arc.001", work + "/dest"], noOpenCL: true)
        XCTAssertEqual(extract.status, 1)
        XCTAssertTrue(extract.err.contains("no OpenCL platform"), extract.err)
    }
}
