import Foundation
import XCTest
@testable import Archive
@testable import Builder

/// A reader that lists an archive's files just before a writer commits a
/// new archive over it (a rebuild: every old volume replaced or removed)
/// finds what it opened inconsistent, looks again and opens the new archive
/// whole: never a mix, never a loss reported that is not one. The commit
/// runs at a hook between the reader's listing and its opens, so the race
/// is the same every time.
final class CommitRaceTests: ScratchTestCase {
    override func tearDown() {
        ArchiveOpener.afterLocate = nil
        super.tearDown()
    }

    func testAReaderRacingARebuildOpensTheNewArchive() throws {
        let old = TreeFixture(root: temp("race-old") + "/tree")
        old.dir("")
        for k in 0..<6 { old.file("f\(k).bin", TreeFixture.random(50_000, seed: UInt64(k))) }
        let new = TreeFixture(root: temp("race-new") + "/tree")
        new.dir("")
        new.file("only.txt", Array("the new archive\n".utf8))
        let out = temp("race-out") + "/arc"
        var options = BuildOptions()
        options.frameSize = 16 << 10
        options.volumeSize = 64 << 10
        options.threads = 2
        _ = try ArchiveBuilder(sources: [BytePath(old.root)], output: BytePath(out), options: options).run()
        XCTAssertGreaterThan(try ArchiveReader(path: out + ".001").volumes.paths.count, 3)

        var committed = false
        ArchiveOpener.afterLocate = {
            guard !committed else { return }
            committed = true
            do {
                var builder = ArchiveBuilder(sources: [BytePath(new.root)], output: BytePath(out), options: options)
                _ = try builder.run()
            } catch {
                XCTFail("the rebuild failed: \(error)")
            }
        }
        let reader = try ArchiveReader(path: out + ".001")
        XCTAssertTrue(committed)
        XCTAssertNil(reader.lost)
        XCTAssertEqual(reader.notices, [])
        XCTAssertEqual(reader.volumes.problems.count, 0)
        XCTAssertEqual(reader.volumes.paths.count, 1)
        let dest = temp("race-dest") + "/r"
        XCTAssertEqual(try Extractor(reader: reader, destination: dest).run().failures, [])
        let diff = TreeSnapshot(new.root).differences(from: TreeSnapshot(dest))
        XCTAssertTrue(diff.isEmpty, diff.prefix(10).joined(separator: "\n"))
    }
}
