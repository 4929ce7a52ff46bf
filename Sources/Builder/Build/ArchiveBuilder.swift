import Archive
import ArchiveWriter
import Foundation
import Glibc

/// Runs a whole build as a chain of stages that pass values:
///
///     lock OUT -> [append: open the archive] -> open the SRCs -> scan
///       -> [append: files cache] -> whole-file dedup -> storage order
///       -> capture (read, chunk, decide, place; frames -> volumes)
///       -> index -> index and footer into the last volume
///
/// An append (`options.append`) continues the archive: chunk ids, frame
/// numbers and volumes after its own, chunks found among the stored ones
/// (by the 128 digest bits its builder state keeps) and similar ones used
/// as delta bases, unchanged files reusing their stored content unread
/// (`FilesCache`), and an index segment holding only the rows it adds.
///
/// Every source read checks that the file is the version the scan saw
/// (`SourceFiles`); what changed is stored as it was when read again, or
/// left out with a warning, so stored attributes always describe stored bytes.
public struct ArchiveBuilder {
    public let sources: [BytePath]
    public let output: BytePath
    public let options: BuildOptions
    /// Warnings as they happen (the CLI prints them to stderr).
    public var onWarning: (String) -> Void = { _ in }
    public var showProgress = false

    public init(sources: [BytePath], output: BytePath, options: BuildOptions) {
        self.sources = sources
        self.output = output
        self.options = options
    }

    /// The same with paths written as text (their UTF-8 bytes).
    public init(sources: [String], output: String, options: BuildOptions) {
        self.init(sources: sources.map { BytePath($0) }, output: BytePath(output), options: options)
    }

