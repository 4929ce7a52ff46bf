import Archive
import Glibc
import XCTest
@testable import Builder

/// Stored chunks kept in memory (or forgotten, to test a stage without them).
private final class MemoryChunks: ChunkReading {
    var stored: [UInt32: [UInt8]] = [:]
    var fetches = 0
    let keepsBytes: Bool
    init(keepsBytes: Bool) { self.keepsBytes = keepsBytes }
    func bytes(of id: UInt32) -> [UInt8]? {
        fetches += 1
        return keepsBytes ? stored[id] : nil
    }
}

/// A stage over an in-memory chunk store, the way the builder drives it:
/// every stored chunk is placed in the table, chunk n in frame n.
private final class StageHarness {
    let chunks: MemoryChunks
    var stored: [UInt32: [UInt8]] { chunks.stored }
    var fetches: Int { chunks.fetches }
    let coder: DeltaCoder
    let table = ChunkTable()
    let stage: SimilarityStage

    init(options: SimilarityStageOptions = SimilarityStageOptions(), coder: DeltaCoder = CopyInsertDeltaCoder(), keepsBytes: Bool = true) {
        self.coder = coder
        chunks = MemoryChunks(keepsBytes: keepsBytes)
        stage = SimilarityStage(options: options, coder: coder, table: table, chunks: chunks)
        table.beginFile(ChunkTable.SourceFile(node: 0, identity: FileIdentity(stat()), extents: nil))
    }

    /// Processes `chunk` (with the frame being filled as `frame` describes)
    /// and checks that its decision rebuilds it.
    @discardableResult
    func process(_ chunk: [UInt8], frame: FrameView? = nil, file: StaticString = #filePath, line: UInt = #line) -> ChunkDecision {
        let decision = stage.process(chunk, frame: frame)
        switch decision {
        case .duplicate(let id):
            XCTAssertEqual(stored[id], chunk, file: file, line: line)
        case .literal(let id):
            chunks.stored[id] = chunk
            table.place(id, .literal(frame: id, offset: 0, length: UInt32(chunk.count)), offset: 0)
        case .delta(let id, let base, _, let encoded):
            XCTAssertEqual(coder.decode(encoded, base: stored[base]!, targetLength: chunk.count), chunk, file: file, line: line)
            chunks.stored[id] = chunk
            table.place(id, ChunkRecord(kind: .delta, frame: id, offset: 0, storedLength: UInt32(encoded.count),
                                        length: UInt32(chunk.count), base: base), offset: 0)
        }
        return decision
    }

    func processVersion(_ version: Int, _ data: [UInt8], chunker: ContentDefinedChunker) {
        stage.beginVersion(version)
        var offset = 0
        for length in chunker.chunkLengths(of: data) {
            process(Array(data[offset..<(offset + length)]))
            offset += length
        }
    }
}

/// Delta coder whose deltas are always worse than its lossless compression.
private struct WorseThanLosslessCoder: DeltaCoder {
    var kind: ChunkKind { .delta }
    func encode(target: UnsafeRawBufferPointer, base: [UInt8]) -> [UInt8]? {
        Array(target.prefix(base.isEmpty ? target.count / 4 : target.count / 2))
    }
    func decode(_ delta: [UInt8], base: [UInt8], targetLength: Int) -> [UInt8]? { nil }
}

final class SimilarityStageTests: XCTestCase {
    /// 8 KiB of text and a copy with one byte changed: the closest pair a delta can get.
    private func textAndOneByteEdit(seed: UInt64) -> ([UInt8], [UInt8]) {
        var rng = SimilarityTestRNG(seed: seed)
        let chunk = rng.text(8192)
        var edited = chunk
        edited[10] ^= 1
        return (chunk, edited)
    }


    private func tier(of decision: ChunkDecision) -> Int? {
        if case .delta(_, _, let tier, _) = decision { return tier }
        return nil
    }

