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
        /// What the opener had to work around (the index read from its copy...).
        let notices: [String]
        /// Volumes after the last one the index lists, which no complete
        /// index includes: what an interrupted append leaves (not damage
        /// when the index copy agrees; see `open`).
        var leftovers: [BytePath] = []
    }

    static func open(path: BytePath) throws -> Opened {
        let base = VolumeNaming.base(of: path)
        let numbers = VolumeNaming.existingVolumeNumbers(base: base)
        let parity = ParitySet.open(base: base)
        // Parity knows how many volumes there are, even when the last is
        // missing; an append can leave more volumes than stale parity lists.
        guard let last = [parity?.layout.dataCount, numbers.last].compactMap({ $0 }).max() else {
            throw ArchiveError(.missingVolume, "no archive volumes found at \(VolumeNaming.path(base: base, number: 1)) (expected files named \(base).001, \(base).002, ...)")
        }
        let lastPath = VolumeNaming.path(base: base, number: last)
        let copyPath = base.withSuffix(".idx")
        let primaryError: ArchiveError
        // The copy, once read (below, or to check the primary index against it).
        var copy: ArchiveIndex?
        do {
            let fd = try VolumeSet.openVolume(lastPath)
            do {
                let index = try readPrimary(fd: fd, path: lastPath, last: last, base: base, parity: parity)
                if let newer = newerCopy(of: index, at: copyPath) {
                    // The newest volumes of an appended archive are gone: the
                    // last one left ends with the index of an older state.
                    copy = newer
                    throw ArchiveError(.missingVolume, "its index describes \(index.volumeSizes.count) volumes, but the index copy describes \(newer.volumeSizes.count) (a later append): the volumes after \(lastPath) are missing")
                }
                let (usable, notice) = matching(parity, index)
                let volumes = try VolumeSet(base: base, index: index, lastFD: fd, parity: usable)
                return Opened(index: index, volumes: volumes, notices: notice.map { [$0] } ?? [])
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
            let index = try copy ?? readCopy(copyPath)
            copy = index
            guard index.volumeSizes.count == last || parity == nil && index.volumeSizes.count >= last else {
                throw ArchiveError(.format, "\(copyPath) describes \(index.volumeSizes.count) volumes, not \(last)")
            }
            let volumes = try VolumeSet(base: base, index: index, lastFD: nil, parity: matching(parity, index).parity)
            try checkOwned(volumes, index, what: copyPath)
            return Opened(index: index, volumes: volumes,
                          notices: ["the index in \(lastPath) cannot be used (\(primaryError.description)); read its copy \(copyPath) instead. Repair the archive (gpuarc-repair) or rebuild it"])
        } catch let error as ArchiveError {
            tried.append("its copy \(copyPath): \(error.description)")
        }
        if let parity, parity.layout.dataCount == last {
            do {
                let index = try readRebuilt(parity, path: lastPath, last: last, base: base)
                let volumes = try VolumeSet(base: base, index: index, lastFD: nil, parity: parity)
                return Opened(index: index, volumes: volumes,
                              notices: ["the index in \(lastPath) cannot be used (\(primaryError.description)); rebuilt it from parity. Repair the archive with gpuarc-repair"])
            } catch let error as ArchiveError {
                tried.append("parity: \(error.description)")
            }
        }
        if let older = try openOlder(base: base, numbers: numbers, below: last, copy: copy, primaryError: primaryError) {
            return older
        }
        if tried.count == 2 && !exists(copyPath) { throw primaryError }
        throw ArchiveError(primaryError.kind, "no usable index: " + tried.joined(separator: "; "))
    }

    /// The newest complete index in a volume before `last`, for volumes an
    /// append wrote but could not finish: each append renames its volumes
    /// into place and its last volume (the one with the index) after the
    /// others, then the index copy. So when the copy describes exactly the
    /// state found here, the volumes after it are an unfinished append's:
    /// the archive is as it was before it, and they are only reported
    /// (`leftovers`). Otherwise the newest volume may be damaged, and the
    /// older state is opened with a notice that says so.
    private static func openOlder(base: BytePath, numbers: [Int], below last: Int, copy: ArchiveIndex?,
                                  primaryError: ArchiveError) throws -> Opened? {
        for number in numbers.reversed() where number < last {
            let path = VolumeNaming.path(base: base, number: number)
            guard let fd = try? VolumeSet.openVolume(path) else { continue }
            guard let index = try? readPrimary(fd: fd, path: path, last: number, base: base, parity: nil) else {
                close(fd)
                continue
            }
            let leftovers = numbers.filter { $0 > number }.map { VolumeNaming.path(base: base, number: $0) }
            let (parity, _) = matching(ParitySet.open(base: base), index)
            let volumes = try VolumeSet(base: base, index: index, lastFD: fd, parity: parity)
            let named = leftovers.map(\.description).joined(separator: ", ")
            if let copy, copy.archiveID == index.archiveID, copy.volumeSizes == index.volumeSizes {
                return Opened(index: index, volumes: volumes, notices: [], leftovers: leftovers)
            }
            return Opened(index: index, volumes: volumes,
                          notices: ["no complete index lists \(named) (\(primaryError.description)); opened the archive as it was before: the newest version(s) may be lost. If an append was interrupted, append again; otherwise repair or restore \(named)"],
                          leftovers: leftovers)
        }
        return nil
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
    private static func readPrimary(fd: Int32, path: BytePath, last: Int, base: BytePath, parity: ParitySet?) throws -> ArchiveIndex {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ArchiveError(.io, "cannot stat \(path): \(posixErrorText(errno))") }
        let index = try readIndex(size: UInt64(st.st_size), what: path, volume: last - 1, base: base, parity: parity) { offset, count, buffer in
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
    package static func fetchSegment(_ locator: SegmentLocator, base: BytePath, parity: ParitySet?) throws -> [UInt8] {
        let path = VolumeNaming.path(base: base, number: Int(locator.volume) + 1)
        var bytes = [UInt8](repeating: 0, count: Int(locator.size))
        var failure = "it does not match its checksum"
        if let fd = try? VolumeSet.openVolume(path) {
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

    /// The index copy when it is this archive's and describes more volumes
    /// than `index` (nil otherwise). A copy the size of one holding the
    /// segments just read (the copy holds the same bytes) is not read.
    private static func newerCopy(of index: ArchiveIndex, at copyPath: BytePath) -> ArchiveIndex? {
        var st = stat()
        guard copyPath.withCString({ stat($0, &st) }) == 0 else { return nil }
        if let newest = index.newestSegment {
            let segments = index.segments.dropFirst().reduce(newest.size) { $0 + ($1.previous?.size ?? 0) }
            if UInt64(st.st_size) == UInt64(VolumeHeader.size) + segments + UInt64(Footer.size) { return nil }
        }
        guard let copy = try? readCopy(copyPath), copy.archiveID == index.archiveID,
              copy.volumeSizes.count > index.volumeSizes.count else { return nil }
        return copy
    }

    /// The second copy, `OUT.idx`: a volume header numbered 0, the index, a footer.
    private static func readCopy(_ path: BytePath) throws -> ArchiveIndex {
        let fd: Int32
        do {
            fd = try VolumeSet.openVolume(path)
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
                                  volume: nil, base: path, parity: nil) { offset, count, buffer in
            try Posix.preadFully(fd, buffer, count, offset)
        }
        guard index.archiveID == header.archiveID else { throw ArchiveError(.format, "\(path): its header and its index disagree on the archive") }
        return index
    }

    /// The index at the end of the last volume as parity rebuilds it.
    private static func readRebuilt(_ parity: ParitySet, path: BytePath, last: Int, base: BytePath) throws -> ArchiveIndex {
        let index = try readIndex(size: parity.layout.volumeSizes[last - 1], what: path, volume: last - 1,
                                  base: base, parity: parity) { offset, count, buffer in
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
    /// `base` (or `parity`) and whose index must start where the index says
    /// its volume ends; nil for the copy, which holds every segment itself,
    /// the oldest at offset 32.
    private static func readIndex(size: UInt64, what path: BytePath, volume: Int?,
                                  base: BytePath, parity: ParitySet?,
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
                guard volume == nil else { return try fetchSegment(locator, base: base, parity: parity) }
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

    private static func exists(_ path: BytePath) -> Bool {
        var st = stat()
        return path.withCString { lstat($0, &st) } == 0
    }
}
