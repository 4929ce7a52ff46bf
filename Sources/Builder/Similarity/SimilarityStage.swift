import Archive
import Glibc

/// Settings of the chunk dedup + similarity + delta stage.
public struct SimilarityStageOptions: Sendable {
    /// False: exact chunk dedup only (`--no-delta`).
    public var deltaEnabled = true
    /// False: identical chunks are stored again (`--no-dedup`, with deltas off:
    /// every byte of every file is stored).
    public var chunkDedupEnabled = true
    public var index = SimilarityIndexOptions()
    /// L, the chunks whose lossless ratio the false-positive filter averages.
    public var filterHistory = 64
    /// The filter measures the lossless ratio of one chunk in this many:
    /// compressing every chunk on its own would cost as much CPU again as
    /// compressing the frames, while the ratio of nearby data changes slowly.
    /// One in 16 (the last L samples span about 6 MB of Django) took half the
    /// estimates of one in 8, about 4% of a path-order build's CPU, and moved
    /// sizes by -0.08% to +0.12% (Django patch and major releases, both orders).
    public var filterSampleInterval = 16
    /// How many times better than lossless compression a delta must be to
    /// be kept; a chunk whose delta is not is stored literal instead and
    /// becomes the base its family's later versions are found against.
    /// Measured with zstd deltas against literal bases (depth 1), 1 -> 2:
    /// ten Django releases as ten .tar files 34.67 -> 33.26 MB (3: 33.19),
    /// the same releases appended one at a time 27.92 -> 27.40 MB. With
    /// chains and previous-version bases, 2 -> 1.5: 24.17 -> 23.90 MB and
    /// 21.70 -> 21.61 MB (1.2: 23.88 and 21.60).
    public var deltaMargin = 1.5
    /// The longest delta chain made (`ArchiveIndex.maxDeltaDepth`; 1 for
    /// an append to a format-5 archive, whose bases are literal). A delta
    /// shorter than this is filed under itself, so the next version of its
    /// chunk is coded against it (what changed since the last version)
    /// rather than against the family's first (everything that changed
    /// since); one at the limit is filed under its base, which its family's
    /// later versions are then coded against. Ten Django releases as ten
    /// .tar files: 34.48 MB with literal bases, 28.69 MB with unbounded chains.
    public var maxDeltaDepth = ArchiveIndex.maxDeltaDepth
    public var samplingBits = 6
    /// Without deltas, still compute each stored chunk's super-features so
    /// that the builder state keeps them: a versioned archive's next append
    /// finds its chunks as delta bases (set by the builder for versioned builds).
    public var recordFeatures = false

    /// The digest exact dedup files chunks under (`ChunkDigest`): SHA-256
    /// where a digest must stand for the bytes (delta bases are checked
    /// against it; the builder state keeps it for appends, which dedup
    /// against it unread), XXH64 where every duplicate is compared byte for
    /// byte anyway.
    public var digestKind: ChunkDigest.Kind { deltaEnabled || recordFeatures ? .sha256 : .xxh64 }

    public init(deltaEnabled: Bool = true, index: SimilarityIndexOptions = SimilarityIndexOptions(),
                filterHistory: Int = 64, filterSampleInterval: Int = 16, samplingBits: Int = 6) {
        precondition(filterSampleInterval >= 1, "the filter sample interval must be at least 1")
        self.deltaEnabled = deltaEnabled
        self.index = index
        self.filterHistory = filterHistory
        self.filterSampleInterval = filterSampleInterval
        self.samplingBits = samplingBits
    }
}

/// How one chunk is to be stored. Stored chunks (literal and delta) get ids
/// 0, 1, 2, ... in the order they are decided.
public enum ChunkDecision: Equatable, Sendable {
    /// Same bytes as stored chunk `of`: store nothing, refer to it.
    case duplicate(of: UInt32)
    case literal(id: UInt32)
    /// Store `encoded`, which rebuilds the chunk from stored chunk `base`
    /// (literal, or a delta less than `maxDeltaDepth` deep), found by index
    /// tier `tier` (0: the file's previous version).
    case delta(id: UInt32, base: UInt32, tier: Int, encoded: [UInt8])
}

/// What the similarity stage needs to know of the frame being filled: its
/// number, the bytes in it so far, and the content samples of its literal
/// chunks. The frame compressor finds what lies within `reach` behind
/// on its own.
struct FrameView {
    let number: Int
    let used: Int
    let sketch: FrameSketch?
    let reach: Int
}

