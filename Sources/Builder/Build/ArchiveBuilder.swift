import Archive
import Foundation
import Glibc

/// Runs a whole build: scan -> whole-file dedup -> similarity order -> pack
/// through the frame pipeline -> index + footer.
public struct ArchiveBuilder {
    public let sources: [String]
    public let output: String
    public let options: BuildOptions
    /// Warnings as they happen (the CLI prints them to stderr).
    public var onWarning: (String) -> Void = { _ in }
    public var showProgress = false

    public init(sources: [String], output: String, options: BuildOptions) {
        self.sources = sources
        self.output = output
        self.options = options
    }

    /// Builds the archive; throws on anything fatal (nothing is left behind
    /// then). Entries that could not be read are listed in `stats.warnings`.
    public func run() throws -> BuildStats {
        let started = Date()
        let options = try self.options.validated()
        guard !sources.isEmpty else { throw ArchiveError(.usage, "give at least one source directory") }
        var stats = BuildStats()
        stats.sources = sources
        stats.output = output
        var warnings: [String] = []
        let warn: (String) -> Void = { message in warnings.append(message); onWarning(message) }

        var phaseStart = Date()
        func endPhase(_ name: String) {
            stats.phaseSeconds[name] = Date().timeIntervalSince(phaseStart)
            phaseStart = Date()
        }
        try checkOutputDirectory()
        var tree = try TreeScanner.scan(sources: sources, threads: options.threads)
        endPhase("scan")
        tree.warnings.forEach(warn)
        count(tree, into: &stats)

        // Whole-file dedup.
        var canonical: [Int: Int] = [:]
        if options.dedup {
            let hasher = options.hasher ?? CPUFileHasher(threads: options.threads)
            let result = FileDeduplicator(hasher: hasher, threads: options.threads).run(tree: tree, files: tree.primaryFiles)
            canonical = result.canonical
            stats.duplicateFiles = result.duplicateFiles
            stats.duplicateBytes = result.duplicateBytes
            stats.hashCollisions = result.hashCollisions
            stats.dedupSurvivors = result.survivors
            for id in result.unreadable where !tree.nodes[id].failed {
                tree.nodes[id].failed = true
                warn("cannot read \(tree.nodes[id].path): \(unreadableReason(tree.nodes[id].path)); not archived")
            }
        }

        endPhase("dedup")

        // Distinct contents in storage order.
        let distinct = tree.primaryFiles.filter { canonical[$0] == nil && tree.nodes[$0].size > 0 }
        let ordered = options.order.arrange(distinct.map { (node: $0, path: tree.nodes[$0].path, version: tree.nodes[$0].version) },
                                            sources: sources)
        options.beforePacking?()
        let totalBytes = ordered.reduce(UInt64(0)) { $0 + tree.nodes[$1].size }

        var archiveID = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { archiveID[i] = UInt8.random(in: 0...255) }
        let writer = try VolumeWriter(base: output, volumeSize: options.volumeSize, archiveID: archiveID)
        var finished = false
        defer { if !finished { writer.abort() } }

        let encoderOptions = options.encoder
        let makeCompressor = options.makeCompressor ?? { _ in CPUFrameCompressor(options: encoderOptions) }
        let pipeline = FramePipeline(frameSize: options.frameSize, workers: options.threads, writer: writer,
                                     makeCompressor: makeCompressor)
        var similarity = options.similarity
        if !options.dedup {
            // "Store every file": no shared chunks and no deltas either.
            similarity.chunkDedupEnabled = false
            similarity.deltaEnabled = false
        }
        let packer = ContentPacker(pipeline: pipeline, chunkSize: options.chunkSize, similarity: similarity,
                                   coder: LZ4XDeltaCoder(options: ContentPacker.deltaEncoder(encoderOptions)),
                                   sampleCoder: LZ4XDeltaCoder(options: ContentPacker.estimateEncoder))
        let analyzeAhead = similarity.deltaEnabled
            && (options.analyzeAhead ?? (ProcessInfo.processInfo.activeProcessorCount > 1))
        let preparer = analyzeAhead ? ChunkPreparer(
            files: ordered.map { (tree.nodes[$0].path, tree.nodes[$0].size) }, chunker: packer.chunker,
            analyzer: ChunkAnalyzer(options: similarity, estimator: LZ4XDeltaCoder(options: ContentPacker.estimateEncoder))) : nil
        defer { preparer?.stop() }
        let meter = showProgress ? ProgressMeter(total: totalBytes) : nil
        packer.onProgress = meter.map { m in { m.update($0) } }

        var contents: [ContentRecord] = []
        var refs: [UInt32] = []
        var contentOfNode: [Int: Int] = [:]
        do {
            for original in ordered {
                var node = original
                var packed = try preparer.map {
                    try packer.pack(prepared: $0, path: tree.nodes[node].path, version: tree.nodes[node].version, warn: warn)
                } ?? packer.pack(path: tree.nodes[node].path, expectedSize: tree.nodes[node].size,
                                 version: tree.nodes[node].version, warn: warn)
                if packed == nil {
                    // The original vanished or changed type since dedup, but its
                    // confirmed copies may still be readable: the first one that
                    // is takes its place, so losing one file never costs its copies.
                    tree.nodes[original].failed = true
                    for copy in tree.primaryFiles where canonical[copy] == original {
                        if packed == nil {
                            canonical[copy] = nil
                            packed = try packer.pack(path: tree.nodes[copy].path, expectedSize: tree.nodes[copy].size,
                                                         version: tree.nodes[copy].version, warn: warn)
                            if packed == nil { tree.nodes[copy].failed = true } else { node = copy }
                        } else {
                            canonical[copy] = node
                        }
                    }
                }
                guard let packed else { continue }
                contentOfNode[node] = contents.count
                contents.append(ContentRecord(size: packed.size, firstRef: UInt64(refs.count), refCount: UInt32(packed.refs.count)))
                refs += packed.refs
                stats.storedBytes += packed.size
            }
            packer.flush()
        } catch {
            packer.flush()
            _ = try? pipeline.finish()
            throw error
        }
        let frames = try pipeline.finish()
        meter?.finish()
        endPhase("pack")
        stats.similarity = packer.stage.stats

        // Every other regular file: empty, a duplicate, or a failed original.
        var emptyContent: Int?
        for id in tree.primaryFiles where contentOfNode[id] == nil {
            if let original = canonical[id] {
                if let content = contentOfNode[original] { contentOfNode[id] = content } else {
                    tree.nodes[id].failed = true
                    warn("\(tree.nodes[id].path) is a copy of \(tree.nodes[original].path), which could not be archived; not archived")
                }
            } else if tree.nodes[id].size == 0 {
                if emptyContent == nil {
                    emptyContent = contents.count
                    contents.append(ContentRecord(size: 0, firstRef: UInt64(refs.count), refCount: 0))
                }
                contentOfNode[id] = emptyContent
            }
        }

        let chunks = packer.chunks
        let result = try writer.finish { volumeSizes in
            var index = IndexAssembler.assemble(tree: tree, contentOfNode: contentOfNode, contents: contents,
                                                chunkRefs: refs, chunks: chunks, frames: frames, archiveID: archiveID)
            index.volumeSizes = volumeSizes
            return try IndexCodec.encodeCompressed(index)
        }
        finished = true
        endPhase("index")

        stats.volumes = result.volumes
        stats.indexBytes = result.indexBytes
        stats.outputBytes = result.volumes.reduce(0) { total, path in
            total + ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? UInt64) ?? 0)
        }
        for (device, counts) in pipeline.framesByDevice {
            stats.framesByDevice[device] = ["lz4x": counts.lz4x, "raw": counts.raw]
            stats.framesLZ4X += counts.lz4x
            stats.framesRaw += counts.raw
        }
        stats.seconds = Date().timeIntervalSince(started)
        stats.warnings = warnings
        return stats
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

    private func unreadableReason(_ path: String) -> String {
        do {
            close(try SourceFile.open(path))
            return "read failed"
        } catch {
            return "\(error)"
        }
    }

    /// Fails early, before any work, when OUT cannot be written.
    private func checkOutputDirectory() throws {
        let path = parentDirectory(of: output)
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw ArchiveError(.usage, "cannot write \(output).001: directory \(path) does not exist")
        }
        guard access(path, W_OK) == 0 else {
            throw ArchiveError(.usage, "cannot write \(output).001: directory \(path) is not writable (\(posixErrorText(errno)))")
        }
    }
}
