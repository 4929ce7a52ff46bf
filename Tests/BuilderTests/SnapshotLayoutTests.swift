import Archive
@testable import Builder
import XCTest

/// Snapshots of a tree kept as subdirectories of one SRC (`/backups/<date>/...`)
/// are versions, as if each had been given as a SRC of its own: the same
/// versions, the same storage order, an archive of (nearly) the same size.
final class SnapshotLayoutTests: ScratchTestCase {
    /// Four snapshots of a tree under `parent`, named so that name order and
    /// version order differ (day-9 before day-10): most files unchanged
    /// between snapshots, some edited, one added, one removed.
    func snapshots(in parent: String) -> [String] {
        var rng = SimilarityTestRNG(seed: 21)
        var files = (0..<12).map { _ in rng.text(6_000 + rng.below(30_000)) }
        var roots: [String] = []
        for (v, name) in ["day-8", "day-9", "day-10", "day-11"].enumerated() {
            let tree = TreeFixture(root: parent + "/" + name)
            for (i, bytes) in files.enumerated() where !(v == 3 && i == 5) {
                tree.file(i % 3 == 0 ? "src/lib/file\(i).txt" : "docs/page\(i).txt", bytes)
            }
            if v >= 2 { tree.file("src/new.txt", Array("added in day-10\n".utf8)) }
            roots.append(tree.root)
            files = files.enumerated().map { i, bytes in i % 4 == v ? rng.edited(bytes, count: 3) : bytes }
        }
        return roots
    }

    func scan(_ sources: [String], options: ScanOptions = ScanOptions()) throws -> ScannedTree {
        try TreeScanner.scan(try SourceRoots(sources.map { BytePath($0) }), options: options)
    }

    /// Version of every regular file, by its path below its snapshot.
    func versions(_ tree: ScannedTree) -> [String: [Int]] {
        var out: [String: [Int]] = [:]
        for id in tree.nodes.indices where tree.nodes[id].kind == .regular {
            let path = tree.displayPath(id).split(separator: "/").suffix(2).joined(separator: "/")
            out[path, default: []].append(tree.nodes[id].version)
        }
        return out.mapValues { $0.sorted() }
    }

    func testOneSRCOfSnapshotsHasTheVersionsOfSeparateSRCs() throws {
        let parent = temp("backups")
        let roots = snapshots(in: parent)
        let one = try scan([parent])
        let many = try scan(roots)
        XCTAssertEqual(one.versionRoots.map { one.nodes[$0].name }, ["day-8", "day-9", "day-10", "day-11"].map { Array($0.utf8) })
        XCTAssertEqual(versions(one), versions(many))
        XCTAssertEqual(versions(one)["src/new.txt"], [2, 3])
        // The same storage order: by path below the snapshot, then version.
        func order(_ tree: ScannedTree) -> [String] {
            let files = tree.primaryFiles
            return ContentOrder.path.arrange(files.map {
                ContentOrder.Item(node: $0, key: tree.variants.orderKey($0, in: tree), name: tree.nodes[$0].name, version: tree.nodes[$0].version)
            }).map { "\(tree.nodes[$0].version) " + tree.displayPath($0).split(separator: "/").suffix(3).joined(separator: "/") }
        }
        XCTAssertEqual(order(one), order(many))
        XCTAssertEqual(order(one).prefix(4), ["0 day-8/docs/page1.txt", "1 day-9/docs/page1.txt",
                                             "2 day-10/docs/page1.txt", "3 day-11/docs/page1.txt"])
    }

    func testBothLayoutsBuildTheSameArchive() throws {
        let parent = temp("backups")
        let roots = snapshots(in: parent)
        var options = BuildOptions()
        options.frameSize = 64 << 10
        options.deltas = true
        let oneOut = temp("one") + "/arc", manyOut = temp("many") + "/arc"
        let one = try ArchiveBuilder(sources: [parent], output: oneOut, options: options).run()
        let many = try ArchiveBuilder(sources: roots, output: manyOut, options: options).run()
        XCTAssertEqual(one.similarity, many.similarity, "the same chunks, duplicates and deltas")
        // Frames alike; the indexes differ: several SRCs make a versioned
        // archive, whose index keeps the builder state for appends.
        let frameBytes = { (s: BuildStats) in Double(s.outputBytes) - Double(s.indexBytes) }
        XCTAssertLessThan(abs(frameBytes(one) - frameBytes(many)), 0.01 * frameBytes(many))
        let a = try ArchiveReader(path: oneOut + ".001").index, b = try ArchiveReader(path: manyOut + ".001").index
        XCTAssertEqual(a.chunks, b.chunks)
        XCTAssertEqual(a.frames.map(\.decodedHash), b.frames.map(\.decodedHash), "the same bytes in the same frames")
    }