/// Decides, chunk by chunk and version by version, between exact duplicate,
/// delta against a similar earlier literal chunk, and literal. Each call
/// takes a chunk and what the frame being filled holds, and returns the
/// decision; the chunk table (shared with the packer, which places what is
/// decided) holds every stored chunk's digest and placement.
///
/// It keeps no chunk bytes: an earlier chunk is read again through `chunks`
/// (the builder re-reads it from its source file) when a duplicate needs
/// confirming or a base is needed for a delta.
/// Fetched bytes are not trusted: a source file may have changed since it
/// was read, so a base is used only if it still has the digest it was stored
/// with, and a duplicate only if its bytes equal the new chunk's.
/// Memory is the digest tables (one entry per stored chunk) plus the
/// similarity index, whose loose tiers expire with versions.
public final class SimilarityStage {
    public let options: SimilarityStageOptions
    /// The counters, with the index's current size (counted on each call).
    public var stats: SimilarityStats {
        var s = counters
        s.indexEntries = index.entryCounts
        return s
    }
    private var counters = SimilarityStats()
    /// The content samples of the chunk last processed (empty unless deltas
    /// are on): the builder adds a literal chunk's samples to its sketch.
    public private(set) var lastSamples: [UInt64] = []
    private let coder: DeltaCoder
    /// How the index records the deltas this stage makes (its coder's codec).
    var deltaKind: ChunkKind { coder.kind }
    /// Computes the resemblance of chunks that come without one.
    private let analyzer: ChunkAnalyzer
    private let chunks: ChunkReading
    let table: ChunkTable
    private let extractor: ChunkFeatureExtractor
    private var index: SimilarityIndex
    private var filter: DeltaFilter
    private var versionStarted = false

    /// `estimator` measures the filter's lossless reference (default: `coder`);
    /// a faster coder serves, as the reference is an average anyway.
    init(options: SimilarityStageOptions = SimilarityStageOptions(), coder: DeltaCoder, estimator: DeltaCoder? = nil,
         table: ChunkTable, chunks: ChunkReading) {
        self.options = options
        self.coder = coder
        analyzer = ChunkAnalyzer(options: options, estimator: estimator ?? coder)
        self.table = table
        self.chunks = chunks
        extractor = ChunkFeatureExtractor(samplingBits: options.samplingBits)
        index = SimilarityIndex(options: options.index)
        filter = DeltaFilter(historyLength: options.filterHistory, margin: options.deltaMargin)
    }

    /// Starts version `version` (the SRCs in order: 0, 1, 2, ...); call it
    /// before the version's first chunk. Expired index entries go here.
    public func beginVersion(_ version: Int) {
        index.startVersion(version)
        table.currentVersion = version
        versionStarted = true
    }

    /// Decides how `chunk` is stored and records it for later chunks.
    /// (Its resemblance is computed only if it is not a duplicate.)
    func process(_ chunk: UnsafeRawBufferPointer, frame: FrameView? = nil, previousVersion: UInt32? = nil) -> ChunkDecision {
        process(chunk, analysis: ChunkAnalysis(digest: ChunkDigest(of: chunk, kind: options.digestKind),
                                               sampledForFilter: analyzer.isSampled(counters.chunks)),
                frame: frame, previousVersion: previousVersion)
    }

