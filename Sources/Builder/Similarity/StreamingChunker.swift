/// Feeds a file to a `ContentDefinedChunker` in pieces of any size and emits
/// exactly the chunks a one-shot pass over the whole file would give, so the
/// builder can chunk large files without holding them in memory.
///
/// Chunks are handed out as buffers that are valid only during the `emit`
/// call: a chunk that lies inside one piece is not copied at all, only a
/// chunk that spans pieces is assembled in an internal buffer.
public struct StreamingChunker: Sendable {
    public let chunker: ContentDefinedChunker
    /// The start of the current chunk, carried over from earlier pieces.
    private var pending: [UInt8] = []
    private var scan = ContentDefinedChunker.Scan()

    public init(chunker: ContentDefinedChunker = ContentDefinedChunker()) {
        self.chunker = chunker
    }

    /// Appends the next piece of the file and emits every chunk it completes.
    public mutating func append(_ piece: UnsafeRawBufferPointer, emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        var rest = piece
        if !pending.isEmpty {
            // Complete the carried-over chunk, feeding at most what a chunk can hold.
            let take = min(rest.count, chunker.maximumSize - pending.count)
            pending.append(contentsOf: UnsafeRawBufferPointer(rebasing: rest[..<take]).assumingMemoryBound(to: UInt8.self))
            let length = pending.withUnsafeBytes { chunker.cut(in: $0, scan: &scan, isFinal: false) }
            guard let length else { return }
            // The cut lies within the bytes just taken: rewind `rest` to just after it.
            let fromPiece = length - (pending.count - take)
            try pending.withUnsafeBytes { try emit(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
            pending.removeAll(keepingCapacity: true)
            rest = UnsafeRawBufferPointer(rebasing: rest[fromPiece...])
        }
        while !rest.isEmpty {
            guard let length = chunker.cut(in: rest, scan: &scan, isFinal: false) else {
                pending.append(contentsOf: rest.assumingMemoryBound(to: UInt8.self))
                return
            }
            try emit(UnsafeRawBufferPointer(rebasing: rest[..<length]))
            rest = UnsafeRawBufferPointer(rebasing: rest[length...])
        }
    }

    public mutating func append(_ piece: [UInt8], emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        try piece.withUnsafeBytes { try append($0, emit: emit) }
    }

    /// Emits the chunk left at the end of the file and resets for the next file.
    public mutating func finish(emit: (UnsafeRawBufferPointer) throws -> Void) rethrows {
        if !pending.isEmpty {
            try pending.withUnsafeBytes { try emit($0) }
        }
        pending.removeAll(keepingCapacity: true)
        scan = ContentDefinedChunker.Scan()
    }
}