    /// Subdirectories holding the same paths with other contents (the
    /// languages of a locale tree) are no snapshots, but their files are
    /// still stored side by side; unrelated subdirectories are neither.
    func testLookalikeAndUnrelatedSubdirectories() throws {
        let locale = TreeFixture(root: temp("locale"))
        for (i, lang) in ["de", "fr", "it"].enumerated() {
            locale.file("\(lang)/LC_MESSAGES/app.mo", TreeFixture.text(3_000 + 700 * i, seed: UInt64(i)))
            locale.file("\(lang)/LC_MESSAGES/lib.mo", TreeFixture.text(5_000 + 900 * i, seed: UInt64(10 + i)))
        }
        let tree = try scan([locale.root])
        XCTAssertEqual(tree.versionRoots, [])
        XCTAssertTrue(tree.nodes.allSatisfy { $0.version == 0 })
        XCTAssertTrue(tree.variants.isVariantParent[0])
        let keys = tree.primaryFiles.map { String(decoding: tree.variants.orderKey($0, in: tree), as: UTF8.self) }.sorted()
        XCTAssertEqual(keys, ["LC_MESSAGES/app\0de\0.mo", "LC_MESSAGES/app\0fr\0.mo", "LC_MESSAGES/app\0it\0.mo",
                              "LC_MESSAGES/lib\0de\0.mo", "LC_MESSAGES/lib\0fr\0.mo", "LC_MESSAGES/lib\0it\0.mo"])

        let project = TreeFixture(root: temp("project"))
        project.file("src/main.c", TreeFixture.text(2_000, seed: 1))
        project.file("src/util.c", TreeFixture.text(2_000, seed: 2))
        project.file("docs/manual.txt", TreeFixture.text(2_000, seed: 3))
        let plain = try scan([project.root])
        XCTAssertEqual(plain.versionRoots, [])
        XCTAssertFalse(plain.variants.isVariantParent[0])
        XCTAssertEqual(plain.primaryFiles.map { String(decoding: plain.variants.orderKey($0, in: plain), as: UTF8.self) }.sorted(),
                       ["docs/manual.txt", "src/main.c", "src/util.c"])
    }

    func testSnapshotDetectionCanBeForcedOrTurnedOff() throws {
        let parent = temp("backups")
        _ = snapshots(in: parent)
        var off = ScanOptions()
        off.snapshots = .off
        XCTAssertEqual(try scan([parent], options: off).versionRoots, [])
        let project = TreeFixture(root: temp("project"))
        project.file("a/x", [1, 2, 3])
        project.file("b/y", [4, 5, 6])
        var on = ScanOptions()
        on.snapshots = .on
        let forced = try scan([project.root], options: on)
        XCTAssertEqual(forced.versionRoots.count, 2)
        XCTAssertEqual(forced.nodes[forced.versionRoots[1]].version, 1)
    }

    func testVersionOrderOfNames() {
        func sorted(_ names: [String]) -> [String] {
            names.map { Array($0.utf8) }.sorted(by: SnapshotLayout.versionPrecedes).map { String(decoding: $0, as: UTF8.self) }
        }
        XCTAssertEqual(sorted(["Django-4.2.10", "Django-4.2.2", "Django-4.2.1"]), ["Django-4.2.1", "Django-4.2.2", "Django-4.2.10"])
        XCTAssertEqual(sorted(["daily.10", "daily.9", "daily.09b", "weekly.1"]), ["daily.9", "daily.09b", "daily.10", "weekly.1"])
        XCTAssertEqual(sorted(["2026-11-02", "2026-11-01", "2026-10-31"]), ["2026-10-31", "2026-11-01", "2026-11-02"])
    }
}