    /// The same, for a chunk analyzed ahead (by an analyzer with the same
    /// options; a builder thread's, see `ChunkPreparer`). The decisions do
    /// not depend on where the analysis was made.
    ///
    /// `previousVersion`: in an append, the stored chunk at the same offset
    /// of the file's previous version (the file at the same path in the
    /// archive's newest version), the base tried when the index finds none.
    /// A chunk much rewritten shares too little with its old self for any
    /// super-feature to match, yet a delta against it still beats storing
    /// it alone, where a build of every version at once would have put the
    /// two side by side in a frame: ten Django releases appended one at a
    /// time 23.19 -> 21.70 MB (the one-shot archive: 19.15 MB).
    func process(_ chunk: UnsafeRawBufferPointer, analysis: ChunkAnalysis, frame: FrameView? = nil,
                 previousVersion: UInt32? = nil) -> ChunkDecision {
        if !versionStarted { beginVersion(0) }
        counters.chunks += 1
        counters.inputBytes += chunk.count

        lastSamples = []
        let digest = analysis.digest
        if options.chunkDedupEnabled, let earlier = table.firstID(of: digest) {
            // Compared byte for byte where the earlier bytes can be had;
            // where not, a SHA-256 is proof enough (the same bytes, short of
            // a collision nobody has ever found), an XXH64 is not.
            let earlierBytes = chunks.bytes(of: earlier)
            if earlierBytes.map({ !Self.equal($0, chunk) }) ?? !options.digestKind.isProof {
                counters.unconfirmedDuplicates += 1
            } else {
                counters.duplicateChunks += 1
                counters.duplicateBytes += chunk.count
                return .duplicate(of: earlier)
            }
        }
        if options.chunkDedupEnabled, let earlier = table.previousChunk(with: digest) {
            // A chunk the archive appended to already stores: the same first
            // 128 bits of SHA-256 (`BuilderState.Chunk.digest`).
            precondition(options.digestKind == .sha256, "appends dedup against SHA-256 digests only")
            counters.duplicateChunks += 1
            counters.duplicateBytes += chunk.count
            counters.previousDuplicateChunks += 1
            return .duplicate(of: earlier)
        }
        let id = table.add(digest)

        guard options.deltaEnabled else {
            if options.recordFeatures {
                let superFeatures = analysis.resemblance?.superFeatures
                    ?? SuperFeatures(features: extractor.features(of: chunk))
                table.file(id, features: superFeatures, under: id)
            }
            return storeLiteral(chunk, id: id)
        }
        let resemblance = analysis.resemblance ?? analyzer.resemblance(of: chunk, sampledForFilter: analysis.sampledForFilter)
        let superFeatures = resemblance.superFeatures
        let samples = resemblance.samples
        lastSamples = samples
        if let lossless = resemblance.losslessLength {
            filter.record(length: chunk.count, compressedLength: lossless)
        }

        seedNow()
        // The index's candidate, then (tier 0) the previous version's chunk:
        // the one the index finds nothing for, or whose delta against the
        // index's candidate the filter refuses.
        var candidates: [SimilarityMatch] = []
        if let match = index.lookup(superFeatures) { candidates.append(match) }
        if let previousVersion, candidates.first?.chunkID != previousVersion {
            candidates.append(SimilarityMatch(chunkID: previousVersion, tier: 0, sharedSuperFeatures: 0))
        }
        tries: for match in candidates {
            switch attempt(chunk, against: match, samples: samples, frame: frame) {
            case .leaveToFrame:
                break tries
            case .refused:
                continue
            case .delta(let delta, let depth):
                return storeDelta(chunk, id: id, delta, against: match, depth: depth, superFeatures: superFeatures)
            }
        }
        file(superFeatures, of: id, under: id)
        return storeLiteral(chunk, id: id)
    }

    /// What a delta against one candidate base comes to.
    private enum Attempt {
        /// The frame being filled holds the base or as much of the chunk: the
        /// frame compressor does better than a delta; no other base is tried.
        case leaveToFrame
        /// No delta against this base (too deep, unreadable, or refused by
        /// the filter); another base may do.
        case refused
        case delta([UInt8], depth: Int)
    }

    private func attempt(_ chunk: UnsafeRawBufferPointer, against match: SimilarityMatch, samples: [UInt64],
                         frame: FrameView?) -> Attempt {
        // (Only an archive's state filed by other rules could offer a base at the limit.)
        let depth = table.deltaDepth(of: match.chunkID) + 1
        guard depth <= options.maxDeltaDepth else {
            counters.unavailableBases += 1
            return .refused
        }
        guard !frameReaches(match.chunkID, frame) else {
            counters.basesInFrameReach += 1
            return .leaveToFrame
        }
        // A base this build stored must still have its digest (its source
        // may have changed); one of the archive appended to was checked
        // against its frame's checksums as it was read.
        guard let base = chunks.bytes(of: match.chunkID),
              table.digest(of: match.chunkID).map({ ChunkDigest(of: base, kind: options.digestKind) == $0 }) ?? true else {
            counters.unavailableBases += 1
            return .refused
        }
        guard !frameHoldsAsMuch(as: base, of: samples, frame) else {
            counters.contentInFrame += 1
            return .leaveToFrame
        }
        guard let delta = coder.encode(target: chunk, base: base),
              filter.accepts(length: chunk.count, deltaLength: delta.count) else {
            counters.filterRejections += 1
            return .refused
        }
        return .delta(delta, depth: depth)
    }