    /// Builds the archive; throws on anything fatal (nothing is left behind
    /// then). Entries that could not be archived are listed in `stats.warnings`.
    public func run() throws -> BuildStats {
        let started = Date()
        let options = try self.options.validated()
        guard !sources.isEmpty else { throw ArchiveError(.usage, "give at least one source directory") }
        if options.name != nil && sources.count > 1 {
            throw ArchiveError(.usage, "--name names the one SRC; several SRCs are named after their directories")
        }
        // Known to be versioned before the scan (so every SRC is scanned as a
        // top-level directory); one SRC of snapshots is found to be by the scan.
        let versionedSources = options.versioned || sources.count > 1
        raiseFileLimit()
        var stats = BuildStats()
        stats.sources = sources.map(\.description)
        stats.codec = options.encoding.codec.name
        stats.level = options.encoding.level
        stats.output = output.description
        var warnings: [String] = []
        let warn: (String) -> Void = { message in warnings.append(message); onWarning(message) }

        var phaseStart = Date()
        func endPhase(_ name: String) {
            stats.phaseSeconds[name] = Date().timeIntervalSince(phaseStart)
            phaseStart = Date()
        }

        // Locked before anything is read, so a second build to OUT fails at once.
        let outputLock = try ArchiveLock(base: output)
        defer { outputLock.release() }
        // Opened under the lock (no other build can change it meanwhile),
        // on a thread of its own while the sources are scanned.
        let opening = options.append.map { path in Alongside { try PreviousArchive(path: path) } }
        defer { _ = try? opening?.value() }
        let roots = try SourceRoots(sources)
        var scanOptions = ScanOptions()
        scanOptions.versioned = versionedSources
        if let name = options.name { scanOptions.versionNames = [name] }
        scanOptions.xattrs = options.xattrs
        scanOptions.threads = options.threads
        scanOptions.snapshots = options.snapshots
        if let lockFile = outputLock.identity { scanOptions.excluded.insert(HardLinkKey(dev: lockFile.dev, ino: lockFile.ino)) }
        let scanned = Result { try TreeScanner.scan(roots, options: scanOptions) }
        // What the archive says first: a scan of sources that cannot be appended is moot.
        let previous = try opening?.value()
        if let opening { stats.phaseSeconds["open"] = opening.seconds }
        var tree = try scanned.get()
        // Versions at the root (SRCs, or snapshot directories of one SRC):
        // the archive records them and keeps what a later append needs.
        let versioned = versionedSources || !tree.versionRoots.isEmpty
        var reused: [Int: Int] = [:]
        endPhase("scan")
        if let previous {
            let existing = previous.versionNames
            for root in tree.sourceRoots where existing.contains(tree.nodes[root].name) {
                throw ArchiveError(.usage, "\(previous.path) already has a version named \"\(Escaped.text(tree.nodes[root].name))\": give the new one another name (--name NAME with one SRC)")
            }
            // Versions count on from the archive's (the similarity windows span runs).
            let first = previous.index.versions.count
            for id in tree.nodes.indices { tree.nodes[id].version += first }
            if !options.reread { reused = FilesCache.match(tree: tree, previous: previous, keys: options.filesCache) }
            stats.appendedTo = previous.path.description
            stats.previousVersions = first
            stats.filesReused = reused.count
            stats.bytesReused = reused.keys.reduce(0) { $0 + tree.nodes[$1].size }
            endPhase("reuse")
        }
        tree.warnings.forEach(warn)
        count(tree, into: &stats)
        options.afterScan?()

        // The files to read: every file's first name, but those an append reuses.
        let toRead = tree.primaryFiles.filter { reused[$0] == nil }
        let files = SourceFiles(tree: tree, roots: roots, reading: toRead, afterRead: options.afterSourceRead)

        // Whole-file dedup: duplicate -> the file whose content it shares.
        // The small files it reads whole are held for their storage.
        var duplicatesOf: [Int: [Int]] = [:]
        let held = HeldContents(limit: options.heldBytes)
        if options.dedup && toRead.contains(where: { tree.nodes[$0].size > 0 }) {
            let hasher = options.hasher ?? CPUFileHasher(threads: options.threads)
            let result = FileDeduplicator(hasher: hasher, threads: options.threads)
                .run(tree: tree, files: toRead, source: files, held: held)
            for (duplicate, canonical) in result.canonical { duplicatesOf[canonical, default: []].append(duplicate) }
            for key in duplicatesOf.keys { duplicatesOf[key]!.sort { (tree.nodes[$0].version, $0) < (tree.nodes[$1].version, $1) } }
            stats.hashCollisions = result.hashCollisions
            stats.dedupSurvivors = result.survivors
        }
        endPhase("dedup")
        let isDuplicate = Set(duplicatesOf.values.joined())

        // Distinct contents in storage order.
        let distinct = toRead.filter { !isDuplicate.contains($0) && tree.nodes[$0].size > 0 }
        let ordered = options.order.arrange(distinct.map {
            ContentOrder.Item(node: $0, key: tree.variants.orderKey($0, in: tree), name: tree.nodes[$0].name, version: tree.nodes[$0].version)
        })
        options.beforePacking?()
        let totalBytes = ordered.reduce(UInt64(0)) { $0 + tree.nodes[$1].size }

        var archiveID = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { archiveID[i] = UInt8.random(in: 0...255) }
        if let previous { archiveID = previous.index.archiveID }
        let writer = try VolumeWriter(output: outputLock, volumeSize: options.volumeSize, archiveID: archiveID,
                                      continuing: previous?.volumeFileSizes ?? [])

        let choice = options.deltaChoice(storing: ordered.map { tree.nodes[$0].size },
                                         archiveStores: previous?.index.frames.reduce(UInt64(0)) { $0 + UInt64($1.decodedSize) })
        var encoding = options.encoding
        // With deltas on, the packer thread reads about a quarter as fast as
        // the default level compresses (features and delta encoding: 95 MB/s
        // on ten Django .tar files, against 427 MB/s): the workers would wait
        // through that time, so a frame's level may spend it, and the more so
        // the more source bytes the frame stands for. Without deltas the
        // workers' time is the build's (two cores: they share them with the
        // packer), and every frame gets the default level.
        if choice.on { encoding.sourceWeight = 4 } else { encoding.scaled = false }
        let makeCompressor = options.makeCompressor ?? { [encoding] _ in CPUFrameCompressor(encoding: encoding) }
        // Frames as large as what there is to store, when that is less than
        // the frame size (but room for the largest chunk): a small tree does
        // not hold five 16 MiB buffers. The frames written are the same.
        let largestChunk = min(options.chunkSize * ContentPacker.maximumChunkFactor, options.frameSize)
        let frameBytes = min(options.frameSize, max(Int(clamping: totalBytes), largestChunk))
        let pipeline = FramePipeline(frameSize: frameBytes, workers: options.threads, writer: writer,
                                     firstNumber: previous?.counts.frames ?? 0, makeCompressor: makeCompressor)
        var similarity = options.similarity
        similarity.deltaEnabled = choice.on
        (stats.deltas, stats.deltasOff) = choice
        similarity.recordFeatures = versioned
        // Delta chains are format 6's; an append to a format-5 archive writes format 5.
        if (previous?.index.formatVersion ?? ArchiveIndex.currentVersion) < 6 { similarity.maxDeltaDepth = 1 }
        if !options.dedup {
            // "Store every file": no shared chunks and no deltas either.
            similarity.chunkDedupEnabled = false
            similarity.deltaEnabled = false
        }
        let packer = ContentPacker(pipeline: pipeline, files: files, held: held, chunkSize: options.chunkSize, similarity: similarity,
                                   coder: DeltaCoders.coder(for: encoding.codec),
                                   sampleCoder: DeltaCoders.estimator(for: encoding.codec),
                                   readXattrs: options.xattrs,
                                   table: ChunkTable(first: previous?.counts.chunks ?? 0,
                                                     previous: previous.map { p in { (try? p.chunksByDigest()) ?? [:] } },
                                                     previousDepth: { [index = previous?.index] in index?.deltaDepth(of: Int($0)) ?? 0 }),
                                   archive: previous?.reader)
        // The builder state is trusted as the index is (its zlib check and its
        // locator's XXH64 cover it); one that does not parse only means nothing
        // is found in it, and the chunks are stored again.
        if let previous { packer.stage.seed(with: { (try? previous.chunks()) ?? [] }, firstNew: previous.index.versions.count) }
        // (Also without deltas where the features are kept: the preparer
        // reads, cuts and hashes ahead while the packer thread computes the
        // features, which shares the work out about evenly.)
        let analyzeAhead = (similarity.deltaEnabled || similarity.recordFeatures && similarity.chunkDedupEnabled)
            && (options.analyzeAhead ?? (ProcessInfo.processInfo.activeProcessorCount > 1))
        let preparer = analyzeAhead ? ChunkPreparer(
            files: ordered, sources: files, held: held, identities: Dictionary(uniqueKeysWithValues: ordered.map { ($0, tree.nodes[$0].identity) }),
            chunker: packer.chunker,
            analyzer: ChunkAnalyzer(options: similarity, estimator: DeltaCoders.estimator(for: encoding.codec))) : nil
        defer { preparer?.stop() }
        let meter = showProgress ? ProgressMeter(total: totalBytes) : nil
        packer.onProgress = meter.map { m in { m.update($0) } }

        var capture = CaptureStage(tree: tree, packer: packer, duplicatesOf: duplicatesOf,
                                   stored: StoredTree(continuing: previous?.index))
        do {
            for node in ordered {
                let old = similarity.deltaEnabled ? previous?.previousVersion(of: tree.relativePath(node)) : nil
                let version = tree.nodes[node].version
                let outcome = try preparer.map { try packer.capture(prepared: $0, node, version: version, previousVersion: old) }
                    ?? packer.capture(node, expecting: tree.nodes[node].identity, version: version, previousVersion: old)
                try capture.settle(node, outcome)
            }
            packer.flush()
        } catch {
            packer.flush()
            _ = try? pipeline.finish()
            throw error
        }
        meter?.finish()
        stats.filesHeld = held.filesTaken
        endPhase("pack")
        // Everything is placed: the index is assembled while the workers
        // compress the last frames (two frames' work, 30-60 ms, that the
        // build otherwise waited through before it began), and the frame
        // table, the one part that needs them done, is added after.
        let assembly = Result { try assembleIndex(tree: tree, packer: packer, capture: capture, reused: reused,
                                                  archiveID: archiveID, previous: previous, versioned: versioned,
                                                  similarity: similarity, into: &stats) }
        let frames = try pipeline.finish()
        var (index, segment, randomState) = try assembly.get()
        index.frames += frames
        endPhase("assemble")
        capture.warnings.forEach(warn)
        // An append keeps the archive's parity, at least as many volumes of it.
        let parityFor = { (volumes: Int) in max(options.parity.count(forDataVolumes: volumes), previous?.index.parityCount ?? 0) }
        // Known before the index is written (it records it): the data volumes
        // are all written but the last, which the index may still move to a
        // volume of its own.
        index.parityCount = parityFor(writer.sizes.count)
        index.volumeSizes = writer.sizes
        // An append writes its archive's format, against its newest segment.
        let olderSegments = try previous?.segmentBytes() ?? []
        let format = previous?.index.formatVersion ?? ArchiveIndex.currentVersion
        let prefix = try previous?.newestSegmentPrefix(olderSegments) ?? []
        let encode = { try IndexCodec.encodeCompressed(index, segment: segment, storedState: randomState, version: format, prefix: prefix) }
        var compressed = try encode()
        if !writer.fits(compressed.count + Footer.size) {
            try writer.startVolume()
            index.volumeSizes = writer.sizes
            index.parityCount = parityFor(writer.sizes.count)
            compressed = try encode()
        }
        endPhase("encode")
        try writer.writeIndex(compressed)
        // The copy stands alone: every segment, the archive's earlier ones
        // (as their volumes hold them) before this one.
        try writer.writeIndexCopy(compressed, older: olderSegments)
        endPhase("index")
        let parityCount = index.parityCount
        if parityCount > 0 {
            guard writer.sizes.count + parityCount <= ReedSolomon.maxShards else {
                throw ArchiveError(.usage, "\(writer.sizes.count) volumes and \(parityCount) parity volumes are more than the \(ReedSolomon.maxShards) Reed-Solomon allows: use a larger --volume-size or less parity")
            }
            let layout = try writer.writeParity(count: parityCount)
            stats.parityVolumes = parityCount
            stats.parityBytes = UInt64(parityCount) * layout.parityVolumeSize
            endPhase("parity")
        }
        let volumes = try writer.commit(parityCount: parityCount)
        endPhase("commit")

        stats.volumes = volumes.map(\.description)
        stats.indexBytes = compressed.count
        // The writer's sizes include the index and footer it has just written.
        stats.outputBytes = writer.volumeFileSizes.reduce(0, +)
        stats.framesByLevel = Dictionary(uniqueKeysWithValues: pipeline.framesByLevel.map { (String($0.key), $0.value) })
        for (device, counts) in pipeline.framesByDevice {
            stats.framesByDevice[device] = counts
            stats.framesRaw += counts[FrameCodec.raw.name] ?? 0
            stats.framesCompressed += counts.filter { $0.key != FrameCodec.raw.name }.values.reduce(0, +)
        }
        stats.seconds = Date().timeIntervalSince(started)
        stats.warnings = warnings
        return stats
    }

