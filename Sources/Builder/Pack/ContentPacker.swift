import Archive
import Glibc

/// Reads file contents, in storage order, into the pipeline's frame slots and
/// records where every byte went: a content becomes a list of literal chunks,
/// one per frame it touches.
final class ContentPacker {
    struct Packed {
        var refs: [UInt32] = []
        var size: UInt64 = 0
    }

    private let pipeline: FramePipeline
    private var slot: FramePipeline.Slot?
    private(set) var chunks: [ChunkRecord] = []
    private(set) var bytesRead: UInt64 = 0
    var onProgress: ((UInt64) -> Void)?

    init(pipeline: FramePipeline) { self.pipeline = pipeline }

    /// Stores `expectedSize` bytes of the file at `path`. A file that shrank or
    /// grew since the scan is stored as far as it was read, with a warning.
    func pack(path: String, expectedSize: UInt64, warn: (String) -> Void) throws -> Packed? {
        let fd: Int32
        do {
            fd = try SourceFile.open(path)
        } catch {
            warn("cannot read \(path): \(error); not archived")
            return nil
        }
        defer { close(fd) }
        var packed = Packed()
        var remaining = expectedSize
        while remaining > 0 {
            if let error = pipeline.error { throw error }
            var current = slot ?? pipeline.takeSlot()
            if current.used == pipeline.frameSize {
                pipeline.submit(current)
                current = pipeline.takeSlot()
            }
            slot = current
            let want = Int(min(UInt64(pipeline.frameSize - current.used), remaining))
            let n: Int
            do {
                n = try Posix.preadFully(fd, current.input.baseAddress! + current.used, want, packed.size)
            } catch {
                warn("reading \(path) failed after \(packed.size) bytes (\(error)); not archived")
                return nil
            }
            if n > 0 {
                chunks.append(.literal(frame: UInt32(current.number), offset: UInt32(current.used), length: UInt32(n)))
                packed.refs.append(UInt32(chunks.count - 1))
                current.used += n
                packed.size += UInt64(n)
                remaining -= UInt64(n)
                bytesRead += UInt64(n)
                onProgress?(bytesRead)
            }
            if n < want {
                warn("\(path) shrank while being archived: stored its first \(packed.size) of \(expectedSize) bytes")
                return packed
            }
        }
        var probe: UInt8 = 0
        if pread(fd, &probe, 1, off_t(expectedSize)) == 1 {
            warn("\(path) grew while being archived: stored its first \(expectedSize) bytes")
        }
        return packed
    }

    /// Hands the last partly filled frame to the pipeline.
    func flush() {
        if let current = slot, current.used > 0 { pipeline.submit(current) }
        slot = nil
    }
}
