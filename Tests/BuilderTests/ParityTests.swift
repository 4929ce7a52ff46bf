import Foundation
import Glibc
import XCTest
@testable import Archive
@testable import ArchiveWriter
@testable import Builder

/// Parity volumes and repair: an archive of 10 data volumes with `--parity 2`
/// loses every pair of its 12 volumes in turn, random damage in up to two,
/// and three at once; the index of an archive without parity is damaged.
/// Repairs must give back every volume byte for byte, readers must serve
/// every file exactly through what is lost, and what is beyond repair is named.
final class ParityTests: ScratchTestCase {
    /// An archive of 10+ data volumes and 2 parity volumes, with the bytes
    /// of every volume as built.
    private func parityArchive(parity: Int = 2) throws -> (source: String, base: String, volumes: [String: [UInt8]]) {
        let f = TreeFixture(root: temp("src"))
        // Random bytes do not compress: each 40 KB file fills most of a 64 KiB volume.
        for i in 0..<14 { f.file("d\(i % 3)/f\(i).bin", TreeFixture.random(40_000, seed: UInt64(i + 1))) }
        f.file("text.txt", TreeFixture.text(30_000, seed: 99))
        let base = temp("out") + "/arc"
        var options = BuildOptions()
        options.frameSize = 32 << 10
        options.volumeSize = 64 << 10
        options.threads = 2
        options.parity = .volumes(parity)
        let stats = try ArchiveBuilder(sources: [f.root], output: base, options: options).run()
        XCTAssertGreaterThanOrEqual(stats.volumes.count, 10)
        XCTAssertEqual(stats.parityVolumes, parity)
        var volumes: [String: [UInt8]] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: (base as NSString).deletingLastPathComponent) {
            volumes[name] = ArchiveDamage.readFile(BytePath((base as NSString).deletingLastPathComponent + "/" + name))
        }
        return (f.root, base, volumes)
    }

    private func dir(_ base: String) -> String { (base as NSString).deletingLastPathComponent }

    /// Every volume on disk is what was built.
    private func assertVolumesAsBuilt(_ base: String, _ volumes: [String: [UInt8]], _ what: String, line: UInt = #line) {
        for (name, bytes) in volumes {
            XCTAssertTrue(ArchiveDamage.readFile(BytePath(dir(base) + "/" + name)) == bytes, "\(what): \(name) differs", line: line)
        }
    }

    private func restore(_ base: String, _ volumes: [String: [UInt8]]) {
        for (name, bytes) in volumes {
            let path = dir(base) + "/" + name
            unlink(path)
            XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        }
    }

    /// Any two of the 12 volumes (data, the last with the index, parity)
    /// missing: repaired byte for byte, and before that, every file reads
    /// back exactly through them.
    func testEveryPairOfMissingVolumesIsRepaired() throws {
        let (source, base, volumes) = try parityArchive()
        let names = volumes.keys.filter { $0 != "arc.idx" }.sorted()
        XCTAssertEqual(names.filter { $0.hasPrefix("arc.p") }, ["arc.p01", "arc.p02"])
        var pairs = 0
        for (i, a) in names.enumerated() {
            for b in names[(i + 1)...] {
                unlink(dir(base) + "/" + a)
                unlink(dir(base) + "/" + b)
                if pairs % 11 == 0 {   // reading through the loss: a sample of the pairs
                    let reader = try ArchiveReader(path: base + ".001")
                    XCTAssertEqual(ArchiveDamage.readAll(reader, source: source), [:], "\(a) + \(b) missing")
                }
                let report = try ArchiveRepair.repair(BytePath(base + ".001"))
                XCTAssertEqual(Set(report.rebuilt.map { $0.lastComponent }), [Array(a.utf8), Array(b.utf8)], "\(a) + \(b)")
                assertVolumesAsBuilt(base, volumes, "\(a) + \(b) missing")
                pairs += 1
            }
        }
        XCTAssertEqual(pairs, names.count * (names.count - 1) / 2)
    }

    /// Random damage (flipped bytes, a zeroed 4 KiB, a truncation, a volume
    /// replaced by junk) in one or two volumes: found, repaired byte for byte.
    func testRandomDamageInUpToTwoVolumesIsRepaired() throws {
        let (_, base, volumes) = try parityArchive()
        let names = volumes.keys.filter { $0 != "arc.idx" }.sorted()
        var rng = XorShift64(state: 0x5EED_0F_DA_A9E)
        for trial in 0..<30 {
            let victims = Set((0..<(1 + trial % 2)).map { _ in names[Int(rng.next() % UInt64(names.count))] })
            for victim in victims {
                var bytes = volumes[victim]!
                switch rng.next() % 4 {
                case 0: for _ in 0..<5 { bytes[Int(rng.next() % UInt64(bytes.count))] ^= 0x5A }
                case 1:
                    let at = Int(rng.next() % UInt64(bytes.count - 4096))
                    bytes.replaceSubrange(at..<(at + 4096), with: repeatElement(0, count: 4096))
                case 2: bytes.removeLast(1 + Int(rng.next() % UInt64(bytes.count - 1)))
                default: bytes = TreeFixture.random(bytes.count, seed: rng.next())
                }
                unlink(dir(base) + "/" + victim)
                XCTAssertTrue(FileManager.default.createFile(atPath: dir(base) + "/" + victim, contents: Data(bytes)))
            }
            let (damage, _) = try ArchiveRepair.check(BytePath(base + ".001"))
            XCTAssertEqual(Set(damage.blocks.map { String(decoding: $0.volume.lastComponent, as: UTF8.self) }), victims, "trial \(trial)")
            XCTAssertTrue(damage.isRepairable, "trial \(trial)")
            _ = try ArchiveRepair.repair(BytePath(base + ".001"))
            assertVolumesAsBuilt(base, volumes, "trial \(trial): \(victims.sorted())")
            XCTAssertTrue(try ArchiveRepair.check(BytePath(base + ".001")).0.isIntact)
        }
    }

    /// Three volumes lost with two parity volumes: beyond repair, the three
    /// named, nothing rewritten; the files in the other volumes still read.
    func testThreeLostVolumesAreNamedBeyondRepair() throws {
        let (_, base, volumes) = try parityArchive()
        for victim in ["arc.002", "arc.005", "arc.p01"] { unlink(dir(base) + "/" + victim) }
        let report = try ArchiveRepair.repair(BytePath(base + ".001"))
        XCTAssertEqual(report.damage.beyondRepair.map(\.description).sorted(), ["\(base).002", "\(base).005", "\(base).p01"])
        XCTAssertEqual(report.rebuilt, [])
        XCTAssertFalse(report.damage.unrepairableStripes.isEmpty)
        XCTAssertFalse(FileManager.default.fileExists(atPath: base + ".002"), "nothing written for what cannot be rebuilt")
        restore(base, volumes)
    }

    /// Extract through two missing volumes (the last one, with the index,
    /// among them) restores every file exactly and says what it did.
    func testExtractThroughTwoMissingVolumes() throws {
        let (source, base, volumes) = try parityArchive()
        let last = volumes.keys.filter { $0.hasPrefix("arc.0") }.max()!
        unlink(dir(base) + "/" + last)
        unlink(dir(base) + "/arc.004")
        unlink(dir(base) + "/arc.idx")
        let reader = try ArchiveReader(path: base + ".001")
        XCTAssertTrue(reader.notices.contains { $0.contains("rebuilt it from parity") }, "\(reader.notices)")
        let dest = temp("dest") + "/r"
        let report = try Extractor(reader: reader, destination: dest).run()
        XCTAssertEqual(report.failures, [])
        let diff = TreeSnapshot(source).differences(from: TreeSnapshot(dest))
        XCTAssertTrue(diff.isEmpty, diff.joined(separator: "\n"))
        XCTAssertGreaterThan(reader.volumes.readsRebuiltFromParity, 0)
    }

    /// Without parity, damage to the index at the end of the last volume
    /// (zeroed bytes, the footer cut off) costs nothing: readers take the
    /// copy OUT.idx and say so. Both copies gone: refused, naming both.
    func testTheIndexCopyStandsInForADamagedIndex() throws {
        let f = TreeFixture(root: temp("src"))
        for i in 0..<6 { f.file("f\(i).txt", TreeFixture.text(30_000, seed: UInt64(i))) }
        let base = temp("out") + "/arc"
        var options = BuildOptions()
        options.frameSize = 16 << 10
        options.volumeSize = 32 << 10
        _ = try ArchiveBuilder(sources: [f.root], output: base, options: options).run()
        let lastPath = try ArchiveReader(path: base + ".001").volumes.paths.last!.description
        let original = ArchiveDamage.readFile(BytePath(lastPath))!
        for damage in ["zeroed", "no footer"] {
            var bytes = original
            if damage == "zeroed" {
                bytes.replaceSubrange((bytes.count - 200)..<(bytes.count - 100), with: repeatElement(0, count: 100))
            } else {
                bytes.removeLast(30)
            }
            XCTAssertTrue(FileManager.default.createFile(atPath: lastPath, contents: Data(bytes)))
            let reader = try ArchiveReader(path: base + ".001")
            XCTAssertTrue(reader.notices.contains { $0.contains("read its copy") && $0.contains("arc.idx") }, "\(damage): \(reader.notices)")
            XCTAssertEqual(ArchiveDamage.readAll(reader, source: f.root), [:], damage)
        }
        unlink(base + ".idx")
        XCTAssertThrowsError(try ArchiveReader(path: base + ".001")) { error in
            XCTAssertTrue("\(error)".contains("no usable index") || "\(error)".contains("footer"), "\(error)")
        }
    }

    /// Reed-Solomon on its own: every pattern of up to `parity` lost shards
    /// of random stripes is rebuilt exactly; one more is refused.
    func testReedSolomonRebuildsAnyErasures() {
        var rng = XorShift64(state: 42)
        for (k, n) in [(1, 1), (3, 2), (10, 2), (6, 4)] {
            let code = ReedSolomon(dataCount: k, parityCount: n)
            let length = 1000
            let shards = (0..<(k + n)).map { _ in UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 64) }
            defer { shards.forEach { $0.deallocate() } }
            for s in 0..<k { for i in 0..<length { shards[s].storeBytes(of: UInt8(truncatingIfNeeded: rng.next()), toByteOffset: i, as: UInt8.self) } }
            code.encode(data: Array(shards[0..<k]), parity: Array(shards[k...]), length: length)
            let original = shards.map { Array(UnsafeRawBufferPointer(start: $0, count: length)) }
            for _ in 0..<40 {
                let lost = Set((0..<Int(1 + rng.next() % UInt64(n))).map { _ in Int(rng.next() % UInt64(k + n)) })
                for s in lost { shards[s].initializeMemory(as: UInt8.self, repeating: 0xEE, count: length) }
                XCTAssertTrue(code.reconstruct(shards, lost: lost, length: length), "k \(k) n \(n) lost \(lost)")
                for s in 0..<(k + n) { XCTAssertEqual(Array(UnsafeRawBufferPointer(start: shards[s], count: length)), original[s], "k \(k) n \(n) lost \(lost)") }
            }
            XCTAssertFalse(code.reconstruct(shards, lost: Set(0...n), length: length), "more lost than parity")
        }
    }

    /// A parity volume's header or manifest damaged: refused with a message
    /// (the other parity volume carries the layout too).
    func testDamagedParityHeadersAreRefused() throws {
        let (_, base, volumes) = try parityArchive()
        let p1 = volumes["arc.p01"]!
        let layout = try ParityLayout.decode(BytePath(base + ".p01")) { offset, count in Array(p1[Int(offset)..<min(p1.count, Int(offset) + count)]) }.layout
        for at in [0, 9, 30, 61, ParityLayout.headerSize + 3, layout.firstBlockOffset - 2] {
            var bytes = p1
            bytes[at] ^= 0x10
            XCTAssertThrowsError(try ParityLayout.decode(BytePath("p")) { offset, count in Array(bytes[Int(offset)..<min(bytes.count, Int(offset) + count)]) },
                                 "flip at \(at)")
        }
        // Repair puts the damaged parity volume right from the other's layout.
        var bytes = p1
        bytes[ParityLayout.headerSize + 3] ^= 0x10
        XCTAssertTrue(FileManager.default.createFile(atPath: base + ".p01", contents: Data(bytes)))
        let report = try ArchiveRepair.repair(BytePath(base + ".001"))
        XCTAssertEqual(report.rebuilt.map(\.description), [base + ".p01"])
        assertVolumesAsBuilt(base, volumes, "parity header")
    }
}
