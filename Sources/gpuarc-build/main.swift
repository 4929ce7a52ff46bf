import ArgumentParser
import Archive
import ArchiveWriter
import Builder
import Foundation
import Glibc

@main
struct BuildCommand: ParsableCommand {
    /// Arguments reach the parser with non-UTF-8 bytes kept (`RawArguments`).
    /// SIGINT, SIGTERM and SIGHUP remove what the build wrote and its lock (`Interruption`).
    static func main() {
        Interruption.install(program: "gpuarc-build")
        main(RawArguments.forParser())
    }

    static let configuration = CommandConfiguration(
        commandName: "gpuarc-build",
        abstract: "Archive directories into multi-volume gpuarc archives OUT.001, OUT.002, ...",
        discussion: """
            One SRC: its contents become the archive root. Several SRCs (successive \
            backups of one tree), or one with --name: each becomes a top-level \
            directory (a version) named after its directory or NAME, and the archive \
            takes appends: gpuarc-build --append OUT.001 [--name NAME] SRC... adds \
            versions in new volumes, reading only files that changed. Names are \
            bytes: any name Linux allows is archived as it is. Exit status: 0 ok, 1 \
            failed (nothing written), 2 archive written but some entries could not be \
            archived as they were (named on stderr), 128 + N stopped by signal N \
            (SIGINT, SIGTERM, SIGHUP: what it wrote and its lock are removed, an \
            archive already at OUT is as it was).
            """)

    @Argument(help: ArgumentHelp("Source directories, then the output base name (with --append: only the sources).", valueName: "SRC... OUT"))
    var paths: [String]

    @Option(help: ArgumentHelp("Add the SRCs as new versions of this archive (its first volume): new volumes after its last; its volumes are never modified.", valueName: "ARCHIVE.001"))
    var append: String?

    @Option(help: ArgumentHelp("With one SRC: the name of its top-level directory (its version), making the archive one that takes appends.", valueName: "NAME"))
    var name: String?

    @Flag(help: "With --append: read every file, even those the files cache finds unchanged.")
    var reread = false

    @Option(help: ArgumentHelp("With --append: what must match for a file to count as unchanged and not be read, beside its path (default: all four). Snapshots made with cp -al or rsync --link-dest get new ctimes: use size,mtime,inode for them.", valueName: "size,mtime,ctime,inode"))
    var filesCache = "size,mtime,ctime,inode"

    @Option(help: "Decoded frame size (K/M/G suffixes).")
    var frameSize = "16M"

    @Option(help: "Largest volume file (K/M/G suffixes).")
    var volumeSize = "1G"

    @Option(help: ArgumentHelp("Frame codec: zstd (the default, smaller archives) or lz4x (faster to decode; the codec the GPU compresses, and the default with --compressor gpu).", valueName: "auto|zstd|lz4x"))
    var codec = "auto"

    @Option(help: ArgumentHelp("The codec's level: zstd 1-19 (default \(ZstdLevel.default)), lz4x 1-9 (default \(LZ4XLevel.default); 9 is the top-K search the GPU kernels run); also fast, default, max. Every level decodes with the same decoder.", valueName: "N|fast|default|max"))
    var level = "default"

    @Option(help: "Compression threads (default: all cores).")
    var threads: Int?

    @Option(help: ArgumentHelp("Parity volumes (OUT.p01, ...) so that any N lost or damaged volumes can be rebuilt: a count, or a percentage of the data volumes such as 10%.", valueName: "N|P%"))
    var parity = "0"

    @Flag(help: "Leave extended attributes and ACLs out (they are stored by default).")
    var noXattrs = false

    @Flag(help: "Store every file and every chunk even if an identical one was stored already (no whole-file dedup, chunk dedup or deltas).")
    var noDedup = false

    @Option(help: ArgumentHelp("Frame compression and dedup hashing: auto (OpenCL only where it measured faster than the CPU on this machine), gpu or cpu.", valueName: "auto|gpu|cpu"))
    var compressor = "auto"

