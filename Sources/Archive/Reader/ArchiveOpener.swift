import Glibc

/// Finds an archive's last volume, reads its footer and index, and checks every
/// volume against the index. Nothing is served until the index has passed; a
/// volume that fails its checks is recorded in VolumeSet.problems and only the
/// files stored in it become unreadable (or are rebuilt from parity).
///
/// The index has two more places to come from when the last volume's copy
/// cannot be used (missing, truncated, damaged): its second copy `OUT.idx`,
/// then the last volume rebuilt from parity. Either way the reader says so in
/// a notice, and opens as it would have.
package enum ArchiveOpener {
    struct Opened {
        let index: ArchiveIndex
        let volumes: VolumeSet
        /// Where the archive's files are.
        let files: ArchiveFiles
        /// What the opener had to work around (the index read from its copy...).
        var notices: [String]
        /// Volumes after the last one the index lists, which no readable
        /// index describes (see `lost`).
        var leftovers: [BytePath] = []
        /// What of the archive cannot be read, when the newest index is
        /// damaged and only an older state could be opened: the versions
        /// that state lacks are lost. Readers exit non-zero with it.
        var lost: String?
        /// What is wrong with the index copy `OUT.idx` when the index itself
        /// is fine (out of date, damaged): nothing is lost, but the copy
        /// would not stand in for the index. `--verify` fails on it.
        var copyProblem: String?
    }

    /// Opens the archive; when what it found does not hold together and the
    /// directory changed meanwhile (a writer committing: `CommitRecord`),
    /// looks again, so a reader racing a commit opens one whole state.
    static func open(path: BytePath) throws -> Opened {
        let base = VolumeNaming.base(of: path)
        var files = ArchiveFiles.locate(base: base)
        afterLocate?()
        var attempt = 1
        while true {
            let result = Result { try open(files) }
            if case .success(let opened) = result, opened.volumes.problems.isEmpty, opened.lost == nil, opened.notices.isEmpty {
                return opened
            }
            let again = ArchiveFiles.locate(base: base)
            if again == files || attempt == 3 { return try result.get() }
            files = again
            attempt += 1
        }
    }

    /// Tests: runs between the first listing and the first open (a writer
    /// committing there is what the second look is for).
    nonisolated(unsafe) package static var afterLocate: (() -> Void)?

    private static func open(_ files: ArchiveFiles) throws -> Opened {
        let base = files.base
        let numbers = files.volumeNumbers
        let parity = ParitySet.open(files: files)
        var notices: [String] = []
        if let problem = files.recordProblem {
            notices.append("\(problem): it was left out, and the archive read from the volumes' names; if a build or append was interrupted while committing, some volumes may be of the old archive and some of the new one")
        }
        // The pending commit's count when there is one (its state is the
        // archive). Otherwise parity knows how many volumes there are, even
        // when the last is missing; an append can leave more volumes than
        // stale parity lists.
        guard let last = files.pending?.dataVolumes ?? [parity?.layout.dataCount, numbers.last].compactMap({ $0 }).max() else {
            throw ArchiveError(.missingVolume, "no archive volumes found at \(files.volumePath(1)) (expected files named \(base).001, \(base).002, ...)")
        }
        let lastPath = files.volumePath(last)
        let copyPath = files.indexCopyPath
        let primaryError: ArchiveError
        // The copy, once read (below, or to check the primary index against it).
        var copy: ArchiveIndex?
        do {
            let fd = try files.open(lastPath)
            do {
                let index = try readPrimary(fd: fd, path: lastPath, last: last, files: files, parity: parity)
                let check = checkCopy(of: index, files: files)
                if case .newer(let newer) = check {
                    // The newest volumes of an appended archive are gone: the
                    // last one left ends with the index of an older state.
                    copy = newer
                    throw ArchiveError(.missingVolume, "its index describes \(index.volumeSizes.count) volumes, but the index copy describes \(newer.volumeSizes.count) (a later append): the volumes after \(lastPath) are missing")
                }
                let (usable, notice) = matching(parity, index)
                let volumes = try VolumeSet(files: files, index: index, lastFD: fd, parity: usable)
                var opened = Opened(index: index, volumes: volumes, files: files, notices: notices + (notice.map { [$0] } ?? []))
                if case .problem(let problem) = check { opened.copyProblem = problem }
                return opened
            } catch {
                close(fd)
                throw error
            }
        } catch let error as ArchiveError {
            primaryError = error
        }
        // The second copy, then parity. A copy that is not of this archive
        // (another archive's, an older one) fails the volumes' checks below.
        var tried = ["the index in \(lastPath): \(primaryError.description)"]
        do {
            let index = try copy ?? readCopy(copyPath, files: files)
            copy = index
            guard index.volumeSizes.count == last || parity == nil && index.volumeSizes.count >= last else {
                throw ArchiveError(.format, "\(copyPath) describes \(index.volumeSizes.count) volumes, not \(last)")
            }
            let volumes = try VolumeSet(files: files, index: index, lastFD: nil, parity: matching(parity, index).parity)
            try checkOwned(volumes, index, what: copyPath)
            return Opened(index: index, volumes: volumes, files: files,
                          notices: notices + ["the index in \(lastPath) cannot be used (\(primaryError.description)); read its copy \(copyPath) instead. Repair the archive (gpuarc-repair) or rebuild it"])
        } catch let error as ArchiveError {
            tried.append("its copy \(copyPath): \(error.description)")
        }
        if let parity, parity.layout.dataCount == last {
            do {
                let index = try readRebuilt(parity, path: lastPath, last: last, files: files)
                let volumes = try VolumeSet(files: files, index: index, lastFD: nil, parity: parity)
                return Opened(index: index, volumes: volumes, files: files,
                              notices: notices + ["the index in \(lastPath) cannot be used (\(primaryError.description)); rebuilt it from parity. Repair the archive with gpuarc-repair"])
            } catch let error as ArchiveError {
                tried.append("parity: \(error.description)")
            }
        }
        if var older = try openOlder(files: files, parity: parity, below: last, copy: copy, primaryError: primaryError) {
            older.notices = notices + older.notices
            return older
        }
        if tried.count == 2 && files.status(copyPath) == nil { throw primaryError }
        throw ArchiveError(primaryError.kind, "no usable index: " + tried.joined(separator: "; "))
    }

    /// An older state of the archive, when the newest index cannot be read
    /// at all: the newer of the index copy (when it is of this archive but
    /// behind, describing fewer volumes) and the newest complete index in a
    /// volume before `last`. Committing is atomic (`CommitRecord`), so
    /// volumes after that state are never what an interrupted append
    /// leaves: they hold versions whose index is lost, and the opened
    /// archive says which versions it can still read (`lost`). (gpuarc
    /// before commit records could leave such volumes when an append was
    /// interrupted; the message says that too.)
    private static func openOlder(files: ArchiveFiles, parity: ParitySet?, below last: Int, copy: ArchiveIndex?,
                                  primaryError: ArchiveError) throws -> Opened? {
        var candidate: (index: ArchiveIndex, fd: Int32?, source: String)?
        for number in files.volumeNumbers.reversed() where number < last {
            let path = files.volumePath(number)
            guard let fd = try? files.open(path) else { continue }
            guard let index = try? readPrimary(fd: fd, path: path, last: number, files: files, parity: nil) else {
                close(fd)
                continue
            }
            candidate = (index, fd, "the index in \(path)")
            break
        }
        if let copy, copy.volumeSizes.count < last, copy.volumeSizes.count > candidate?.index.volumeSizes.count ?? 0,
           candidate.map({ $0.index.archiveID == copy.archiveID }) ?? true {
            if let fd = candidate?.fd { close(fd) }
            candidate = (copy, nil, "the index copy \(files.indexCopyPath)")
        }
        guard let (index, fd, source) = candidate else { return nil }
        let count = index.volumeSizes.count
        let leftovers = files.volumeNumbers.filter { $0 > count }.map { files.volumePath($0) }
        let volumes: VolumeSet
        do {
            volumes = try VolumeSet(files: files, index: index, lastFD: fd, parity: matching(parity, index).parity)
        } catch {
            if let fd { close(fd) }
            throw error
        }
        let newest = index.versions.last.map { "\"\(Escaped.text(index.nameBytes(of: $0)))\"" }
        let readable = newest.map { "versions up to \($0)" } ?? "the archive as it was"
        let named = leftovers.isEmpty ? files.volumePath(last).description : leftovers.map(\.description).joined(separator: ", ")
        let lost = "the newest index, in \(files.volumePath(last)), cannot be read (\(primaryError.description)), and \(source) describes only \(count) of \(last) volumes: "
            + "\(readable) can be read, but not what was added after \(newest ?? "it") (held in \(named)). "
            + "Rebuild the volumes from parity or a copy of the archive if there is one (gpuarc-repair), or restore \(files.volumePath(last)). "
            + "(If \(named) were left by an interrupted append of a gpuarc older than commit records, nothing is lost: delete them.)"
        return Opened(index: index, volumes: volumes, files: files, notices: [], leftovers: leftovers, lost: lost)
    }

    /// `parity` when it describes the volumes `index` lists (an append
    /// that did not get to write new parity leaves it describing fewer),
    /// else nil and a notice.
    static func matching(_ parity: ParitySet?, _ index: ArchiveIndex) -> (parity: ParitySet?, notice: String?) {
        guard let parity else { return (nil, nil) }
        let sizes = parity.layout.volumeSizes
        if sizes.count == index.volumeSizes.count && sizes.dropLast() == index.volumeSizes.dropLast()
            && parity.layout.archiveID == index.archiveID {
            return (parity, nil)
        }
        return (nil, "the parity volumes describe another state of the archive (\(sizes.count) volumes, not \(index.volumeSizes.count)): they are not used; gpuarc-repair makes them again")
    }

    /// The index at the end of the last volume (following its segments
    /// back through older volumes), checked against the file.
    private static func readPrimary(fd: Int32, path: BytePath, last: Int, files: ArchiveFiles, parity: ParitySet?) throws -> ArchiveIndex {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ArchiveError(.io, "cannot stat \(path): \(posixErrorText(errno))") }
        let index = try readIndex(size: UInt64(st.st_size), what: path, volume: last - 1, files: files, parity: parity) { offset, count, buffer in
            try Posix.preadFully(fd, buffer, count, offset)
        }
        guard index.volumeSizes.count == last else {
            if index.volumeSizes.count > last {
                throw ArchiveError(.missingVolume, "the index in \(path) lists \(index.volumeSizes.count) volumes but only \(last) exist")
            }
            throw ArchiveError(.format, "\(path) holds the index of a \(index.volumeSizes.count)-volume archive: it is out of place, or volumes from another archive are mixed in")
        }
        return index
    }

    /// Reads an older index segment where `locator` says: from its volume,
    /// or rebuilt from parity when the volume's bytes do not match.
    package static func fetchSegment(_ locator: SegmentLocator, files: ArchiveFiles, parity: ParitySet?) throws -> [UInt8] {
        let path = files.volumePath(Int(locator.volume) + 1)
        var bytes = [UInt8](repeating: 0, count: Int(locator.size))
        var failure = "it does not match its checksum"
        if let fd = try? files.open(path) {
            defer { close(fd) }
            let got = (try? bytes.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, $0.count, locator.offset) }) ?? -1
            if got == bytes.count && XXHash64.hash(bytes) == locator.hash { return bytes }
            if got != bytes.count { failure = "the volume is too short" }
        } else {
            failure = "the volume cannot be opened"
        }
        if let parity, Int(locator.volume) < parity.layout.dataCount,
           (try? bytes.withUnsafeMutableBytes { try parity.read(volume: Int(locator.volume), offset: locator.offset, count: $0.count, into: $0.baseAddress!) }) != nil,
           XXHash64.hash(bytes) == locator.hash {
            return bytes
        }
        throw ArchiveError(.format, "index segment in \(path) at offset \(locator.offset) cannot be read: \(failure)")
    }

    enum CopyCheck {
        case fine
        /// The copy is of this archive and describes more volumes than the
        /// index: the volumes after the last one found are missing.
        case newer(ArchiveIndex)
        /// Out of date, damaged or of another archive: for the user to fix.
        case problem(String)
    }

    /// The index copy against `index` (read from the last volume). A copy
    /// the size of one holding the segments just read (the copy holds the
    /// same bytes) is not read unless `thorough` (`--verify`).
    static func checkCopy(of index: ArchiveIndex, files: ArchiveFiles, thorough: Bool = false) -> CopyCheck {
        let path = files.indexCopyPath
        // An archive without a copy (built before copies were written) has nothing to check.
        guard let st = files.status(path) else { return .fine }
        if !thorough, let newest = index.newestSegment {
            let segments = index.segments.dropFirst().reduce(newest.size) { $0 + ($1.previous?.size ?? 0) }
            if UInt64(st.st_size) == UInt64(VolumeHeader.size) + segments + UInt64(Footer.size) { return .fine }
        }
        let repair = "gpuarc-repair \(files.volumePath(1)) writes it anew, as does the next append"
        let copy: ArchiveIndex
        do {
            copy = try readCopy(path, files: files)
        } catch let error as ArchiveError {
            return .problem("the index copy \(path) cannot be read (\(error.description)): it would not stand in for the index if \(files.volumePath(index.volumeSizes.count)) were damaged; \(repair)")
        } catch {
            return .problem("the index copy \(path) cannot be read (\(error))")
        }
        guard copy.archiveID == index.archiveID else {
            return .problem("the index copy \(path) is of another archive (its archive id differs); \(repair)")
        }
        if copy.volumeSizes.count > index.volumeSizes.count { return .newer(copy) }
        if copy.volumeSizes == index.volumeSizes && copy.versions == index.versions && copy.frames.count == index.frames.count {
            return .fine
        }
        let names = { (i: ArchiveIndex) in
            i.versions.isEmpty ? "" : " (versions \(i.versions.map { Escaped.text(i.nameBytes(of: $0)) }.joined(separator: ", ")))"
        }
        let missing = index.versions.dropFirst(copy.versions.count).map { "\"\(Escaped.text(index.nameBytes(of: $0)))\"" }
        let risk = missing.isEmpty ? "" : ": if \(files.volumePath(index.volumeSizes.count)) were damaged, version(s) \(missing.joined(separator: ", ")) would be lost with it"
        return .problem("the index copy \(path) is out of date: it describes \(copy.volumeSizes.count) volume(s)\(names(copy)), the index \(index.volumeSizes.count)\(names(index))\(risk); \(repair)")
    }

    /// The second copy, `OUT.idx`: a volume header numbered 0, the index, a footer.
    private static func readCopy(_ path: BytePath, files: ArchiveFiles) throws -> ArchiveIndex {
        let fd: Int32
        do {
            fd = try files.open(path)
        } catch let error as ArchiveError where error.kind == .missingVolume {
            throw ArchiveError(.missingVolume, "it does not exist")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ArchiveError(.io, "cannot stat \(path): \(posixErrorText(errno))") }
        var raw = [UInt8](repeating: 0, count: VolumeHeader.size)
        let n = try raw.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, VolumeHeader.size, 0) }
        let header = try raw[0..<n].withUnsafeBytes { try VolumeHeader.decode($0, volume: path.description) }
        guard header.number == 0 else { throw ArchiveError(.format, "\(path) is not an index copy (its header says volume \(header.number))") }
        let index = try readIndex(size: UInt64(st.st_size), what: path,
                                  volume: nil, files: files, parity: nil) { offset, count, buffer in
            try Posix.preadFully(fd, buffer, count, offset)
        }
        guard index.archiveID == header.archiveID else { throw ArchiveError(.format, "\(path): its header and its index disagree on the archive") }
        return index
    }

    /// The index at the end of the last volume as parity rebuilds it.
    private static func readRebuilt(_ parity: ParitySet, path: BytePath, last: Int, files: ArchiveFiles) throws -> ArchiveIndex {
        let index = try readIndex(size: parity.layout.volumeSizes[last - 1], what: path, volume: last - 1,
                                  files: files, parity: parity) { offset, count, buffer in
            try parity.read(volume: last - 1, offset: offset, count: count, into: buffer)
            return count
        }
        guard index.archiveID == parity.layout.archiveID, index.volumeSizes.count == last else {
            throw ArchiveError(.format, "the index parity rebuilds for \(path) is not of this archive")
        }
        return index
    }

    /// Footer and index of a file of `size` bytes read through `read`
    /// (offset, count, buffer -> bytes read), checked. `volume`: the file's
    /// volume (0-based), whose older segments are read from the volumes of
    /// `files` (or `parity`) and whose index must start where the index says
    /// its volume ends; nil for the copy, which holds every segment itself,
    /// the oldest at offset 32.
    private static func readIndex(size: UInt64, what path: BytePath, volume: Int?,
                                  files: ArchiveFiles, parity: ParitySet?,
                                  read: (UInt64, Int, UnsafeMutableRawPointer) throws -> Int) throws -> ArchiveIndex {
        guard size >= UInt64(VolumeHeader.size + Footer.size) else {
            throw ArchiveError(.format, "\(path) is too short (\(size) bytes) to hold a gpuarc index")
        }
        var footerBytes = [UInt8](repeating: 0, count: Footer.size)
        _ = try footerBytes.withUnsafeMutableBytes { try read(size - UInt64(Footer.size), Footer.size, $0.baseAddress!) }
        let footer = try footerBytes.withUnsafeBytes { try Footer.decode($0, fileSize: size, volume: path.description) }
        guard footer.indexSize <= UInt64(Int32.max) else {
            throw ArchiveError(.format, "\(path): the footer claims an index of \(footer.indexSize) bytes, which is not plausible")
        }
        var compressed = [UInt8](repeating: 0, count: Int(footer.indexSize))
        let got = try compressed.withUnsafeMutableBytes { try read(footer.indexOffset, Int(footer.indexSize), $0.baseAddress!) }
        guard got == Int(footer.indexSize) else { throw ArchiveError(.format, "\(path): the index is truncated") }
        // A copy holds every segment, oldest first from offset 32: each older
        // one ends where the one after it starts.
        var copyCursor = footer.indexOffset
        var index = try compressed.withUnsafeBytes { bytes in
            try IndexChain.read(newest: bytes, what: "the index in \(path)") { locator in
                guard volume == nil else { return try fetchSegment(locator, files: files, parity: parity) }
                guard locator.size <= copyCursor - UInt64(VolumeHeader.size) else {
                    throw ArchiveError(.format, "\(path): an index segment of \(locator.size) bytes does not fit before offset \(copyCursor)")
                }
                copyCursor -= locator.size
                var older = [UInt8](repeating: 0, count: Int(locator.size))
                let got = try older.withUnsafeMutableBytes { try read(copyCursor, $0.count, $0.baseAddress!) }
                guard got == older.count, XXHash64.hash(older) == locator.hash else {
                    throw ArchiveError(.format, "\(path): the index segment at offset \(copyCursor) does not match its checksum")
                }
                return older
            }
        }
        if volume == nil && copyCursor != UInt64(VolumeHeader.size) {
            throw ArchiveError(.format, "\(path): its oldest index segment starts at offset \(copyCursor), not \(VolumeHeader.size)")
        }
        if let volume {
            index.newestSegment = SegmentLocator(volume: UInt32(volume), offset: footer.indexOffset, size: footer.indexSize,
                                                 hash: XXHash64.hash(compressed))
        }
        // (A copy's index is where its chain says, checked above.)
        let expected = volume == nil ? footer.indexOffset : index.volumeSizes.last ?? 0
        guard footer.indexOffset == expected else {
            throw ArchiveError(.format, "\(path): the index says it starts at \(expected) but the footer says \(footer.indexOffset)")
        }
        return index
    }

    /// A copy's index is of this archive only if some volume carries its id.
    private static func checkOwned(_ volumes: VolumeSet, _ index: ArchiveIndex, what: BytePath) throws {
        let disowned = volumes.problems.values.filter { $0.description.contains("belongs to another archive") }.count
        if disowned > 0 && disowned + volumes.problems.filter({ $0.value.kind == .missingVolume }).count == volumes.paths.count {
            throw ArchiveError(.format, "\(what) is the index of another archive than these volumes")
        }
    }
}
