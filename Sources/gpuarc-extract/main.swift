import ArgumentParser
import Archive
import Foundation
import Glibc

@main
struct ExtractCommand: ParsableCommand {
    /// Arguments reach the parser with non-UTF-8 bytes kept (`RawArguments`).
    static func main() { main(RawArguments.forParser()) }

    static let configuration = CommandConfiguration(
        commandName: "gpuarc-extract",
        abstract: "Restore, list or verify a gpuarc archive.",
        discussion: """
            With PATHs (paths inside the archive, from its root: a version such as \
            v2026-11-02, a directory v2/docs, a file v2/docs/a.txt, a symlink), only \
            those are restored, each with everything below it, at the same place under \
            DEST (DEST/v2/docs/a.txt), like tar -x MEMBER. The directories on the way are \
            created with their archived attributes, but none of their other entries; \
            DEST's own attributes are left alone unless a PATH is /. Names of one file \
            inside the selection become hard links; a file whose other names lie \
            outside it is restored as a plain file. A leading / or ./ and a trailing / \
            are accepted; .. is refused. Every PATH is looked up before anything is \
            written: those not in the archive are named, the others restored, exit \
            status 1. Only the frames the selection needs are read. With --list, every \
            argument after ARCHIVE is a PATH, and only those subtrees are listed.

            Exit status: 0 everything restored/verified, 1 anything lost or damaged, or a \
            PATH not in the archive (named on stderr), 2 every file restored but some \
            extended attributes could not be set by this user (named on stderr).
            """)

    @Argument(help: ArgumentHelp("Any volume of the archive, e.g. OUT.001.", valueName: "ARCHIVE"))
    var archive: String

    @Argument(help: ArgumentHelp("Destination directory (created if missing).", valueName: "DEST"))
    var destination: String?

    @Argument(help: ArgumentHelp("Paths inside the archive to restore (or, with --list, to list), each with everything below it; none: the whole tree.", valueName: "PATH"))
    var paths: [String] = []

    @Flag(help: "List the tree with sizes instead of extracting; on an archive of versions, the versions first (name, date added, files, bytes).")
    var list = false

    @Flag(help: "List only the versions of a versioned archive (name, date added, files, bytes).")
    var versions = false

    @Flag(help: "Decode every frame and check every checksum; write nothing.")
    var verify = false

    @Flag(help: "Overwrite existing files in the destination.")
    var force = false

    @Flag(help: "Do not restore extended attributes and ACLs.")
    var noXattrs = false

    @Option(help: "Decoded-frame cache size (K/M/G).")
    var cacheSize = "512M"

    @Option(help: "Threads for --verify (default: all cores).")
    var threads: Int?

    @Option(help: ArgumentHelp("Frame decoding: auto (OpenCL only where it measured faster than the CPU on this machine), gpu or cpu.", valueName: "auto|gpu|cpu"))
    var decoder = "auto"

    @Option(help: ArgumentHelp("OpenCL devices by number, e.g. 0,2 (default: all).", valueName: "LIST"))
    var device: String?

    func validate() throws {
        if !list && !verify && !versions && destination == nil { throw ValidationError("give a DEST directory, or --list / --versions / --verify") }
        if versions && (list || verify || destination != nil) { throw ValidationError("--versions takes only the ARCHIVE") }
        if verify && !list && !paths.isEmpty { throw ValidationError("--verify checks the whole archive; it takes no PATH") }
    }

    /// The PATH arguments as bytes: with --list, every positional after
    /// ARCHIVE (there is no DEST); nil when none was given.
    private var selectedPaths: [[UInt8]]? {
        let given = list ? (destination.map { [$0] } ?? []) + paths : paths
        return given.isEmpty ? nil : given.map { RawArguments.path($0).bytes }
    }

