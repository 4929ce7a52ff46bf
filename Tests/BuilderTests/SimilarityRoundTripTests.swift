import ArchiveWriter
import XCTest
@testable import Archive
@testable import Builder

/// Builds with chunk dedup and delta encoding and checks that what comes back
/// is byte-exact, through the index's delta chunk records and the reader.
final class SimilarityRoundTripTests: ScratchTestCase {

    /// Four backups of one tree: files edited in every way between versions,
    /// one renamed (so its versions are not stored side by side), one copied
    /// into a larger file (chunk duplicates without whole-file duplicates).
    func versionSeries() -> [String] {
        let base = temp("series")
        var rng = SimilarityTestRNG(seed: 77)
        var files = (0..<6).map { _ in rng.text(40_000 + rng.below(40_000)) }
        var roots: [String] = []
        for v in 0..<4 {
            let tree = TreeFixture(root: base + "/v\(v)")
            for (i, bytes) in files.enumerated() {
                tree.file(i == 0 ? "moved/v\(v)/renamed\(v).txt" : "src/file\(i).txt", bytes)
            }
            tree.file("bundle.txt", files[1] + files[2])
            roots.append(tree.root)
            files = files.map { rng.edited($0, count: 6) }
        }
        return roots
    }

    func build(_ sources: [String], configure: (inout BuildOptions) -> Void = { _ in }) throws -> (String, BuildStats) {
        var options = BuildOptions()
        options.frameSize = 64 << 10
        options.threads = 2
        options.deltas = true
        configure(&options)
        let out = temp("out") + "/arc"
        return (out, try ArchiveBuilder(sources: sources, output: out, options: options).run())
    }

    func assertRestores(_ archive: String, _ sources: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let reader = try ArchiveReader(path: archive + ".001", options: ReaderOptions(cacheBytes: 1 << 20))
        let dest = temp("dest") + "/r"
        let report = try Extractor(reader: reader, destination: dest, options: ExtractOptions()).run()
        XCTAssertEqual(report.failures, [], file: file, line: line)
        for source in sources {
            let name = (source as NSString).lastPathComponent
            let diff = TreeSnapshot(source).differences(from: TreeSnapshot(dest + "/" + name))
            XCTAssertTrue(diff.isEmpty, "trees differ:\n" + diff.prefix(10).joined(separator: "\n"), file: file, line: line)
        }
    }