    /// `chunk` with random byte edits added one at a time until an index that
    /// holds only `chunk` finds the result on `tier` and no stricter tier.
    private func variant(of chunk: [UInt8], foundOnlyOnTier tier: Int) throws -> [UInt8] {
        let extractor = ChunkFeatureExtractor()
        var index = SimilarityIndex()
        index.startVersion(0)
        index.insert(SuperFeatures(features: extractor.features(of: chunk)), chunkID: 0)
        for seed in 0..<40 as Range<UInt64> {
            var rng = SimilarityTestRNG(seed: 1000 + seed)
            var edited = chunk
            for _ in 0..<600 {
                edited[rng.below(edited.count)] = UInt8(truncatingIfNeeded: rng.next())
                let found = index.lookup(SuperFeatures(features: extractor.features(of: edited)))?.tier
                if found == tier { return edited }
                if found == nil || found! > tier { break }
            }
        }
        // Deterministic inputs: finding none means the features changed, which the test must report.
        XCTFail("no variant found only on tier \(tier)")
        return chunk
    }

    func testExactDuplicatesAreConfirmedAndCounted() {
        var rng = SimilarityTestRNG(seed: 20)
        let chunk = rng.text(6000)
        let harness = StageHarness()
        XCTAssertEqual(harness.process(chunk), .literal(id: 0))
        XCTAssertEqual(harness.process(rng.text(6000)), .literal(id: 1))
        let fetchesBefore = harness.fetches
        XCTAssertEqual(harness.process(chunk), .duplicate(of: 0))
        XCTAssertEqual(harness.fetches, fetchesBefore + 1, "a duplicate is confirmed byte for byte")
        XCTAssertEqual(harness.stage.stats.duplicateChunks, 1)
        XCTAssertEqual(harness.stage.stats.dedupBytesSaved, 6000)
    }

    func testChangedSourcesAreNeitherDuplicatesNorBases() {
        let (chunk, edited) = textAndOneByteEdit(seed: 28)
        let harness = StageHarness()
        harness.process(chunk)
        harness.chunks.stored[0]![100] ^= 1  // the source file changed after it was chunked
        XCTAssertEqual(harness.process(edited), .literal(id: 1))
        XCTAssertEqual(harness.stage.stats.unavailableBases, 1)
        XCTAssertEqual(harness.process(chunk), .literal(id: 2))
        XCTAssertEqual(harness.stage.stats.unconfirmedDuplicates, 1)
    }

    /// An analysis made ahead leaves out the resemblance of a chunk whose
    /// digest it saw before; when that chunk is not a duplicate after all (its
    /// twin's source changed), the stage computes it and still finds the delta.
    func testResemblanceLeftOutAheadIsComputedWhenNeeded() {
        let (chunk, edited) = textAndOneByteEdit(seed: 30)
        let harness = StageHarness()
        harness.process(chunk)
        var ahead = ChunkAnalyzer(options: SimilarityStageOptions(), estimator: CopyInsertDeltaCoder())
        let first = edited.withUnsafeBytes { ahead.analyzeAhead($0) }
        let again = edited.withUnsafeBytes { ahead.analyzeAhead($0) }
        XCTAssertNotNil(first.resemblance)
        XCTAssertNil(again.resemblance, "the same digest a second time: most likely a duplicate")
        let decision = edited.withUnsafeBytes { harness.stage.process($0, analysis: again) }
        guard case .delta(_, let base, _, _) = decision else { return XCTFail("expected a delta, got \(decision)") }
        XCTAssertEqual(base, 0)
    }

    func testDigestAloneConfirmsWhenBytesAreGone() {
        var rng = SimilarityTestRNG(seed: 21)
        let chunk = rng.bytes(5000)
        let stage = SimilarityStage(coder: CopyInsertDeltaCoder(), table: ChunkTable(), chunks: MemoryChunks(keepsBytes: false))
        XCTAssertEqual(stage.process(chunk), ChunkDecision.literal(id: 0))
        XCTAssertEqual(stage.process(chunk), ChunkDecision.duplicate(of: 0))
    }

