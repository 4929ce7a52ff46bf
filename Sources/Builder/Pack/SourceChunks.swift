import Archive
import Glibc

/// Reads one open source file and cuts its stored bytes (all of it, or its
/// data extents back to back when it has holes) into content-defined
/// chunks: the part of packing a file that needs no decision, shared by the
/// packer (inline) and the `ChunkPreparer` (ahead, on its own thread).
///
/// Whether what was read is one version of the file is for the caller to
/// check afterwards (`OpenSource.unchanged`); this reads as much as the file
/// had when it was opened, or less if it ends early.
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

    /// Emits the chunks of `file` with their offsets in its stored bytes;
    /// `progress` gets the bytes read after each read; `checkStop` runs
    /// before each read and may throw to abandon the file. Returns nil, or
    /// why reading failed (the chunks emitted before stay emitted).
    mutating func cut(_ file: OpenSource, extents: [DataExtent]?, checkStop: () throws -> Void,
                      progress: (Int) -> Void, emit: (UnsafeRawBufferPointer, UInt64) -> Void) throws -> String? {
        var offset: UInt64 = 0
        return try withoutActuallyEscaping(emit) { emit in
            let emitAt = { (chunk: UnsafeRawBufferPointer) in
                emit(chunk, offset)
                offset += UInt64(chunk.count)
            }
            return try cut(file, extents: extents, checkStop: checkStop, progress: progress, emitAt: emitAt)
        }
    }

    /// Emits the chunks of a file's bytes, all in hand (`HeldContents`), with their offsets.
    mutating func cut(bytes: [UInt8], emit: (UnsafeRawBufferPointer, UInt64) -> Void) {
        var offset: UInt64 = 0
        let emitAt = { (chunk: UnsafeRawBufferPointer) in
            emit(chunk, offset)
            offset += UInt64(chunk.count)
        }
        chunker.append(bytes, emit: emitAt)
        chunker.finish(emit: emitAt)
    }

    private mutating func cut(_ file: OpenSource, extents: [DataExtent]?, checkStop: () throws -> Void,
                              progress: (Int) -> Void, emitAt: @escaping (UnsafeRawBufferPointer) -> Void) throws -> String? {
        let ranges = extents ?? [DataExtent(offset: 0, length: UInt64(file.st.st_size))]
        var failure: String?
        // A file that failed is not stored: its unfinished last chunk is dropped.
        defer { if failure == nil { chunker.finish(emit: emitAt) } else { chunker.finish { _ in } } }
        for range in ranges {
            var position = range.offset
            while position < range.end {
                do { try checkStop() } catch { failure = "stopped"; throw error }
                let want = Int(min(UInt64(Self.readSize), range.end - position))
                let n: Int
                do {
                    n = try Posix.preadFully(file.fd, buffer.baseAddress!, want, position)
                } catch {
                    failure = "reading failed after \(position) bytes (\(error))"
                    return failure
                }
                chunker.append(UnsafeRawBufferPointer(rebasing: buffer[0..<n]), emit: emitAt)
                position += UInt64(n)
                progress(n)
                if n < want { return nil }   // it shrank: the identity check says so
            }
        }
        return nil
    }
}
