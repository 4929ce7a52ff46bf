import XCTest
import Foundation

/// The executables as a user runs them: exit codes and messages.
final class CommandLineTests: ScratchTestCase {
    /// --codec and --level: each codec's levels, the summary and --json say
    /// what was used, and values outside a codec's levels are refused.
    func testCodecAndLevelOptions() throws {
        let src = TreeFixture(root: TreeFixture.temporaryDirectory("codec-src"))
        let work = TreeFixture.temporaryDirectory("codec-out")
        cleanup += [src.root, work]
        src.file("a.txt", TreeFixture.text(80_000, seed: 5))
        for (args, summary) in [([String](), "zstd level 2"), (["--level", "max"], "zstd level 19"),
                                (["--codec", "lz4x"], "lz4x level 2"), (["--codec", "lz4x", "--level", "9"], "lz4x level 9"),
                                (["--codec", "zstd", "--level", "fast"], "zstd level 1")] {
            let out = work + "/" + args.joined(separator: "-") + "x"
            let built = try runTool("gpuarc-build", ["--no-progress", "--json", out + ".json"] + args + [src.root, out])
            XCTAssertEqual(built.status, 0, built.err)
            XCTAssertTrue(built.out.contains(summary), "\(args): \(built.out)")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + ".json"))) as! [String: Any]
            XCTAssertEqual("\(json["codec"] ?? "") level \(json["level"] ?? "")", summary)
            let restored = try runTool("gpuarc-extract", [out + ".001", out + "-dest"])
            XCTAssertEqual(restored.status, 0, restored.err)
            XCTAssertEqual(FileManager.default.contents(atPath: out + "-dest/a.txt"), FileManager.default.contents(atPath: src.path("a.txt")))
        }
        for (args, message) in [(["--codec", "gzip"], "--codec must be auto, zstd or lz4x"),
                                (["--codec", "lz4x", "--level", "12"], "1 to 9"),
                                (["--level", "20"], "1 to 19"), (["--level", "0"], "1 to 19")] {
            let refused = try runTool("gpuarc-build", ["--no-progress"] + args + [src.root, work + "/refused"])
            XCTAssertNotEqual(refused.status, 0)
            XCTAssertTrue(refused.err.contains(message), "\(args): \(refused.err)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/refused.001"))
        }
    }

    func testBuildListVerifyExtractAndDamage() throws {
        let src = TreeFixture(root: TreeFixture.temporaryDirectory("cli-src"))
        let work = TreeFixture.temporaryDirectory("cli-out")
        cleanup += [src.root, work]
        src.file("a.txt", TreeFixture.text(50_000, seed: 1))
        src.file("sub/b.bin", TreeFixture.random(150_000, seed: 2))
        src.file("sub/a-copy.txt", TreeFixture.text(50_000, seed: 1))

        let built = try runTool("gpuarc-build", ["--no-progress", "--frame-size", "16K", "--volume-size", "64K",
                                             "--json", work + "/stats.json", src.root, work + "/arc"])
        XCTAssertEqual(built.status, 0, built.err)
        XCTAssertTrue(built.out.contains("duplicates: 1 files"), built.out)
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work + "/stats.json"))) as! [String: Any]
        XCTAssertEqual(json["duplicateFiles"] as? Int, 1)

        let list = try runTool("gpuarc-extract", [work + "/arc.001", "--list"])
        XCTAssertEqual(list.status, 0)
        XCTAssertTrue(list.out.contains("sub/b.bin"), list.out)

        XCTAssertEqual(try runTool("gpuarc-extract", [work + "/arc.001", "--verify"]).status, 0)
        let restored = try runTool("gpuarc-extract", [work + "/arc.002", work + "/dest"])
        XCTAssertEqual(restored.status, 0, restored.err)
        XCTAssertEqual(FileManager.default.contents(atPath: work + "/dest/sub/b.bin"),
                       FileManager.default.contents(atPath: src.path("sub/b.bin")))

        // Again without --force: refused, non-zero, names the file.
        let again = try runTool("gpuarc-extract", [work + "/arc.001", work + "/dest"])
        XCTAssertEqual(again.status, 1)
        XCTAssertTrue(again.err.contains("a.txt") && again.err.contains("--force"), again.err)

        // Damage every frame of volume 2: verify names the volume and fails.
        let v2 = work + "/arc.002"
        var bytes = try XCTUnwrap(FileManager.default.contents(atPath: v2).map { [UInt8]($0) })
        for i in stride(from: 100, to: bytes.count, by: 997) { bytes[i] ^= 0xFF }
        try Data(bytes).write(to: URL(fileURLWithPath: v2))
        let verify = try runTool("gpuarc-extract", [work + "/arc.001", "--verify"])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.err.contains("arc.002"), verify.err)
        XCTAssertTrue(verify.err.contains("damaged file"), verify.err)

        // A missing source is a clear error and exit 1; no volumes are left behind.
        let bad = try runTool("gpuarc-build", ["--no-progress", work + "/nope", work + "/none"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertTrue(bad.err.contains("nope"), bad.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: work + "/none.001"))
    }
}
