import Foundation
import Glibc

/// The open volumes of an archive, checked against the index: each one present,
/// of the recorded size, and carrying this archive's id and its own number.
/// Reads are positional (pread), so any number of threads can share it.
///
/// A volume before the last that fails a check (missing, truncated, damaged
/// header, from another archive, out of place) does not stop the archive from
/// opening: it is recorded in `problems` and every read from it fails with that
/// problem, so the files in the other volumes can still be restored or served.
/// The last volume holds the index and must pass, unless the index came from
/// its copy or from parity.
///
/// With parity (`ParitySet`), a volume with a problem is read through it:
/// its bytes are rebuilt from the other volumes and the parity volumes, so
/// nothing is lost while no more volumes are damaged than there is parity.
public final class VolumeSet: @unchecked Sendable {
    public let base: BytePath
    public let paths: [BytePath]
    /// Volumes (0-based) that cannot be used as they are, with why.
    public let problems: [Int: ArchiveError]
    /// The archive's parity volumes, when it has any that can be read.
    public let parity: ParitySet?
    private let fds: [Int32]

    /// Opens and checks volumes 1...count. `lastFD`: the last volume, already
    /// known to hold `index` (nil when the index came from elsewhere).
    init(files: ArchiveFiles, index: ArchiveIndex, lastFD: Int32?, parity: ParitySet?) throws {
        self.parity = parity
        self.base = files.base
        let count = index.volumeSizes.count
        var paths: [BytePath] = [], fds: [Int32] = [], problems: [Int: ArchiveError] = [:]
        var ok = false
        defer { if !ok { for fd in fds where fd != lastFD && fd >= 0 { close(fd) } } }
        for number in 1...count {
            let path = files.volumePath(number)
            paths.append(path)
            do {
                fds.append(try Self.open(path, number: number, index: index, files: files, fd: number == count ? lastFD : nil))
            } catch let error as ArchiveError where number < count || lastFD == nil {
                problems[number - 1] = error
                fds.append(-1)
            }
        }
        // Every other volume disowned by the index: it is the last volume that
        // is out of place (another archive's), not all of the others.
        let foreign = problems.values.filter { $0.description.contains("belongs to another archive") }.count
        if count > 1 && foreign == count - 1 && lastFD != nil {
            throw ArchiveError(.format, "\(paths[count - 1]) holds the index of another archive than volumes 1-\(count - 1) (their archive ids differ): it is out of place")
        }
        self.paths = paths
        self.fds = fds
        self.problems = problems
        ok = true
    }

    /// Opens (unless `fd` is given) and checks one volume; throws what is wrong with it.
    private static func open(_ path: BytePath, number: Int, index: ArchiveIndex, files: ArchiveFiles, fd given: Int32?) throws -> Int32 {
        let count = index.volumeSizes.count
        let fd: Int32
        if let given {
            fd = given
        } else {
            do {
                fd = try files.open(path)
            } catch let error as ArchiveError where error.kind == .missingVolume {
                throw ArchiveError(.missingVolume, "volume \(path) is missing (the archive has \(count) volumes); put it back next to the others")
            }
        }
        var handedOver = false
        defer { if !handedOver && given == nil { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ArchiveError(.io, "cannot stat volume \(path): \(posixErrorText(errno))") }
        // The last volume continues past its recorded size with the index and
        // footer; the opener has already checked that part.
        let expected = index.volumeSizes[number - 1]
        if number < count && UInt64(st.st_size) != expected {
            throw ArchiveError(.format, "volume \(path) has \(st.st_size) bytes but the index expects \(expected): it is truncated, damaged or from another archive")
        }
        // The last one's frames all lie before its index.
        if number == count && UInt64(st.st_size) < expected {
            throw ArchiveError(.format, "volume \(path) has \(st.st_size) bytes but its frames reach \(expected): it is truncated")
        }
        var raw = [UInt8](repeating: 0, count: VolumeHeader.size)
        let n = try raw.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, VolumeHeader.size, 0) }
        let header = try raw[0..<n].withUnsafeBytes { try VolumeHeader.decode($0, volume: path.description) }
        guard header.archiveID == index.archiveID else {
            throw ArchiveError(.format, "volume \(path) belongs to another archive (its archive id differs)")
        }
        guard header.number == UInt32(number) else {
            throw ArchiveError(.format, "volume \(path) is volume \(header.number) of this archive, not \(number): volumes were renamed or swapped")
        }
        handedOver = true
        return fd
    }

    deinit { for fd in fds where fd >= 0 { close(fd) } }

    /// Reads the bytes through parity: as written, even where the volume is
    /// damaged or missing (throws when there is no parity or it cannot rebuild them).
    func rebuild(volume: Int, offset: UInt64, count: Int, into buffer: UnsafeMutableRawPointer) throws {
        guard let parity else { throw ArchiveError(.corruptFrame, "\(paths[volume]) cannot be rebuilt: the archive has no parity volumes") }
        try parity.read(volume: volume, offset: offset, count: count, into: buffer)
        rebuiltLock.lock()
        rebuiltReads += 1
        rebuiltLock.unlock()
    }

    private let rebuiltLock = NSLock()
    private var rebuiltReads = 0

    /// Reads served from parity so far (damage the archive has, even when it cost nothing).
    public var readsRebuiltFromParity: Int {
        rebuiltLock.lock(); defer { rebuiltLock.unlock() }
        return rebuiltReads
    }

    /// Whether every problem volume can be read through parity (more lost
    /// blocks per stripe than parity volumes still fail, when read).
    public var problemsCoveredByParity: Bool {
        guard let parity, !problems.isEmpty else { return problems.isEmpty }
        return problems.count + parity.problems.count <= parity.layout.parityCount
    }

    /// Opens a volume for reading. It must be a regular file: a FIFO named
    /// like a volume would block every reader forever, and a device would
    /// read endlessly. The open itself never blocks (O_NONBLOCK, which
    /// regular files ignore). A symlink is followed: volumes spread over
    /// disks are often linked into one directory.
    public static func openVolume(_ path: BytePath) throws -> Int32 {
        let fd = path.withCString { Glibc.open($0, O_RDONLY | O_CLOEXEC | O_NONBLOCK) }
        guard fd >= 0 else {
            let code = errno
            throw ArchiveError(code == ENOENT ? .missingVolume : .io, code == ENOENT
                               ? "volume \(path) does not exist" : "cannot open volume \(path): \(posixErrorText(code))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let code = errno
            close(fd)
            throw ArchiveError(.io, "cannot stat volume \(path): \(posixErrorText(code))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw ArchiveError(.format, "\(path) is not a regular file (\(fileTypeName(st.st_mode))), so it cannot be a gpuarc volume: refused")
        }
        return fd
    }

    /// Reads exactly `count` bytes at `offset` of volume `volume` (0-based);
    /// a volume with a problem is read through parity, where there is parity.
    func read(volume: Int, offset: UInt64, count: Int, into buffer: UnsafeMutableRawPointer) throws {
        if let problem = problems[volume] {
            guard parity != nil else { throw problem }
            return try rebuild(volume: volume, offset: offset, count: count, into: buffer)
        }
        let n: Int
        do {
            n = try Posix.preadFully(fds[volume], buffer, count, offset)
        } catch let error as ArchiveError {
            throw ArchiveError(.io, "reading \(paths[volume]) at \(offset): \(error.description)")
        }
        guard n == count else {
            throw ArchiveError(.format, "volume \(paths[volume]) ends early: wanted \(count) bytes at offset \(offset), got \(n)")
        }
    }
}