    /// Without deltas or a builder state, chunks are filed under XXH64,
    /// which proves nothing: a digest match is a duplicate only once the
    /// bytes compare equal, and one whose earlier bytes are gone is stored.
    func testXXH64DigestsAreOnlyCandidates() {
        var plain = SimilarityStageOptions(deltaEnabled: false)
        XCTAssertEqual(plain.digestKind, .xxh64)
        plain.recordFeatures = true
        XCTAssertEqual(plain.digestKind, .sha256, "the builder state keeps digests for appends")
        XCTAssertEqual(SimilarityStageOptions().digestKind, .sha256, "delta bases are checked against their digest")
        plain.recordFeatures = false

        var rng = SimilarityTestRNG(seed: 23)
        let chunk = rng.bytes(5000)
        let forgetful = StageHarness(options: plain, keepsBytes: false)
        XCTAssertEqual(forgetful.process(chunk), .literal(id: 0))
        XCTAssertEqual(forgetful.process(chunk), .literal(id: 1), "an XXH64 match that cannot be compared is stored")
        XCTAssertEqual(forgetful.stage.stats.unconfirmedDuplicates, 1)

        let harness = StageHarness(options: plain)
        XCTAssertEqual(harness.process(chunk), .literal(id: 0))
        XCTAssertEqual(harness.process(chunk), .duplicate(of: 0))
        // A collision: other bytes under the same digest are compared and stored.
        let other = rng.bytes(5000)
        let forged = ChunkAnalysis(digest: ChunkDigest(of: chunk, kind: .xxh64), sampledForFilter: false, resemblance: nil)
        XCTAssertEqual(other.withUnsafeBytes { harness.stage.process($0, analysis: forged) }, .literal(id: 1))
        XCTAssertEqual(harness.stage.stats.unconfirmedDuplicates, 1)
        XCTAssertEqual(harness.stage.stats.duplicateChunks, 1)
    }

    func testVersionSeriesHitsAllThreeTiers() {
        var rng = SimilarityTestRNG(seed: 22)
        let chunker = ContentDefinedChunker(averageSize: 4096)
        let harness = StageHarness()
        var data = rng.text(256 * 1024)
        for version in 0..<8 {
            harness.processVersion(version, data, chunker: chunker)
            // Light edits everywhere, plus a region rewritten densely enough
            // that only the looser tiers still recognise it.
            data = rng.edited(data, count: 40)
            let start = rng.below(data.count - 40_000)
            for _ in 0..<(30 + 30 * (version % 3)) { data[start + rng.below(40_000)] = UInt8(97 + rng.below(26)) }
        }
        let stats = harness.stage.stats
        XCTAssertGreaterThan(stats.deltaHits[0], 0)
        XCTAssertGreaterThan(stats.deltaHits[1], 0)
        XCTAssertGreaterThan(stats.deltaHits[2], 0)
        XCTAssertGreaterThan(stats.duplicateChunks, 0)
        XCTAssertGreaterThan(stats.deltaBytesSaved, stats.deltaInputBytes / 2)
        XCTAssertEqual(stats.literalChunks + stats.deltaChunks + stats.duplicateChunks, stats.chunks)
    }

    func testConstructedVariantsHitOnlyTierTwoOrThree() throws {
        var rng = SimilarityTestRNG(seed: 23)
        let chunk = rng.text(8192)
        for wanted in [2, 3] {
            let edited = try variant(of: chunk, foundOnlyOnTier: wanted)
            let harness = StageHarness()
            harness.stage.beginVersion(0)
            harness.process(chunk)
            harness.stage.beginVersion(1)
            XCTAssertEqual(tier(of: harness.process(edited)), wanted)
            let oneTier = StageHarness(options: SimilarityStageOptions(index: SimilarityIndexOptions(enabledTiers: 1)))
            oneTier.process(chunk)
            XCTAssertEqual(oneTier.process(edited), .literal(id: 1), "tier 1 alone misses it")
        }
    }