    func run() throws {
        guard let cache = ByteSize.parse(cacheSize) else { throw ValidationError("--cache-size: cannot read \"\(cacheSize)\"") }
        guard let mode = GPUMode(rawValue: decoder) else { throw ValidationError("--decoder must be auto, gpu or cpu") }
        // A PATH with ".." is refused before the archive is even opened.
        for path in selectedPaths ?? [] {
            do { _ = try PathSelection.components(of: path) } catch {
                fail("\(error)")
                throw ExitCode(1)
            }
        }
        var options = ReaderOptions(cacheBytes: cache)
        // Only extraction decodes through the frame cache; --list decodes
        // nothing and --verify checks frames with the CPU decoder.
        if destination != nil && !list && !verify { options.decoderRequest = decoderRequest(mode) }
        let reader: ArchiveReader
        do {
            reader = try ArchiveReader(path: RawArguments.path(archive), options: options)
        } catch {
            // An ArchiveError, or OpenCL refusing `--decoder gpu`.
            fail("\(error)")
            throw ExitCode(1)
        }
        if let note = reader.decoderNote { fail(note) }
        for notice in reader.notices { fail("warning: \(notice)") }
        // Said first and again last: the run goes on with what can be read, then fails.
        if let lost = reader.lost { fail(lost) }
        // Nothing lost (the index is fine), but the copy would not stand in for it:
        // said here, and a failure of --verify (which reads the copy whole).
        if let problem = reader.indexCopyProblem, !verify { fail("warning: \(problem)") }
        // Unusable volumes are named once up front; the files they hold are
        // named as they fail (or are read through parity, where it has them).
        let throughParity = reader.volumes.parity != nil
        for volume in reader.volumes.problems.keys.sorted() {
            fail(throughParity ? "warning: \(reader.volumes.problems[volume]!); its frames are rebuilt from parity (gpuarc-repair rebuilds the volume)"
                               : "\(reader.volumes.problems[volume]!)")
        }
        if versions {
            let lines = Listing.versionLines(reader.index)
            if lines.isEmpty { fail("the archive has no versions: it was built from one SRC at its root") }
            for line in lines { print(line) }
        }
        if list { try runList(reader) }
        if verify { try runVerify(reader) }
        if let destination, !list, !verify, !versions { try runExtract(reader, into: RawArguments.path(destination)) }
        if reader.lost != nil {
            fail("NOT everything in the archive could be read: the newest index is damaged (above)")
            throw ExitCode(1)
        }
    }

    /// `--decoder`/`--device`: OpenCL decoding when asked or measured faster
    /// (on the archive's frames, once the reader has it open).
    private func decoderRequest(_ mode: GPUMode) -> DecoderRequest {
        DecoderRequest(mode: mode, devices: device, threads: threads ?? ProcessInfo.processInfo.activeProcessorCount) { message in
            FileHandle.standardError.write(Data("gpuarc-extract: warning: \(message)\n".utf8))
        }
    }

    private func fail(_ message: String) {
        FileHandle.standardError.write(Data("gpuarc-extract: \(message)\n".utf8))
    }