    private func storeDelta(_ chunk: UnsafeRawBufferPointer, id: UInt32, _ delta: [UInt8], against match: SimilarityMatch,
                            depth: Int, superFeatures: SuperFeatures) -> ChunkDecision {
        // Below the depth limit the delta is the base its family's next
        // version is coded against. At the limit the base stays the family's
        // representative: filing this chunk's super-features under the base
        // keeps the base findable through the newest version's features
        // after the base's own loose-tier entries have expired.
        file(superFeatures, of: id, under: depth < options.maxDeltaDepth ? id : match.chunkID)
        if Int(match.chunkID) < table.first { counters.previousBases += 1 }
        if match.tier == 0 { counters.previousVersionDeltas += 1 } else { counters.deltaHits[match.tier - 1] += 1 }
        counters.deltaInputBytes += chunk.count
        counters.deltaOutputBytes += delta.count
        return .delta(id: id, base: match.chunkID, tier: match.tier, encoded: delta)
    }

    /// Files `superFeatures` in the index under `under` (the chunk itself,
    /// or its base) and notes it in the chunk table for the builder state.
    private func file(_ superFeatures: SuperFeatures, of id: UInt32, under: UInt32) {
        index.insert(superFeatures, chunkID: under)
        table.file(id, features: superFeatures, under: under)
    }

    /// Files the super-features an earlier build of the archive kept
    /// (`BuilderState`), version by version, before an append's first
    /// version `firstNew`: tier 1 for all, tiers 2 and 3 only for chunks of
    /// versions still inside their windows when `firstNew` starts (the rest
    /// would expire at once). Chunks filed under a base are filed under it
    /// again, at the version that filed them.
    ///
    /// Done when the first chunk needs the index, not before: an append
    /// whose chunks are all stored already (or that reads no file at all)
    /// never pays for it.
    func seed(with load: @escaping () -> [BuilderState.Chunk], firstNew: Int) {
        guard options.deltaEnabled else { return }
        pendingSeed = (load, firstNew)
    }

    private var pendingSeed: (load: () -> [BuilderState.Chunk], firstNew: Int)?

    private func seedNow() {
        guard let (load, firstNew) = pendingSeed else { return }
        pendingSeed = nil
        let previous = load()
        let filed = previous.indices.filter {
            previous[$0].features != nil && previous[$0].filedUnder != BuilderState.notFiled
        }
        let order = filed.sorted { (previous[$0].version, $0) < (previous[$1].version, $1) }
        var version = -1
        for i in order {
            let chunk = previous[i]
            let v = Int(chunk.version)
            if v != version {
                index.startVersion(v)
                version = v
            }
            let tiers = v > firstNew - options.index.tier3Window ? 3 : v > firstNew - options.index.tier2Window ? 2 : 1
            index.insert(SuperFeatures(kept: chunk.features!, tiers: tiers), chunkID: chunk.filedUnder)
        }
        counters.seededChunks = order.count
        index.startVersion(table.currentVersion)
    }

    /// True when stored chunk `id` lies close behind the chunk being decided
    /// in the same frame. The frame compressor then finds the resemblance on
    /// its own, usually better than a delta against one base (it can draw on
    /// every earlier chunk in its reach), so no delta is made. Measured on 10
    /// Django releases, deltas against such bases made the archive larger.
    private func frameReaches(_ id: UInt32, _ frame: FrameView?) -> Bool {
        guard let frame, let base = table.placement(of: id), Int(base.frame) == frame.number else { return false }
        return frame.used - Int(base.offset) < frame.reach
    }

    /// True when the frame being filled shares at least as many of the
    /// chunk's samples as `base` does: the frame compressor then finds what a
    /// delta would, and the chunk's literal bytes serve the chunks after it.
    private func frameHoldsAsMuch(as base: [UInt8], of samples: [UInt64], _ frame: FrameView?) -> Bool {
        // The sketch describes the frame being filled; a chunk that no
        // longer fits will open a new, empty one (close enough: an estimate).
        guard let frame, let sketch = frame.sketch, sketch.frame == frame.number else { return false }
        let inFrame = sketch.hits(samples, before: frame.used, reach: frame.reach)
        guard inFrame > 0 else { return false }
        let baseSamples = base.withUnsafeBytes { Set(extractor.samples(of: $0)) }
        let inBase = samples.reduce(0) { $0 + (baseSamples.contains($1) ? 1 : 0) }
        return inFrame >= inBase
    }

    func process(_ chunk: [UInt8], frame: FrameView? = nil) -> ChunkDecision {
        chunk.withUnsafeBytes { process($0, frame: frame) }
    }

    private static func equal(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && a.withUnsafeBytes { a in a.isEmpty || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0 }
    }

    private func storeLiteral(_ chunk: UnsafeRawBufferPointer, id: UInt32) -> ChunkDecision {
        counters.literalChunks += 1
        counters.literalBytes += chunk.count
        return .literal(id: id)
    }
}
