// Load against one mount: 32 concurrent readers (sequential and random, across
// duplicated files and delta chunks) for a bounded time with every byte
// checked; the driver's memory within its cache budget plus a constant; a
// reader killed mid-read leaves the mount healthy.
@testable import Archive
import Builder
import Foundation
import XCTest

final class MountLoadTests: XCTestCase {
    /// Three versions of a tree: duplicated files across versions, edited files
    /// (delta chunks with small frames), and one larger file spanning many frames.
    private func makeSources(_ root: String) throws -> [String] {
        var roots: [String] = []
        var edited = (0..<6).map { SourceTree.bytes(count: 150_000, seed: UInt64(70 + $0)) }
        let big = SourceTree.bytes(count: 2 << 20, seed: 99)
        for v in 0..<3 {
            let dir = root + "/v\(v)"
            try FileManager.default.createDirectory(atPath: dir + "/same", withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/edited", withIntermediateDirectories: true)
            try SourceTree.write(dir + "/same/big.bin", big)
            for i in 0..<4 { try SourceTree.write(dir + "/same/s\(i).txt", Array(String(repeating: "line \(i)\n", count: 5000).utf8)) }
            for (i, bytes) in edited.enumerated() { try SourceTree.write(dir + "/edited/e\(i).bin", bytes) }
            roots.append(dir)
            edited = edited.enumerated().map { i, bytes in
                SourceTree.nextVersion(of: bytes, version: v, file: i, flips: 6, stride: 19_991, shift: 7, mask: 0x55,
                                       insert: 200, at: 30_000 + i * 500)
            }
        }
        return roots
    }

    private static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "0") ?? 0
    }

    func testThirtyTwoConcurrentReadersEveryByteChecked() throws {
        try MountHarness.requireFuse()
        let roots = try makeSources(try MountHarness.scratchDirectory("load-source"))
        let out = try MountHarness.scratchDirectory("load-archive") + "/arc"
        var options = BuildOptions()
        options.frameSize = TestArchive.frameSize
        options.threads = 2
        options.deltas = true   // readers must resolve deltas too
        let stats = try ArchiveBuilder(sources: roots, output: out, options: options).run()
        XCTAssertGreaterThan(stats.duplicateFiles, 0)
        XCTAssertGreaterThan(stats.similarity.deltaChunks, 0)

        // A cache of 8 frames for ~3 MB of distinct content: constant eviction.
        let cacheBytes = 8 * TestArchive.frameSize
        let mount = try MountedArchive(archive: out + ".001", options: ["--cache-size", "\(cacheBytes)", "--decoder", "cpu"])
        defer { mount.unmount() }

        var expected: [(path: String, bytes: [UInt8])] = []
        for root in roots {
            let name = (root as NSString).lastPathComponent
            for sub in ["same", "edited"] {
                for file in try FileManager.default.contentsOfDirectory(atPath: root + "/" + sub).sorted() {
                    expected.append((mount.path("\(name)/\(sub)/\(file)"),
                                     try Array(Data(contentsOf: URL(fileURLWithPath: "\(root)/\(sub)/\(file)")))))
                }
            }
        }
        let lock = NSLock()
        var failures: [String] = [], checkedBytes = 0, reads = 0
        let stop = Date().addingTimeInterval(6)
        DispatchQueue.concurrentPerform(iterations: 32) { worker in
            var state = UInt64(worker + 1) &* 0x9E37_79B9_7F4A_7C15
            var buffer = [UInt8](repeating: 0, count: 128 << 10)
            var localBytes = 0, localReads = 0, localFailures: [String] = []
            while Date() < stop {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                let (path, bytes) = expected[Int(state % UInt64(expected.count))]
                let fd = open(path, O_RDONLY)
                guard fd >= 0 else { localFailures.append("open \(path): errno \(errno)"); continue }
                if worker % 2 == 0 {
                    // Sequential: the whole file in 64 KiB reads.
                    var offset = 0
                    while true {
                        let n = read(fd, &buffer, 64 << 10)
                        if n < 0 { localFailures.append("read \(path)@\(offset): errno \(errno)"); break }
                        if n == 0 { break }
                        if offset + n > bytes.count || !buffer[..<n].elementsEqual(bytes[offset..<(offset + n)]) {
                            localFailures.append("wrong bytes in \(path) at \(offset)"); break
                        }
                        offset += n; localBytes += n; localReads += 1
                    }
                    if offset != bytes.count && localFailures.isEmpty { localFailures.append("\(path) ended at \(offset)") }
                } else {
                    // Random preads anywhere, including past the end.
                    for _ in 0..<16 {
                        state ^= state << 13; state ^= state >> 7; state ^= state << 17
                        let offset = Int((state >> 16) % UInt64(bytes.count + 100))
                        let count = Int(state % UInt64(buffer.count)) + 1
                        let n = pread(fd, &buffer, count, off_t(offset))
                        let want = max(0, min(count, bytes.count - offset))
                        if n != want || (want > 0 && !buffer[..<want].elementsEqual(bytes[offset..<(offset + want)])) {
                            localFailures.append("pread \(path)@\(offset)+\(count) gave \(n), wanted \(want)")
                        }
                        localBytes += max(n, 0); localReads += 1
                    }
                }
                close(fd)
            }
            lock.lock()
            failures += localFailures; checkedBytes += localBytes; reads += localReads
            lock.unlock()
        }
        XCTAssertEqual(failures.prefix(10), [])
        XCTAssertGreaterThan(checkedBytes, 1 << 20)
        print("load: 32 readers, \(reads) reads, \(checkedBytes) bytes checked, cache \(cacheBytes) bytes")

        // Memory: within the cache budget plus the index and a constant (the
        // Swift runtime, libfuse and 16 worker stacks). The driver runs with
        // --decoder cpu here: an OpenCL runtime (PoCL loads LLVM) adds ~80 MB.
        let rss = Self.residentKiB(mount.pid)
        XCTAssertGreaterThan(rss, 0)
        XCTAssertLessThan(rss * 1024, cacheBytes + 48 << 20, "driver RSS \(rss) KiB")
        print("load: driver RSS \(rss) KiB with a \(cacheBytes / 1024) KiB cache")

        // A reader killed in the middle of a read leaves the mount healthy.
        let big = expected.first { $0.path.hasSuffix("v0/same/big.bin") }!
        for _ in 0..<3 {
            let reader = Process()
            reader.executableURL = URL(fileURLWithPath: "/bin/dd")
            reader.arguments = ["if=\(big.path)", "of=/dev/null", "bs=4096", "iflag=direct"]
            reader.standardError = FileHandle.nullDevice
            try reader.run()
            usleep(20_000)
            kill(reader.processIdentifier, SIGKILL)
            reader.waitUntilExit()
        }
        XCTAssertEqual(FileManager.default.contents(atPath: big.path).map { [UInt8]($0) }, big.bytes)
        XCTAssertTrue(MountHarness.isMounted(mount.mountpoint))
    }
}
