import Archive
import Glibc

/// Reads one source file and cuts it into content-defined chunks: the part of
/// packing a file that needs no decision, shared by the packer (inline) and
/// the `ChunkPreparer` (ahead, on its own thread).
///
/// A file that cannot be opened or read is reported through `warn` and gives
/// false ("not archived"); chunks emitted before a read error stay emitted.
/// A file that shrank or grew since the scan is cut as far as it was read,
/// with a warning.
struct SourceChunks {
    /// Bytes read from a file at a time.
    static let readSize = 1 << 20

    private var chunker: StreamingChunker
    private let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: SourceChunks.readSize, alignment: 64)

    init(chunker: ContentDefinedChunker) {
        self.chunker = StreamingChunker(chunker: chunker)
    }

    /// Frees the read buffer (the owner calls it once, when done).
    func release() { buffer.deallocate() }

    /// Emits the chunks of `path` (`expectedSize` bytes at the scan) with
    /// their offsets in it; `progress` gets the bytes read after each read;
    /// `checkStop` runs before each read and may throw to abandon the file.
    mutating func cut(path: String, expectedSize: UInt64, warn: (String) -> Void, checkStop: () throws -> Void,
                      progress: (Int) -> Void, emit: (UnsafeRawBufferPointer, UInt64) -> Void) rethrows -> Bool {
        let fd: Int32
        do {
            fd = try SourceFile.open(path)
        } catch {
            warn("cannot read \(path): \(error); not archived")
            return false
        }
        defer { close(fd) }
        var offset: UInt64 = 0
        let emitAt = { (chunk: UnsafeRawBufferPointer) in
            emit(chunk, offset)
            offset += UInt64(chunk.count)
        }
        var remaining = expectedSize
        var read: UInt64 = 0
        while remaining > 0 {
            try checkStop()
            let want = Int(min(UInt64(Self.readSize), remaining))
            let n: Int
            do {
                n = try Posix.preadFully(fd, buffer.baseAddress!, want, read)
            } catch {
                warn("reading \(path) failed after \(read) bytes (\(error)); not archived")
                chunker.finish { _ in }
                return false
            }
            chunker.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), emit: emitAt)
            read += UInt64(n)
            remaining -= UInt64(n)
            progress(n)
            if n < want {
                warn("\(path) shrank while being archived: stored its first \(read) of \(expectedSize) bytes")
                break
            }
        }
        chunker.finish(emit: emitAt)
        var probe: UInt8 = 0
        if remaining == 0, pread(fd, &probe, 1, off_t(expectedSize)) == 1 {
            warn("\(path) grew while being archived: stored its first \(expectedSize) bytes")
        }
        return true
    }
}