    /// Without --delta/--no-delta deltas are made where they pay: where files
    /// beyond the frame compressor's reach hold a quarter of the bytes.
    func testDeltasByDefaultOnlyWhereLargeFilesHoldTheBytes() throws {
        let reach = UInt64(ContentPacker.frameCompressorReach)
        XCTAssertFalse(BuildOptions.deltasPay(sizes: []))
        XCTAssertFalse(BuildOptions.deltasPay(sizes: Array(repeating: 100_000, count: 1000)))
        XCTAssertFalse(BuildOptions.deltasPay(sizes: [reach, reach]), "at the reach, not beyond it")
        XCTAssertTrue(BuildOptions.deltasPay(sizes: [reach + 1] + Array(repeating: 1000, count: 1000)))
        XCTAssertFalse(BuildOptions.deltasPay(sizes: [reach + 1] + Array(repeating: 100_000, count: 200)))
        // The whole choice: flags first, then tree order, then the append's share, then the rule above.
        let defaults = try BuildOptions().validated()
        XCTAssertEqual(defaults.deltaChoice(storing: [100_000], archiveStores: nil).on, false)
        XCTAssertEqual(defaults.deltaChoice(storing: [reach + 1], archiveStores: nil).on, true)
        XCTAssertEqual(defaults.deltaChoice(storing: [62_500], archiveStores: 1_000_000).on, true, "1/16 of the archive")
        let smallAppend = defaults.deltaChoice(storing: [62_499], archiveStores: 1_000_000)
        XCTAssertFalse(smallAppend.on)
        XCTAssertTrue(smallAppend.offBecause.contains("this append stores less than 1/16"), smallAppend.offBecause)
        var forced = BuildOptions(); forced.deltas = true
        XCTAssertTrue(try forced.validated().deltaChoice(storing: [100], archiveStores: 1_000_000).on)
        var tree = BuildOptions(); tree.order = .tree
        XCTAssertTrue(try tree.validated().deltaChoice(storing: [100], archiveStores: nil).on)
        var off = BuildOptions(); off.deltas = false; off.order = .tree
        XCTAssertEqual(try off.validated().deltaChoice(storing: [reach + 1], archiveStores: nil).offBecause, "--no-delta")
        var nodedup = BuildOptions(); nodedup.dedup = false; nodedup.deltas = true
        XCTAssertEqual(try nodedup.validated().deltaChoice(storing: [reach + 1], archiveStores: nil).offBecause, "--no-dedup")

        // Two versions of a 4.5 MiB text, edited: deltas on, and they find the edit.
        let work = temp("pay")
        let text = TreeFixture.text(Int(reach) + 512 << 10, seed: 31)
        var edited = text
        for k in stride(from: 5000, to: edited.count, by: 300_000) { edited[k] ^= 0x20 }
        let big = TreeFixture(root: work + "/big")
        big.file("v1/log.txt", text)
        big.file("v2/log.txt", edited)
        var options = BuildOptions()
        options.threads = 2
        let stats = try ArchiveBuilder(sources: [big.root], output: temp("pay-out") + "/arc", options: options).run()
        XCTAssertTrue(stats.deltas)
        XCTAssertGreaterThan(stats.similarity.deltaChunks, 0)
        let one = try ArchiveBuilder(sources: [big.root + "/v1"], output: temp("pay-one") + "/arc", options: options).run()
        XCTAssertLessThan(Double(stats.outputBytes), Double(one.outputBytes) * 1.1, "the second version costs little")
        // Many small files: off, and the summary says why.
        let small = TreeFixture(root: work + "/small")
        for i in 0..<20 { small.file("f\(i).txt", TreeFixture.text(20_000, seed: UInt64(i))) }
        let plain = try ArchiveBuilder(sources: [small.root], output: temp("pay-small") + "/arc", options: options).run()
        XCTAssertFalse(plain.deltas)
        XCTAssertTrue(plain.summary().contains("deltas: off (files larger than 4.0 MiB hold less than a quarter"), plain.summary())
        options.deltas = false
        XCTAssertTrue(try ArchiveBuilder(sources: [big.root], output: temp("pay-off") + "/arc", options: options).run()
            .summary().contains("deltas: off (--no-delta)"))
    }

    /// zstd deltas with zstd frames (the default), LZ4X deltas with LZ4X frames.
    func testDeltaChunksRoundTrip() throws {
        try assertDeltaChunksRoundTrip(codec: .zstd, kind: .zstdDelta)
    }

    func testLZ4XDeltaChunksRoundTrip() throws {
        try assertDeltaChunksRoundTrip(codec: .lz4x, kind: .delta)
    }

    func assertDeltaChunksRoundTrip(codec: FrameCodec, kind: ChunkKind) throws {
        let sources = versionSeries()
        let (out, stats) = try build(sources) { $0.codec = codec }
        let s = stats.similarity
        XCTAssertGreaterThan(s.deltaChunks, 0)
        XCTAssertGreaterThan(s.duplicateChunks, 0, "the bundle repeats chunks of other files")
        XCTAssertGreaterThan(s.deltaBytesSaved, 0)
        let index = try ArchiveReader(path: out + ".001").index
        XCTAssertTrue(index.frames.contains { $0.codec == codec })
        XCTAssertFalse(index.frames.contains { $0.codec != codec && $0.codec != .raw })
        let deltas = index.chunks.filter { $0.kind == kind }
        XCTAssertEqual(deltas.count, s.deltaChunks)
        // Versions coded against the version before (chains), within the limit.
        let depths = index.chunks.indices.map { index.deltaDepth(of: $0) }
        XCTAssertGreaterThan(depths.max() ?? 0, 1, "no delta chain")
        XCTAssertLessThanOrEqual(depths.max() ?? 0, ArchiveIndex.maxDeltaDepth)
        try assertRestores(out, sources)
    }