    @Option(help: ArgumentHelp("OpenCL devices by number, e.g. 0,2 (default: all; gpuarc-clbench --list-devices lists them).", valueName: "LIST"))
    var device: String?

    @Option(help: "Order of stored contents: path (by path inside each SRC, versions of a file side by side), similarity (by extension and name across directories) or tree (SRC after SRC).")
    var order = "path"

    @Option(help: ArgumentHelp("One SRC whose subdirectories are snapshots of a tree (/backups/2026-11-01, ...): each becomes a version, as if given as separate SRCs: auto (when they share nearly all their paths), on or off.", valueName: "auto|on|off"))
    var snapshots = "auto"

    @Option(help: "Average content-defined chunk size (K/M suffixes).")
    var chunkSize = "8K"

    @Flag(help: "Similarity detection and delta encoding (the default where files larger than the frame compressor's reach, 4 MiB, hold a quarter of the bytes to store, and in tree order).")
    var delta = false

    @Flag(help: "Exact chunk dedup only: no similarity detection or delta encoding.")
    var noDelta = false

    @Option(help: "Super-feature tiers searched: 1 (the N-transform/Odess baseline), 2 or 3.")
    var tiers = 3

    @Option(help: "Versions (SRCs) for which tier-2 super-features are kept.")
    var tier2Window = 5

    @Option(help: "Versions (SRCs) for which tier-3 super-features are kept.")
    var tier3Window = 2

    @Option(help: "Chunks whose average lossless ratio a delta must beat (the filter's L).")
    var filterHistory = 64

    @Option(help: ArgumentHelp("Read, chunk and analyze files on a thread of its own, ahead of the similarity decisions: auto (with deltas on and more than one core), on or off. The archive is the same either way.", valueName: "auto|on|off"))
    var analyzeAhead = "auto"

    @Option(help: ArgumentHelp("Write machine-readable stats to PATH ('-' for stdout).", valueName: "PATH|-"))
    var json: String?

    @Flag(inversion: .prefixedNo, help: "Progress bar (default: on when stderr is a terminal).")
    var progress: Bool?

    @Flag(name: .short, help: "Quiet: no summary.")
    var quiet = false

    func validate() throws {
        if append != nil {
            guard !paths.isEmpty else { throw ValidationError("give at least one SRC to append") }
        } else {
            guard paths.count >= 2 else { throw ValidationError("give at least one SRC and the OUT base name") }
            guard !reread else { throw ValidationError("--reread goes with --append") }
        }
        if name != nil && paths.count - (append == nil ? 1 : 0) != 1 {
            throw ValidationError("--name names a single SRC; several SRCs are named after their directories")
        }
    }

