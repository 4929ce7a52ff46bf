import Archive
@testable import Builder
import CSysCalls
import Foundation
import Glibc
import XCTest

/// Volumes are written through an aligned staging buffer with O_DIRECT where
/// the file system takes it, and through the page cache where it does not:
/// either way every byte must land where it was appended.
final class VolumeFileTests: ScratchTestCase {
    /// Appends of sizes around the block and staging sizes, random bytes.
    private func pieces(seed: UInt64) -> [[UInt8]] {
        let sizes = [24, 1, 4095, 4097, VolumeFile.stagingSize, VolumeFile.stagingSize - 5, 9 << 20 | 3, 7, 0, 65_536, 4096]
        return sizes.enumerated().map { i, n in TreeFixture.random(n, seed: seed &+ UInt64(i)) }
    }

    private func write(_ pieces: [[UInt8]], staging: UnsafeMutableRawBufferPointer, in dir: String) throws -> (file: [UInt8], directAtOpen: Bool, directAtEnd: Bool) {
        let dirFD = open(dir, O_RDONLY | O_DIRECTORY)
        defer { close(dirFD) }
        let name = Array("v.001.partial".utf8)
        let fd = BytePath.withCString(name) { openat(dirFD, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) }
        XCTAssertGreaterThanOrEqual(fd, 0)
        let file = VolumeFile(fd: fd, path: BytePath(dir + "/v.001"), staging: staging)
        let directAtOpen = file.direct
        for piece in pieces { try piece.withUnsafeBytes { try file.append($0) } }
        XCTAssertEqual(file.size, UInt64(pieces.reduce(0) { $0 + $1.count }))
        let directAtEnd = file.direct
        try file.finish()
        return ([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir + "/v.001.partial"))), directAtOpen, directAtEnd)
    }

    /// The pieces back to back (memcmp: an element-wise == of megabytes is slow in debug builds).
    private func holds(_ file: [UInt8], _ pieces: [[UInt8]]) -> Bool {
        var at = 0
        for piece in pieces {
            guard at + piece.count <= file.count else { return false }
            let same = piece.isEmpty || file.withUnsafeBytes { f in piece.withUnsafeBytes { memcmp(f.baseAddress! + at, $0.baseAddress!, piece.count) == 0 } }
            guard same else { return false }
            at += piece.count
        }
        return at == file.count
    }

    /// Whether this file system takes O_DIRECT at all (the test expects the
    /// volume to use it exactly when it does).
    private func takesDirectIO(_ dir: String) -> Bool {
        let fd = open(dir + "/probe", O_WRONLY | O_CREAT | O_EXCL | gpuarc_O_DIRECT, 0o644)
        defer { if fd >= 0 { close(fd) }; unlink(dir + "/probe") }
        return fd >= 0
    }

    func testEveryByteLandsInOrderAcrossStagingAndBlocks() throws {
        let dir = temp("volfile")
        let staging = VolumeFile.allocateStaging()
        defer { staging.deallocate() }
        let input = pieces(seed: 40)
        let (file, directAtOpen, directAtEnd) = try write(input, staging: staging, in: dir)
        XCTAssertTrue(holds(file, input), "the volume holds exactly what was appended")
        XCTAssertEqual(file.count % VolumeFile.block == 0, false, "the test ends in a partial block")
        XCTAssertEqual(directAtOpen, takesDirectIO(dir))
        XCTAssertEqual(directAtEnd, directAtOpen, "aligned staging never falls back")
    }

    /// A staging buffer off the block alignment makes every O_DIRECT write
    /// fail with EINVAL, as a device with stricter rules would: the volume
    /// is written through the page cache from there on, nothing lost.
    func testRefusedDirectWritesFallBackToBufferedOnes() throws {
        let dir = temp("volfile")
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: VolumeFile.stagingSize + VolumeFile.block, alignment: VolumeFile.block)
        defer { raw.deallocate() }
        let misaligned = UnsafeMutableRawBufferPointer(rebasing: raw[1..<(1 + VolumeFile.stagingSize)])
        let input = pieces(seed: 41)
        let (file, directAtOpen, directAtEnd) = try write(input, staging: misaligned, in: dir)
        XCTAssertTrue(holds(file, input), "the volume holds exactly what was appended")
        XCTAssertEqual(directAtOpen, takesDirectIO(dir))
        XCTAssertFalse(directAtEnd, "a refused O_DIRECT write leaves the volume buffered")
    }

    func testWholeBlocksAndNothingAtAll() throws {
        let staging = VolumeFile.allocateStaging()
        defer { staging.deallocate() }
        for total in [0, VolumeFile.block, VolumeFile.stagingSize, 2 * VolumeFile.stagingSize + VolumeFile.block] {
            let dir = temp("volfile")
            let input = [TreeFixture.random(total, seed: UInt64(total))]
            let (file, _, _) = try write(input, staging: staging, in: dir)
            XCTAssertTrue(holds(file, input), "\(total) bytes")
        }
    }
}
