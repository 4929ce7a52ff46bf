import XCTest
@testable import Archive

final class OpenCLRuntimeTests: XCTestCase {
    func testDevicesAreListed() throws {
        let device = try OpenCLTestSupport.device()
        XCTAssertFalse(device.name.isEmpty)
        XCTAssertEqual(try OpenCLRuntime.shared().select("0").first?.name, device.name)
        XCTAssertThrowsError(try OpenCLRuntime.shared().select("99"))
    }

    func testMissingKernelNamesThePathsTried() throws {
        XCTAssertThrowsError(try OpenCLKernelSource.load("no_such_kernel.cl")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("no_such_kernel.cl"))
            XCTAssertTrue(text.contains("Kernels"))
        }
    }

    func testBuildErrorCarriesTheLog() throws {
        let device = try OpenCLTestSupport.device()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gpuarc-kernels-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "__kernel void broken(__global int *x) { x[0] = undefined_name; }"
            .write(to: dir.appendingPathComponent("broken_test.cl"), atomically: true, encoding: .utf8)
        setenv("GPUARC_KERNELS", dir.path, 1)
        defer { unsetenv("GPUARC_KERNELS") }
        XCTAssertThrowsError(try device.program("broken_test.cl")) { error in
            guard case OpenCLError.buildFailed(_, _, let log) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(log.contains("undefined_name"), log)
        }
    }
}