    func run() throws {
        var options = BuildOptions()
        guard let frame = ByteSize.parse(frameSize) else { throw ValidationError("--frame-size: cannot read \"\(frameSize)\"") }
        guard let volume = ByteSize.parse(volumeSize) else { throw ValidationError("--volume-size: cannot read \"\(volumeSize)\"") }
        guard let contentOrder = ContentOrder(rawValue: order) else { throw ValidationError("--order must be path, similarity or tree") }
        switch codec {
        case "auto": options.codec = nil
        default:
            guard let chosen = FrameEncoding.codecs.first(where: { $0.name == codec }) else {
                throw ValidationError("--codec must be auto, zstd or lz4x")
            }
            options.codec = chosen
        }
        if level != "default" {
            let levelCodec = FrameEncoding.codec(asked: options.codec, gpuCompression: compressor == "gpu")
            guard let encoderLevel = FrameEncoding.parseLevel(level, codec: levelCodec) else {
                let range = FrameEncoding.levels(of: levelCodec)
                throw ValidationError("--level must be \(range.lowerBound) to \(range.upperBound), fast, default or max for \(levelCodec.name)")
            }
            options.level = encoderLevel
        }
        options.frameSize = frame
        options.volumeSize = volume
        if let threads { options.threads = threads }
        options.dedup = !noDedup
        options.xattrs = !noXattrs
        guard let parityAmount = ParityAmount(parity) else { throw ValidationError("--parity takes a count (0-254) or a percentage such as 10%") }
        options.parity = parityAmount
        options.order = contentOrder
        guard let snapshotDetection = SnapshotDetection(rawValue: snapshots) else { throw ValidationError("--snapshots must be auto, on or off") }
        options.snapshots = snapshotDetection
        guard let chunk = ByteSize.parse(chunkSize) else { throw ValidationError("--chunk-size: cannot read \"\(chunkSize)\"") }
        guard (1...3).contains(tiers) else { throw ValidationError("--tiers must be 1, 2 or 3") }
        guard tier2Window >= 1, tier3Window >= 1 else { throw ValidationError("tier windows must be at least 1 version") }
        guard filterHistory >= 1 else { throw ValidationError("--filter-history must be at least 1") }
        options.chunkSize = chunk
        guard !(delta && noDelta) else { throw ValidationError("--delta and --no-delta exclude each other") }
        options.deltas = delta ? true : noDelta ? false : nil
        options.similarity.index = SimilarityIndexOptions(enabledTiers: tiers, tier2Window: tier2Window, tier3Window: tier3Window)
        options.similarity.filterHistory = filterHistory
        switch analyzeAhead {
        case "auto": options.analyzeAhead = nil
        case "on": options.analyzeAhead = true
        case "off": options.analyzeAhead = false
        default: throw ValidationError("--analyze-ahead must be auto, on or off")
        }
        guard let mode = GPUMode(rawValue: compressor) else { throw ValidationError("--compressor must be auto, gpu or cpu") }
        let warn: @Sendable (String) -> Void = { message in
            FileHandle.standardError.write(Data("gpuarc-build: warning: \(message)\n".utf8))
        }
        do {
            if let note = try OpenCLBuildSetup.configure(&options, mode: mode, devices: device, onError: warn), !quiet {
                FileHandle.standardError.write(Data("gpuarc-build: \(note)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("gpuarc-build: error: \(error)\n".utf8))
            throw ExitCode(1)
        }

        guard let cacheKeys = FilesCacheKeys(filesCache) else {
            throw ValidationError("--files-cache takes a comma-separated list of size, mtime, ctime and inode")
        }
        options.filesCache = cacheKeys
        options.reread = reread
        if let name { options.name = RawArguments.path(name).bytes }
        let sources: [BytePath], output: BytePath
        if let append {
            let archive = RawArguments.path(append)
            options.append = archive
            sources = paths.map(RawArguments.path)
            output = VolumeNaming.base(of: archive)
        } else {
            sources = paths.dropLast().map(RawArguments.path)
            output = RawArguments.path(paths.last!)
        }
        var builder = ArchiveBuilder(sources: sources, output: output, options: options)
        builder.showProgress = progress ?? (isatty(STDERR_FILENO) != 0 && !quiet)
        builder.onWarning = { message in
            FileHandle.standardError.write(Data("gpuarc-build: warning: \(message)\n".utf8))
        }
        let stats: BuildStats
        do {
            stats = try builder.run()
        } catch let error as ArchiveError {
            FileHandle.standardError.write(Data("gpuarc-build: error: \(error.description)\n".utf8))
            throw ExitCode(1)
        }
        if let json {
            let text = try stats.json() + "\n"
            if json == "-" {
                FileHandle.standardOutput.write(Data(text.utf8))
            } else {
                let path = RawArguments.path(json)
                let fd = path.withCString { open($0, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
                let bytes = Array(text.utf8)
                let failed = fd < 0 || bytes.withUnsafeBytes { Posix.writeAll(fd, $0.baseAddress!, $0.count) } != nil
                if fd >= 0 { close(fd) }
                if failed {
                    FileHandle.standardError.write(Data("gpuarc-build: error: cannot write --json file \(path)\n".utf8))
                    throw ExitCode(1)
                }
            }
        }
        if !quiet && json != "-" { print(stats.summary()) }
        if !stats.warnings.isEmpty {
            FileHandle.standardError.write(Data("gpuarc-build: \(stats.warnings.count) entries could not be archived (see warnings above)\n".utf8))
            throw ExitCode(2)
        }
    }
}
