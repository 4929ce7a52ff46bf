import Archive
import ArchiveWriter
import Foundation

/// What a build did, for the summary and `--json`.
public struct BuildStats: Codable, Sendable {
    public var sources: [String] = []
    public var output: String = ""
    public var volumes: [String] = []
    public var files = 0
    public var directories = 0
    public var symlinks = 0
    public var specialFiles = 0
    public var hardLinks = 0
    /// Small files stored from the bytes dedup read (`HeldContents`), not opened again.
    public var filesHeld = 0
    /// Files that changed after the scan and were stored as they were when read.
    public var filesReadAgain = 0
    /// Appends: files the files cache found unchanged (not read), and their bytes.
    public var filesReused = 0
    public var bytesReused: UInt64 = 0
    /// Appends: the archive appended to, and the versions it had before.
    public var appendedTo: String?
    public var previousVersions = 0
    /// Files stored with holes, and the bytes of holes not stored.
    public var sparseFiles = 0
    public var holeBytes: UInt64 = 0
    /// Entries with extended attributes (ACLs included).
    public var entriesWithXattrs = 0
    public var duplicateFiles = 0
    public var duplicateBytes: UInt64 = 0
    public var hashCollisions = 0
    /// Files left after each dedup stage: size, first 2, last 2, centre 3, FNV-1a.
    public var dedupSurvivors: [Int] = []
    public var inputBytes: UInt64 = 0
    public var storedBytes: UInt64 = 0
    public var outputBytes: UInt64 = 0
    public var indexBytes = 0
    /// The CPU's frame codec and level (`--codec`, `--level`); frames
    /// compressed with OpenCL are LZ4X at `LZ4XLevel.top` (`framesByDevice`
    /// says which).
    public var codec = FrameEncoding.default.codec.name
    public var level = FrameEncoding.default.level
    /// CPU frames by the level they were compressed at (at the default
    /// setting a zstd frame's level follows the source bytes it stands for).
    /// (Keys are the levels as text, for the JSON.)
    public var framesByLevel: [String: Int] = [:]
    /// Whether similar chunks were looked for and delta-encoded.
    public var deltas = false
    /// Why not, when not (the summary says it).
    public var deltasOff = ""
    /// Parity volumes written and their bytes.
    public var parityVolumes = 0
    public var parityBytes: UInt64 = 0
    /// Frames stored compressed (in any codec) and RAW.
    public var framesCompressed = 0
    public var framesRaw = 0
    public var framesByDevice: [String: [String: Int]] = [:]
    /// Chunk dedup, similarity and delta encoding of the distinct contents.
    public var similarity = SimilarityStats()
    public var seconds = 0.0
    /// Wall time of each phase: scan, dedup, pack (read+compress+write), index.
    public var phaseSeconds: [String: Double] = [:]
    public var warnings: [String] = []

    public var reductionPercent: Double {
        inputBytes == 0 ? 0 : 100 * (1 - Double(outputBytes) / Double(inputBytes))
    }
    public var throughputMBps: Double { seconds > 0 ? Double(inputBytes) / 1e6 / seconds : 0 }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        var copy = self
        copy.framesByDevice = framesByDevice
        let data = try encoder.encode(Report(stats: copy))
        return String(decoding: data, as: UTF8.self)
    }

    private struct Report: Encodable {
        let stats: BuildStats
        func encode(to encoder: Encoder) throws {
            try stats.encode(to: encoder)
            var c = encoder.container(keyedBy: Extra.self)
            try c.encode(stats.reductionPercent, forKey: .reductionPercent)
            try c.encode(stats.throughputMBps, forKey: .throughputMBps)
            try c.encode(stats.similarity.dedupBytesSaved, forKey: .chunkDedupBytesSaved)
            try c.encode(stats.similarity.deltaBytesSaved, forKey: .deltaBytesSaved)
        }
        enum Extra: String, CodingKey { case reductionPercent, throughputMBps, chunkDedupBytesSaved, deltaBytesSaved }
    }

    /// The human summary printed at the end of a build.
    public func summary() -> String {
        var lines: [String] = []
        lines.append("files: \(files) (\(directories) directories, \(symlinks) symlinks, \(hardLinks) hard links\(specialFiles > 0 ? ", \(specialFiles) special" : ""))")
        lines.append("duplicates: \(duplicateFiles) files stored as references, \(ByteSize.format(duplicateBytes)) saved")
        if sparseFiles > 0 || entriesWithXattrs > 0 {
            lines.append("metadata: \(entriesWithXattrs) entries with extended attributes, \(sparseFiles) sparse files (\(ByteSize.format(holeBytes)) of holes not stored)")
        }
        if filesReadAgain > 0 {
            lines.append("changed during the build: \(filesReadAgain) files, stored as they were when read again")
        }
        if let appendedTo {
            lines.append("appended to \(appendedTo) (\(previousVersions) versions before): \(filesReused) unchanged files (\(ByteSize.format(bytesReused))) not read, "
                         + "\(similarity.previousDuplicateChunks) chunks found stored, \(similarity.previousBases) deltas against stored chunks")
        }
        let s = similarity
        lines.append("chunks: \(s.chunks), \(s.duplicateChunks) duplicates stored as references, \(ByteSize.format(UInt64(s.dedupBytesSaved))) saved")
        if !deltas {
            lines.append("deltas: off (\(deltasOff))")
        } else {
            let previous = s.previousVersionDeltas > 0 ? ", previous version of the file: \(s.previousVersionDeltas)" : ""
            lines.append("deltas: \(s.deltaChunks) (tier 1: \(s.deltaHits[0]), tier 2: \(s.deltaHits[1]), tier 3: \(s.deltaHits[2])\(previous)), "
                     + "\(ByteSize.format(UInt64(s.deltaBytesSaved))) saved; \(s.filterRejections) rejected by the filter, "
                     + "\(s.basesInFrameReach + s.contentInFrame) left to the frame compressor")
        }
        let devices = framesByDevice.keys.sorted().map { d in
            "\(d): " + (framesByDevice[d] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: " / ")
        }.joined(separator: ", ")
        let byLevel = framesByLevel.compactMap { k, v in Int(k).map { ($0, v) } }.sorted { $0.0 < $1.0 }
        let levels = byLevel.count > 1
            ? "\(level) and up (frames by level: " + byLevel.map { "\($0.0): \($0.1)" }.joined(separator: ", ") + ")"
            : "\(byLevel.first?.0 ?? level)"
        lines.append("frames: \(framesCompressed) compressed, \(framesRaw) RAW (\(devices)); \(codec) level \(levels)"
                     + (framesByDevice.keys.contains { $0 != "cpu" } ? " (OpenCL frames: lz4x level \(LZ4XLevel.top))" : ""))
        lines.append(String(format: "size: %@ -> %@ in %d volume(s) (index %@), %.1f%% smaller",
                            ByteSize.format(inputBytes), ByteSize.format(outputBytes), volumes.count,
                            ByteSize.format(UInt64(indexBytes)), reductionPercent))
        if parityVolumes > 0 {
            lines.append("parity: \(parityVolumes) volume(s), \(ByteSize.format(parityBytes)): any \(parityVolumes) lost or damaged volume(s) can be rebuilt (gpuarc-repair)")
        }
        lines.append(String(format: "time: %.2f s, %.1f MB/s", seconds, throughputMBps))
        if !warnings.isEmpty { lines.append("warnings: \(warnings.count) (see above); the archive is missing what they name") }
        return lines.joined(separator: "\n")
    }
}