    /// At the default level, with deltas on, a zstd frame that stands for
    /// more source bytes than its size (the later versions, mostly
    /// duplicates and deltas) is compressed at a higher level; the first
    /// version's frames, of new bytes, at the default. Without deltas, or
    /// with a level asked for, every frame has the one level. Each archive
    /// restores exactly.
    func testFrameLevelFollowsTheSourceBytesItStandsFor() throws {
        XCTAssertEqual(ZstdLevel.level(standingFor: 0, frameBytes: 0), ZstdLevel.default)
        XCTAssertEqual(ZstdLevel.level(standingFor: 119, frameBytes: 100), ZstdLevel.default)
        XCTAssertEqual(ZstdLevel.level(standingFor: 120, frameBytes: 100), 3)
        XCTAssertEqual(ZstdLevel.level(standingFor: 520, frameBytes: 100), 9)
        XCTAssertEqual(ZstdLevel.level(standingFor: 1 << 40, frameBytes: 1), 9)
        let levels = (0...600).map { ZstdLevel.level(standingFor: $0, frameBytes: 100) }
        XCTAssertEqual(levels, levels.sorted(), "more source bytes never lower the level")

        let sources = versionSeries()
        let (scaled, stats) = try build(sources)
        let used = Set(stats.framesByLevel.keys.compactMap { Int($0) })
        XCTAssertTrue(used.contains(ZstdLevel.default), "\(stats.framesByLevel)")
        XCTAssertGreaterThan(used.max() ?? 0, ZstdLevel.default, "\(stats.framesByLevel)")
        XCTAssertTrue(stats.summary().contains("zstd level 2 and up (frames by level: "), stats.summary())
        try assertRestores(scaled, sources)
        for configure: (inout BuildOptions) -> Void in [{ $0.deltas = false }, { $0.level = 2 }] {
            let (out, fixed) = try build(sources, configure: configure)
            XCTAssertEqual(Array(fixed.framesByLevel.keys), ["2"], "\(fixed.framesByLevel)")
            try assertRestores(out, sources)
        }
    }

    /// Analysis ahead on its own thread stores exactly what inline analysis
    /// stores: the same decisions, chunk records and frame contents. A 3 MB
    /// file per version makes the preparer hand over files in several pieces.
    func testAnalyzingAheadStoresWhatInlineAnalysisStores() throws {
        var sources = versionSeries()
        var rng = SimilarityTestRNG(seed: 78)
        var large = rng.text(3_000_000)
        for source in sources {
            TreeFixture(root: source).file("large.txt", large)
            large = rng.edited(large, count: 20)
        }
        sources.append(temp("empty-version"))
        let (aheadOut, ahead) = try build(sources) { $0.analyzeAhead = true }
        let (inlineOut, inline) = try build(sources) { $0.analyzeAhead = false }
        XCTAssertGreaterThan(ahead.similarity.deltaChunks, 0)
        XCTAssertGreaterThan(ahead.similarity.filterRejections + ahead.similarity.deltaChunks, 0)
        XCTAssertEqual(ahead.similarity, inline.similarity)
        let a = try ArchiveReader(path: aheadOut + ".001").index
        let b = try ArchiveReader(path: inlineOut + ".001").index
        XCTAssertEqual(a.chunks, b.chunks)
        XCTAssertEqual(a.frames.map(\.decodedHash), b.frames.map(\.decodedHash))
        XCTAssertEqual(a.frames.count, b.frames.count)
        try assertRestores(aheadOut, sources)
    }

    func testNoDeltaAndTierOneBuildsRoundTrip() throws {
        let sources = versionSeries()
        let (plainOut, plain) = try build(sources) { $0.similarity.deltaEnabled = false }
        XCTAssertEqual(plain.similarity.deltaChunks, 0)
        XCTAssertGreaterThan(plain.similarity.duplicateChunks, 0)
        try assertRestores(plainOut, sources)
        let (tierOut, tier) = try build(sources) { $0.similarity.index = SimilarityIndexOptions(enabledTiers: 1) }
        XCTAssertEqual(tier.similarity.deltaHits[1] + tier.similarity.deltaHits[2], 0)
        try assertRestores(tierOut, sources)
    }

    func testSmallChunksAndFramesRoundTrip() throws {
        let sources = Array(versionSeries().prefix(2))
        let (out, stats) = try build(sources) {
            $0.chunkSize = 512
            $0.frameSize = 2 << 10
        }
        XCTAssertGreaterThan(stats.similarity.chunks, 500)
        try assertRestores(out, sources)
    }

    func testStatsReachTheJSONReport() throws {
        let (_, stats) = try build(Array(versionSeries().prefix(2)))
        let json = try stats.json()
        XCTAssertEqual(stats.similarity.indexEntries.count, 3)
        for key in ["\"similarity\"", "\"deltaHits\"", "\"indexEntries\"", "\"filterRejections\"", "\"chunkDedupBytesSaved\"", "\"deltaBytesSaved\""] {
            XCTAssertTrue(json.contains(key), "missing \(key)")
        }
    }
}
