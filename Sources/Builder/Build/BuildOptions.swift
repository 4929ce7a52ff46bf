import Archive
import ArchiveWriter
import Foundation

/// How many parity volumes a build writes: none, a count, or a percentage
/// of the data volumes (rounded up, so 10% of 3 volumes is 1).
public enum ParityAmount: Sendable, Equatable {
    case none
    case volumes(Int)
    case percent(Double)

    /// Parity volumes for `dataVolumes` data volumes.
    public func count(forDataVolumes dataVolumes: Int) -> Int {
        switch self {
        case .none: return 0
        case .volumes(let n): return n
        case .percent(let p): return p <= 0 ? 0 : Int((Double(dataVolumes) * p / 100).rounded(.up))
        }
    }

    /// "2", "25%", "0".
    public init?(_ text: String) {
        if text.hasSuffix("%") {
            guard let p = Double(text.dropLast()), p >= 0, p <= 1000 else { return nil }
            self = p == 0 ? .none : .percent(p)
        } else {
            guard let n = Int(text), n >= 0, n < ReedSolomon.maxShards else { return nil }
            self = n == 0 ? .none : .volumes(n)
        }
    }
}

public struct BuildOptions: Sendable {
    public var frameSize = FormatLimits.defaultFrameSize
    public var volumeSize = FormatLimits.defaultVolumeSize
    public var threads = ProcessInfo.processInfo.activeProcessorCount
    public var dedup = true
    public var order = ContentOrder.path
    /// One SRC whose subdirectories are snapshots: each a version (`--snapshots`).
    public var snapshots = SnapshotDetection.auto
    /// Frame codec (`--codec`); nil: zstd, unless the GPU is asked to
    /// compress (`--compressor gpu`), which writes LZ4X.
    public var codec: FrameCodec?
    /// Its level (`--level`); nil: the codec's default. Delta chunks have a
    /// level of their own (`ZstdDeltaCoder.deltaLevel`, the LZ4X top
    /// level's search): they are small, and their size is what decides
    /// whether a delta is kept.
    public var level: Int?
    /// Codec and level of the CPU's frames.
    public var encoding: FrameEncoding { FrameEncoding(codec: FrameEncoding.codec(asked: codec, gpuCompression: false), level: level) }
    /// Average content-defined chunk size (`--chunk-size`); chunks are at
    /// most 8 times this and never longer than a frame.
    public var chunkSize = 8 << 10
    /// Chunk dedup, similarity detection and delta encoding (`--tiers`, ...).
    public var similarity = SimilarityStageOptions()
    /// Similarity detection and delta encoding (`--delta`, `--no-delta`);
    /// nil: where they pay (`deltasPay`), and always in `--order tree`,
    /// where they take 45% off.
    public var deltas: Bool?

    /// Whether deltas pay for the files a build stores (no `--delta` or
    /// `--no-delta`). With the versions of a small file side by side in the
    /// frames, the frame compressor finds what a delta would: deltas took
    /// 0.02-1.1% off (ten Django patch releases, ten major ones, a system
    /// tree) for 15-50% more CPU. A file larger than the compressor's reach
    /// (`ContentPacker.frameCompressorReach`) is another matter: its earlier
    /// version, or a similar file, lies out of reach, and only a delta finds
    /// it (ten Django releases as ten .tar files: 2.6x smaller with deltas).
    /// So deltas are on when such files hold at least 1/`largeFileShare` of
    /// the bytes to store: one pass over the sizes, nothing read.
    public static let largeFileShare: UInt64 = 4
    static func deltasPay(sizes: [UInt64]) -> Bool {
        let reach = UInt64(ContentPacker.frameCompressorReach)
        let total = sizes.reduce(0, +)
        let large = sizes.reduce(UInt64(0)) { $0 + ($1 > reach ? $1 : 0) }
        return large > 0 && large * largeFileShare >= total
    }

    /// Whether an append (with no `--delta`/`--no-delta`) makes deltas: its
    /// frames hold only its versions, not the versions of a file side by
    /// side with the archive's, so deltas against the stored chunks are what
    /// finds the resemblance; but loading the archive's similarity index
    /// costs about 2.5 µs per stored chunk (0.1 s for a 313 MiB tree), which
    /// only pays where the append stores enough: it reads at least
    /// 1/`appendDeltaShare` of what the archive stores. Ten Django releases
    /// appended one by one (each reads all it holds) make deltas; a snapshot
    /// of the 313 MiB tree with 1% of its files changed does not (0.28 s
    /// with them, 0.12 s without, for 100 KiB).
    public static let appendDeltaShare: UInt64 = 16