    private func runVerify(_ reader: ArchiveReader) throws {
        let frames = reader.index.frames.count
        let lock = NSLock()
        var bad: [Int: String] = [:]
        let workers = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let next = NSLock()
        var cursor = 0
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while true {
                next.lock(); let f = cursor; cursor += 1; next.unlock()
                guard f < frames else { break }
                do { try reader.checkFrame(f) } catch {
                    lock.lock(); bad[f] = "\(error)"; lock.unlock()
                }
            }
        }
        for f in bad.keys.sorted() { fail("BAD \(bad[f]!)") }
        let copyProblem = reader.checkIndexCopy()
        if let copyProblem { fail(copyProblem) }
        if bad.isEmpty && reader.lost != nil { return }   // run() names the loss and fails
        let damaged = !reader.volumes.problems.isEmpty || !reader.notices.isEmpty || reader.volumes.readsRebuiltFromParity > 0
        if bad.isEmpty && copyProblem != nil && !damaged {
            print("verified: \(frames) frames, \(reader.index.contents.count) contents, \(reader.index.inodes.count) inodes, \(reader.volumes.paths.count) volume(s): all checksums match")
            fail("the index copy needs rewriting (above), but nothing is lost")
            throw ExitCode(1)
        }
        if bad.isEmpty && damaged {
            print("verified: \(frames) frames, \(reader.index.contents.count) contents, \(reader.index.inodes.count) inodes, \(reader.volumes.paths.count) volume(s): every file is intact, \(reader.volumes.readsRebuiltFromParity) frame(s) through parity or the index copy")
            fail("the volumes are damaged (above) but nothing is lost: gpuarc-repair rebuilds them")
            throw ExitCode(1)
        }
        if bad.isEmpty {
            print("verified: \(frames) frames, \(reader.index.contents.count) contents, \(reader.index.inodes.count) inodes, \(reader.volumes.paths.count) volume(s): all checksums match")
            return
        }
        let paths = reader.index.paths()
        let files = reader.files(touching: Set(bad.keys))
        for inode in files { fail("damaged file: \(paths[inode] ?? "inode \(inode)")") }
        fail("\(bad.count) of \(frames) frames are damaged; \(files.count) files cannot be restored intact")
        throw ExitCode(1)
    }

    /// `--list [PATH...]`: the tree, or only the selected subtrees (each
    /// PATH not in the archive named, exit 1).
    private func runList(_ reader: ArchiveReader) throws {
        guard let paths = selectedPaths else {
            for line in Listing.versionLines(reader.index) { print(line) }
            return Listing.print(reader.index)
        }
        let selection: PathSelection
        do {
            selection = try PathSelection(index: reader.index, paths: paths)
        } catch let error as ArchiveError {
            fail(error.description)
            throw ExitCode(1)
        }
        for path in selection.missing { fail("\(Escaped.text(path)): not in the archive") }
        Listing.print(reader.index, selection: selection)
        if !selection.missing.isEmpty {
            fail("\(selection.missing.count) of \(paths.count) PATHs are not in the archive (named above)")
            throw ExitCode(1)
        }
    }

    private func runExtract(_ reader: ArchiveReader, into destination: BytePath) throws {
        var options = ExtractOptions()
        options.force = force
        options.restoreXattrs = !noXattrs
        options.paths = selectedPaths
        let extractor = Extractor(reader: reader, destination: destination, options: options)
        extractor.onFailure = { fail($0) }
        let started = Date()
        let report: ExtractReport
        do {
            report = try extractor.run()
        } catch let error as ArchiveError {
            fail(error.description)
            throw ExitCode(1)
        }
        let seconds = Date().timeIntervalSince(started)
        if let paths = options.paths, report.missingPaths.count == paths.count {
            fail(paths.count == 1 ? "the PATH is not in the archive; nothing restored" : "none of the \(paths.count) PATHs is in the archive; nothing restored")
            throw ExitCode(1)
        }
        print(String(format: "extracted %d files (%@), %d directories, %d symlinks, %d hard links to %@ in %.2f s",
                     report.files, ByteSize.format(report.bytes), report.directories, report.symlinks,
                     report.hardLinks, destination.description, seconds))
        for warning in report.warnings { fail("warning: \(warning)") }
        let notRestored = report.failures.count - report.missingPaths.count
        if notRestored > 0 { fail("\(notRestored) entries were NOT restored (listed above)") }
        if !report.missingPaths.isEmpty {
            fail("\(report.missingPaths.count) of \(options.paths?.count ?? 0) PATHs are not in the archive (named above); the others were restored")
        }
        if !report.failures.isEmpty { throw ExitCode(1) }
        if !report.warnings.isEmpty {
            fail("every file was restored, but some extended attributes were not (listed above; restore as root, or use --no-xattrs)")
            throw ExitCode(2)
        }
    }
}
