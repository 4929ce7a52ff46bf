import XCTest
@testable import Archive
@testable import ArchiveWriter

final class GPUFNVHasherTests: XCTestCase {
    func testMatchesCPUOnRandomRanges() throws {
        let hasher = try OpenCLTestSupport.sharedHasher()
        var data = TestData(seed: 8)
        // Empty, tiny, unaligned and multi-batch sizes (the hasher here
        // launches every 64 KiB, so several batches and both queues run).
        var files: [[UInt8]] = [[], [0], [1, 2, 3]]
        for _ in 0..<60 { files.append(data.random(Int(data.next() % 20_000))) }
        files.append(data.random(200_001))
        let hashes = try hasher.hash(files)
        XCTAssertEqual(hashes, files.map(FNV1a64.hash))
        XCTAssertEqual(hashes[0], 0xcbf29ce484222325, "the empty range hashes to the offset basis")
    }

    /// Every lane count (1: the GPU shape; 4: the CPU-device shape; odd ones)
    /// gives the CPU's hashes, whatever the range count modulo the lanes.
    func testEveryLaneCountMatchesCPU() throws {
        let device = try OpenCLTestSupport.device()
        var data = TestData(seed: 9)
        var files: [[UInt8]] = [[], [7]]
        for _ in 0..<37 { files.append(data.random(Int(data.next() % 3_000))) }
        for lanes in [1, 3, 4] {
            let hasher = try GPUFNVHasher(devices: [device], batchBytes: 16 << 10, lanes: lanes)
            XCTAssertEqual(try hasher.hash(files), files.map(FNV1a64.hash), "\(lanes) lanes")
        }
    }
}