    func testOldTierThreeMatchExpiresWhileTierOneMatchStays() throws {
        var rng = SimilarityTestRNG(seed: 24)
        let chunk = rng.text(8192)
        let looseVariant = try variant(of: chunk, foundOnlyOnTier: 3)
        var closeVariant = chunk
        closeVariant[100] ^= 1
        for (variant, expected) in [(looseVariant, nil), (closeVariant, 1)] as [([UInt8], Int?)] {
            let harness = StageHarness()
            harness.stage.beginVersion(0)
            harness.process(chunk)
            for version in 1...3 { harness.stage.beginVersion(version) }
            XCTAssertEqual(tier(of: harness.process(variant)), expected)
        }
    }

    func testFilterRejectsDeltasWorseThanLosslessCompression() {
        let (chunk, edited) = textAndOneByteEdit(seed: 25)
        let harness = StageHarness(coder: WorseThanLosslessCoder())
        harness.process(chunk)
        XCTAssertEqual(harness.process(edited), .literal(id: 1))
        XCTAssertEqual(harness.stage.stats.filterRejections, 1)
        XCTAssertEqual(harness.stage.stats.deltaChunks, 0)
    }

    func testFilterThresholdFollowsRecentChunks() {
        var filter = DeltaFilter(historyLength: 2)
        XCTAssertTrue(filter.accepts(length: 100, deltaLength: 99))
        XCTAssertFalse(filter.accepts(length: 100, deltaLength: 100))
        filter.record(length: 100, compressedLength: 10)
        filter.record(length: 100, compressedLength: 50)
        XCTAssertEqual(filter.averageRatio, 6)
        XCTAssertFalse(filter.accepts(length: 100, deltaLength: 20))
        XCTAssertTrue(filter.accepts(length: 100, deltaLength: 16))
        filter.record(length: 100, compressedLength: 100)
        filter.record(length: 100, compressedLength: 100)
        XCTAssertEqual(filter.averageRatio, 1, "only the last L chunks count")
    }

    func testNoDeltaAgainstABaseTheFrameCompressorReaches() {
        let (chunk, firstEdit) = textAndOneByteEdit(seed: 29)
        var edited = firstEdit
        let harness = StageHarness()
        harness.process(chunk)
        // Frame 0 (where chunk 0 lies), 10 bytes after it: within reach.
        let frame = FrameView(number: 0, used: 10, sketch: nil, reach: 4 << 20)
        XCTAssertEqual(harness.process(edited, frame: frame), .literal(id: 1))
        XCTAssertEqual(harness.stage.stats.basesInFrameReach, 1)
        edited[20] ^= 1
        XCTAssertEqual(tier(of: harness.process(edited, frame: frame)), 1, "chunk 1 (frame 1) is out of reach: a delta against it")
        edited[30] ^= 1
        let far = FrameView(number: 1, used: 5 << 20, sketch: nil, reach: 4 << 20)
        XCTAssertNotNil(tier(of: harness.process(edited, frame: far)), "5 MiB behind in its frame: out of reach")
    }

    /// A chunk whose content the recent frame holds as fully as its base
    /// does stays literal; one the frame holds less of gets its delta.
    func testNoDeltaWhenTheFrameHoldsTheContent() {
        let (chunk, firstEdit) = textAndOneByteEdit(seed: 31)
        var edited = firstEdit
        let harness = StageHarness()
        let sketch = FrameSketch()
        sketch.enter(frame: 0)
        harness.process(chunk)
        XCTAssertFalse(harness.stage.lastSamples.isEmpty)
        sketch.insert(harness.stage.lastSamples, at: 60)
        let frame = FrameView(number: 0, used: 100, sketch: sketch, reach: 50)
        XCTAssertEqual(harness.process(edited, frame: frame), .literal(id: 1), "the frame holds all of it, 40 bytes back")
        XCTAssertEqual(harness.stage.stats.contentInFrame, 1)

        sketch.enter(frame: 1)   // a new frame starts empty
        edited[20] ^= 1
        let next = FrameView(number: 1, used: 100, sketch: sketch, reach: 50)
        XCTAssertNotNil(tier(of: harness.process(edited, frame: next)), "the new frame holds none of it: a delta")
    }