    /// Whether this build makes deltas, once it knows the sizes of the
    /// files it stores and, for an append, the decoded bytes its archive
    /// stores; and when not, why (the summary says it). The one place the
    /// choice is made: the flags, `--order tree`, `appendDeltaShare` for an
    /// append, `deltasPay` for a build (call on validated options).
    func deltaChoice(storing sizes: [UInt64], archiveStores stored: UInt64?) -> (on: Bool, offBecause: String) {
        if !dedup { return (false, "--no-dedup") }
        if !similarity.deltaEnabled { return (false, "--no-delta") }
        if deltas == true || order == .tree { return (true, "") }
        if let stored {
            return sizes.reduce(0, +) * Self.appendDeltaShare >= stored ? (true, "")
                : (false, "this append stores less than 1/\(Self.appendDeltaShare) of what the archive holds; --delta turns them on")
        }
        return Self.deltasPay(sizes: sizes) ? (true, "")
            : (false, "files larger than \(ByteSize.format(UInt64(ContentPacker.frameCompressorReach))) hold less than a quarter of the bytes to store; --delta turns them on")
    }
    /// Chunk analysis (SHA-256, features) on a thread of its own, ahead of
    /// the similarity decisions (`ChunkPreparer`); nil: with deltas on and
    /// more than one core. The archive is the same either way.
    public var analyzeAhead: Bool?
    /// Bytes of small files dedup may hold for their storage
    /// (`HeldContents`); 0 reads every file again to store it. The archive
    /// is the same either way.
    public var heldBytes = HeldContents.limit
    /// Full-file hasher for dedup survivors (CPU FNV-1a unless replaced).
    public var hasher: FileHashing?
    /// Frame compressor per worker (CPU LZ4X unless replaced).
    public var makeCompressor: FrameCompressorFactory?
    /// Store extended attributes and ACLs (`--no-xattrs`: false).
    public var xattrs = true
    /// Parity volumes to write (`--parity N` or `--parity P%`): any this many
    /// lost or damaged volumes of the set can be rebuilt.
    public var parity = ParityAmount.none
    /// A versioned archive: every SRC becomes a top-level directory recorded
    /// as a version, which later appends add to; with one SRC, `name`
    /// names it (`--name`; several SRCs are named after their directories).
    public var versioned = false
    public var name: [UInt8]?
    /// `--append ARCHIVE.001`: the SRCs become new versions of that archive
    /// (OUT is its base); its volumes are not modified.
    public var append: BytePath?
    /// What the files cache compares (`--files-cache`); `reread` (`--reread`)
    /// turns it off: every file is read.
    public var filesCache = FilesCacheKeys.all
    public var reread = false
    /// Called before the index is written: tests make a build fail there by
    /// throwing. (Kills during the commit are the fail point "commit":
    /// `GPUARC_FAILPOINT`, in `Interruption.swift`.)
    public var beforeIndex: (@Sendable () throws -> Void)?
    /// Called between the scan and dedup. Tests use it to change the tree
    /// under a running build at a known point (no sleeps).
    public var afterScan: (@Sendable () -> Void)?
    /// Called between dedup and packing.
    public var beforePacking: (@Sendable () -> Void)?
    /// Called after each read of a source file (why, and its path below its
    /// SRC) and before the check that it did not change: tests change files
    /// exactly there.
    public var afterSourceRead: (@Sendable (ReadPurpose, [UInt8]) -> Void)?

    public init() {}

    /// Smallest volume that holds a header, one frame header and a little data.
    public static let minVolumeSize = 16 << 10

    /// Checks the options and clamps the frame size so that any frame fits in
    /// an empty volume (a frame never straddles two volumes).
    public func validated() throws -> BuildOptions {
        var o = self
        guard volumeSize >= Self.minVolumeSize else {
            throw ArchiveError(.usage, "--volume-size must be at least \(Self.minVolumeSize / 1024)K")
        }
        guard frameSize >= FormatLimits.minFrameSize, frameSize <= FormatLimits.maxFrameSize else {
            throw ArchiveError(.usage, "--frame-size must be between \(FormatLimits.minFrameSize / 1024)K and \(FormatLimits.maxFrameSize >> 20)M")
        }
        guard chunkSize >= 256, chunkSize <= 4 << 20 else {
            throw ArchiveError(.usage, "--chunk-size must be between 256 bytes and 4M")
        }
        o.frameSize = min(frameSize, volumeSize - VolumeHeader.size - FrameHeader.size)
        if let level {
            let codec = encoding.codec, range = FrameEncoding.levels(of: codec)
            guard range.contains(level) else {
                throw ArchiveError(.usage, "--level must be between \(range.lowerBound) and \(range.upperBound) for \(codec.name)")
            }
        }
        o.threads = max(1, threads)
        // (Without --delta/--no-delta the build decides once it knows the
        // files it stores: `deltaChoice`.)
        o.similarity.deltaEnabled = similarity.deltaEnabled && deltas != false
        if name != nil || append != nil { o.versioned = true }
        return o
    }
}
