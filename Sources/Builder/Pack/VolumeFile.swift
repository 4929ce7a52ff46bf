import Archive
import CSysCalls
import Glibc

/// One volume file being written, front to back: appends, then `finish`
/// (flushed to disk and closed, errors reported).
///
/// Where the file system takes it, the volume is written with O_DIRECT:
/// appends gather in an aligned staging buffer and go from there to the
/// device in whole blocks, bypassing the page cache. A buffered write
/// copies every byte into page-cache pages the build allocates fresh, and
/// on a 2-core VM that copy was 8-9% of a whole build's CPU (the writer
/// thread, `copy_folio_from_iter_atomic`; a 313 MiB system tree, 119 MB of
/// volume); the staging copy costs a memcpy into memory that stays mapped.
/// The end of the volume that does not fill a block is written without
/// O_DIRECT when the volume is finished. A file system that refuses
/// O_DIRECT, when asked for it or at the first write, gets ordinary
/// buffered writes with writeback started every few MiB, so that the
/// closing fsync finds little left to do.
final class VolumeFile {
    private var fd: Int32
    /// Bytes appended so far (the file's size once finished).
    private(set) var size: UInt64 = 0
    /// Whether appends still go to the device with O_DIRECT.
    private(set) var direct: Bool
    /// Shared by the volumes of one build (one is written at a time).
    private let staging: UnsafeMutableRawBufferPointer
    /// Bytes in `staging`: the file's bytes from `size - staged` on.
    private var staged = 0
    /// Where the writeback of a buffered volume has been started up to.
    private var writebackStarted: UInt64 = 0
    /// What a failure names (the volume's final path).
    private let path: BytePath

    /// Alignment of O_DIRECT offsets, lengths and memory: 4 KiB covers
    /// devices with 512-byte and 4 KiB logical blocks.
    static let block = 4096
    static let stagingSize = 4 << 20
    static let writebackStep: UInt64 = 8 << 20

    /// A staging buffer for `VolumeFile`s.
    static func allocateStaging() -> UnsafeMutableRawBufferPointer {
        .allocate(byteCount: stagingSize, alignment: block)
    }

    /// Writes to `fd`, a regular file its caller created exclusively and
    /// owns (`ArchiveCommit.createTemporary`); closed on finish or deinit.
    init(fd: Int32, path: BytePath, staging: UnsafeMutableRawBufferPointer) {
        // O_DIRECT is asked for once the file is ours: a file system without
        // it refuses an open that asks for it with EINVAL only after it has
        // created the file, and O_EXCL would then refuse the open without it.
        let flags = fcntl(fd, F_GETFL)
        direct = flags >= 0 && fcntl(fd, F_SETFL, flags | gpuarc_O_DIRECT) == 0
        self.fd = fd
        self.staging = staging
        self.path = path
    }

    deinit { if fd >= 0 { close(fd) } }

    func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard let source = bytes.baseAddress, bytes.count > 0 else { return }
        var done = 0
        while done < bytes.count {
            guard direct else {
                try writeBuffered(UnsafeRawBufferPointer(rebasing: bytes[done...]))
                return
            }
            let n = min(bytes.count - done, staging.count - staged)
            staging.baseAddress!.advanced(by: staged).copyMemory(from: source + done, byteCount: n)
            staged += n
            size += UInt64(n)
            done += n
            if staged == staging.count { try writeStaged(staged) }
        }
    }

    /// Writes what is staged, flushes the file to disk and closes it.
    func finish() throws {
        try writeStaged(staged & ~(Self.block - 1))
        if staged > 0 {
            // The last partial block: through the page cache (O_DIRECT takes whole blocks only).
            try leaveDirect()
            try writeStaged(staged)
        }
        let synced = fsync(fd) == 0 ? nil : errno
        let closed = close(fd) == 0 ? nil : errno
        fd = -1
        if let code = synced { throw ArchiveError(.io, "flushing volume \(path) to disk failed: \(posixErrorText(code))") }
        if let code = closed { throw ArchiveError(.io, "closing volume \(path) failed: \(posixErrorText(code))") }
    }

    /// Writes the first `count` staged bytes at their offset and keeps the
    /// rest staged. A file system that takes O_DIRECT at open and refuses
    /// the write (stricter alignment rules, say) gets it again buffered,
    /// and so does the rest of the volume.
    private func writeStaged(_ count: Int) throws {
        guard count > 0 else { return }
        let offset = size - UInt64(staged)
        if var code = Posix.pwriteAll(fd, staging.baseAddress!, count, offset) {
            if direct && code == EINVAL {
                try leaveDirect()
                guard let again = Posix.pwriteAll(fd, staging.baseAddress!, count, offset) else { return try dropStaged(count) }
                code = again
            }
            throw failure(code)
        }
        try dropStaged(count)
    }

    private func dropStaged(_ count: Int) throws {
        staged -= count
        if staged > 0 { staging.baseAddress!.copyMemory(from: staging.baseAddress! + count, byteCount: staged) }
        if !direct { try writeStaged(staged) }
    }

    private func leaveDirect() throws {
        guard direct else { return }
        let flags = fcntl(fd, F_GETFL)
        if flags < 0 || fcntl(fd, F_SETFL, flags & ~gpuarc_O_DIRECT) != 0 { throw failure(errno) }
        direct = false
    }

    private func writeBuffered(_ bytes: UnsafeRawBufferPointer) throws {
        if let code = Posix.pwriteAll(fd, bytes.baseAddress!, bytes.count, size) { throw failure(code) }
        size += UInt64(bytes.count)
        startWriteback()
    }

    /// Starts writing a buffered volume out to disk every few MiB while the
    /// build goes on (sync_file_range, which does not wait for it), so that
    /// the fsync that ends the volume finds little left to do: on a 313 MiB
    /// tree the build waited 40-50 ms on that fsync, the cores idle.
    /// Durability still comes from the fsync; this only moves the disk's
    /// work earlier.
    private func startWriteback() {
        guard size - writebackStarted >= Self.writebackStep else { return }
        _ = gpuarc_start_writeback(fd, Int64(writebackStarted), Int64(size - writebackStarted))
        writebackStarted = size
    }

    private func failure(_ code: Int32) -> ArchiveError {
        ArchiveError(.io, "writing volume \(path) failed: \(posixErrorText(code))")
    }
}