    /// The index of what was stored, all but its frame table (the frames
    /// may still be compressing), and the segment that carries it with the
    /// builder state of a versioned archive; `randomState`: where the
    /// state's random columns lie (`IndexCodec.encodeCompressed`).
    private func assembleIndex(tree: ScannedTree, packer: ContentPacker, capture: CaptureStage, reused: [Int: Int],
                               archiveID: [UInt8], previous: PreviousArchive?, versioned: Bool,
                               similarity: SimilarityStageOptions,
                               into stats: inout BuildStats) throws -> (ArchiveIndex, IndexSegment, [Range<Int>]) {
        stats.similarity = packer.stage.stats
        var stored = capture.stored
        stats.filesReadAgain = capture.readAgain
        stats.storedBytes = stored.contents.reduce(0) { $0 + $1.size }
        for (node, content) in reused { stored.contentOf[node] = content }

        // Empty files (as the scan saw them: never read, nothing to disagree with).
        for id in tree.primaryFiles where stored.contentOf[id] == nil && !stored.failed.contains(id) && tree.nodes[id].size == 0 {
            stored.contentOf[id] = stored.empty()
        }
        countStored(stored, tree, into: &stats)

        // The index is complete before the writer sees it; if it does not
        // fit after the last frame it opens a volume of its own.
        try options.beforeIndex?()
        let assembled = IndexAssembler.assemble(tree: tree, stored: stored, chunks: packer.table.records, frames: [],
                                                archiveID: archiveID, previous: previous?.index, versioned: versioned)
        // What a later append needs, kept in the segment (versioned archives only).
        var segment = IndexSegment()
        var randomState: [Range<Int>] = []
        if versioned {
            precondition(similarity.digestKind == .sha256, "the builder state keeps SHA-256 digests")
            (segment.builderState, randomState) = BuilderStateRecorder.state(table: packer.table, tree: tree, stored: stored,
                                                                             inodeOfNode: assembled.inodeOfNode)
                .encoded(firstChunk: previous?.counts.chunks ?? 0)
        }
        if let previous {
            segment.number = (previous.index.segments.last?.number ?? 0) + 1
            segment.previous = previous.index.newestSegment
            segment.prior = previous.counts
            segment.replacedInodes = [ArchiveIndex.rootInode]
        }
        return (assembled.index, segment, randomState)
    }

