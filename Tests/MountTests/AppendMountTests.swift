// Real mounts of archives that took appends (gpuarc-build --append).
import Archive
import Builder
import CFuse3
import Foundation
import XCTest

/// A mount of an archive that took appends shows every version as its
/// top-level directory, each the same as its source (treecmp: bytes,
/// modes, times, xattrs, hard links, names as bytes), the newest read
/// partly through chunks and delta bases stored by earlier runs.
final class AppendMountTests: XCTestCase {
    func testEveryVersionOfAnAppendedArchiveIsMounted() throws {
        try MountHarness.requireFuse()
        let work = try MountHarness.scratchDirectory("append-mount")
        var sources: [String] = []
        for v in 0..<3 {
            let source = work + "/day\(v)"
            try SourceTree.make(at: source, bigSize: 1 << 20)
            // Each day changes a file a little and adds one.
            let notes = source + "/docs/notes-\(v).txt"
            try String(repeating: "day \(v) line\n", count: 2000 + v).write(toFile: notes, atomically: false, encoding: .utf8)
            sources.append(source)
        }
        let out = work + "/arc"
        var options = BuildOptions()
        options.frameSize = TestArchive.frameSize
        options.threads = 2
        options.name = Array("day0".utf8)
        _ = try ArchiveBuilder(sources: [BytePath(sources[0])], output: BytePath(out), options: options).run()
        for v in 1..<3 {
            var a = options
            a.append = BytePath(out + ".001")
            a.name = Array("day\(v)".utf8)
            let stats = try ArchiveBuilder(sources: [BytePath(sources[v])], output: BytePath(out), options: a).run()
            XCTAssertGreaterThan(stats.similarity.previousDuplicateChunks, 0)
        }
        let mount = try MountedArchive(archive: out + ".001")
        defer { mount.unmount() }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: mount.mountpoint).sorted(), ["day0", "day1", "day2"])
        for v in 0..<3 {
            let (status, text) = try MountHarness.treecmp(sources[v], mount.path("day\(v)"))
            XCTAssertEqual(status, 0, text)
            XCTAssertTrue(text.contains(" 0 differences"), text)
        }
    }
}