    /// The flat table against a plain dictionary: many frames, growth,
    /// colliding low bits, samples seen again later in a frame.
    func testFrameSketchAgreesWithADictionary() {
        var rng = SimilarityTestRNG(seed: 77)
        var sketch = FrameSketch()
        var reference: [UInt64: Int] = [:]
        for frame in 0..<4 {
            sketch.enter(frame: frame)
            reference = [:]
            var position = 0
            for _ in 0..<300 {
                // Mostly random values (samples are hashes), some from a small
                // set sharing their low bits (probe runs, repeats).
                func sample() -> UInt64 { rng.below(4) == 0 ? UInt64(rng.below(64)) << 20 | UInt64(rng.below(3)) : rng.next() % 20_000 }
                let samples = (0..<Int(rng.below(200))).map { _ in sample() }
                sketch.insert(samples, at: position)
                for h in samples { reference[h] = position }
                position += 100
                let probe = (0..<50).map { _ in sample() }
                let reach = Int(rng.below(20_000))
                let expected = probe.filter { reference[$0].map { position - $0 <= reach } ?? false }.count
                XCTAssertEqual(sketch.hits(probe, before: position, reach: reach), expected, "frame \(frame)")
            }
        }
    }

    func testFrameSketchCountsOnlyWhatIsWithinReach() {
        var sketch = FrameSketch()
        sketch.enter(frame: 3)
        sketch.insert([1, 2, 3], at: 0)
        sketch.insert([3, 4], at: 1000)
        XCTAssertEqual(sketch.hits([1, 2, 3, 4, 5], before: 1500, reach: 2000), 4)
        XCTAssertEqual(sketch.hits([1, 2, 3, 4, 5], before: 1500, reach: 600), 2, "1 and 2 lie 1500 back; 3 was seen again at 1000")
        sketch.enter(frame: 3)
        XCTAssertEqual(sketch.hits([1], before: 1500, reach: 2000), 1, "same frame: kept")
        sketch.enter(frame: 4)
        XCTAssertEqual(sketch.hits([1, 3, 4], before: 1500, reach: 2000), 0, "new frame: emptied")
    }

    func testNoDeltaStoresEveryNewChunkLiterally() {
        let (chunk, edited) = textAndOneByteEdit(seed: 26)
        let harness = StageHarness(options: SimilarityStageOptions(deltaEnabled: false))
        harness.process(chunk)
        XCTAssertEqual(harness.process(edited), .literal(id: 1))
        XCTAssertEqual(harness.process(chunk), .duplicate(of: 0))
    }

    /// Each version of a chunk is coded against the version before it, a
    /// chain up to `maxDeltaDepth` deltas long; past it, against the chain's
    /// last base. With a limit of 1 (an append to a format-5 archive) every
    /// version is coded against the literal first.
    func testDeltaChunksAreBasesUpToTheDepthLimit() {
        for limit in [1, 3] {
            var rng = SimilarityTestRNG(seed: 27)
            let chunk = rng.text(8192)
            var options = SimilarityStageOptions()
            options.maxDeltaDepth = limit
            let harness = StageHarness(options: options)
            harness.process(chunk)
            var current = chunk
            var bases: [UInt32] = []
            for _ in 0..<6 {
                current[rng.below(current.count)] ^= 0x20
                guard case .delta(let id, let base, _, _) = harness.process(current) else { return XCTFail("expected a delta") }
                bases.append(base)
                XCTAssertLessThanOrEqual(harness.table.deltaDepth(of: id), limit)
            }
            XCTAssertEqual(bases, limit == 1 ? [0, 0, 0, 0, 0, 0] : [0, 1, 2, 2, 2, 2], "limit \(limit)")
        }
    }
}