    private func count(_ tree: ScannedTree, into stats: inout BuildStats) {
        for n in tree.nodes {
            switch n.kind {
            case .regular:
                stats.files += 1
                if n.hardLinkOf != nil { stats.hardLinks += 1 } else { stats.inputBytes += n.size }
            case .directory: stats.directories += 1
            case .symlink: stats.symlinks += 1
            default: stats.specialFiles += 1
            }
        }
    }

    private func countStored(_ stored: StoredTree, _ tree: ScannedTree, into stats: inout BuildStats) {
        var sharing: [Int: Int] = [:]
        for (node, content) in stored.contentOf where stored.isArchived(node, in: tree) && tree.nodes[node].hardLinkOf == nil {
            sharing[content, default: 0] += 1
            if !stored.metadata(of: node, in: tree).xattrs.isEmpty { stats.entriesWithXattrs += 1 }
        }
        for (content, files) in sharing where files > 1 && stored.size(of: content) > 0 {
            stats.duplicateFiles += files - 1
            stats.duplicateBytes += UInt64(files - 1) * stored.size(of: content)
        }
        for node in tree.nodes.indices where tree.nodes[node].kind != .regular && !tree.nodes[node].metadata.xattrs.isEmpty {
            stats.entriesWithXattrs += 1
        }
        stats.sparseFiles = stored.sparse.count
        for (content, extents) in stored.sparse {
            stats.holeBytes += stored.size(of: content) - extents.reduce(0) { $0 + $1.length }
        }
    }

    /// A tree may hold more directories than the default soft limit lets a
    /// process open; the hard limit is the real bound.
    private func raiseFileLimit() {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 && limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }
}

/// The capture stage's bookkeeping: takes the outcome of storing each
/// distinct file and settles what it means for the files that depend on it.
///
/// - Duplicates share a content only with the version of a file they were
///   compared with: if their canonical file was stored as a later version
///   (it changed) or not at all, the first of them is stored in its place,
///   and so on, so one changed or lost file never costs its copies.
/// - Hard-link names share one capture; if the name captured now names
///   another file (one was renamed over it), the other names are regrouped
///   under the next of them and captured from there.
struct CaptureStage {
    let tree: ScannedTree
    let packer: ContentPacker
    let duplicatesOf: [Int: [Int]]
    private let linkNames: [Int: [Int]]
    private(set) var stored: StoredTree
    private(set) var warnings: [String] = []
    private(set) var readAgain = 0

    init(tree: ScannedTree, packer: ContentPacker, duplicatesOf: [Int: [Int]], stored: StoredTree = StoredTree()) {
        self.tree = tree
        self.stored = stored
        self.packer = packer
        self.duplicatesOf = duplicatesOf
        var names: [Int: [Int]] = [:]
        for (id, node) in tree.nodes.enumerated() { if let first = node.hardLinkOf { names[first, default: []].append(id) } }
        linkNames = names
    }

    /// Records the outcome for distinct file `node` and settles its
    /// duplicates and hard-link names (storing more files where needed).
    mutating func settle(_ node: Int, _ outcome: Result<ContentPacker.Captured, CaptureProblem>) throws {
        var work: [(node: Int, outcome: Result<ContentPacker.Captured, CaptureProblem>, duplicates: [Int])] =
            [(node, outcome, duplicatesOf[node] ?? [])]
        while let (file, outcome, duplicates) = work.popLast() {
            var orphans: [Int] = duplicates
            var replaced = false
            switch outcome {
            case .success(let captured):
                let content = stored.add(captured)
                stored.contentOf[file] = content
                if let fresh = captured.fresh {
                    stored.fresh[file] = fresh
                    readAgain += 1
                    replaced = !captured.identity.sameInode(as: tree.nodes[file].identity)
                } else {
                    for duplicate in duplicates { stored.contentOf[duplicate] = content }
                    orphans = []
                }
            case .failure(let problem):
                stored.failed.insert(file)
                warnings.append("\(tree.displayPath(file)): \(problem); not archived")
                replaced = true
            }
            if replaced { try regroupLinks(of: file) }
            // The first orphaned duplicate is stored itself; the rest are its duplicates.
            if let next = orphans.first {
                let outcome = try packer.capture(next, expecting: tree.nodes[next].identity, version: tree.nodes[next].version)
                work.append((next, outcome, Array(orphans.dropFirst())))
            }
        }
    }

    /// `node`'s hard-link names lost it (it failed, or names another file
    /// now): the first of them that can be stored leads the rest.
    private mutating func regroupLinks(of node: Int) throws {
        var names = linkNames[node] ?? []
        while !names.isEmpty {
            let leader = names.removeFirst()
            stored.leaderOverride[leader] = leader
            for other in names { stored.leaderOverride[other] = leader }
            let outcome = try packer.capture(leader, expecting: tree.nodes[leader].identity, version: tree.nodes[leader].version)
            switch outcome {
            case .success(let captured):
                stored.contentOf[leader] = stored.add(captured)
                if let fresh = captured.fresh {
                    stored.fresh[leader] = fresh
                    readAgain += 1
                    if !captured.identity.sameInode(as: tree.nodes[leader].identity) { continue }   // it too names another file now
                }
                return
            case .failure(let problem):
                stored.failed.insert(leader)
                warnings.append("\(tree.displayPath(leader)): \(problem); not archived")
            }
        }
    }
}
