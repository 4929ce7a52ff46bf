/// Decodes whole frames outside the cache, for `--verify`: every frame's stored
/// and decoded checksums, with each failure reported (not just the first).
extension ArchiveReader {
    public struct BadFrame: Sendable {
        public let frame: Int
        public let volume: String
        public let message: String
    }

    /// Loads, decodes and checks one frame; throws its ArchiveError.
    public func checkFrame(_ frame: Int) throws {
        try withDecodedFrame(frame) { _, _ in }
    }

    /// Runs `body` on a frame's checked decoded bytes (and its stored payload),
    /// outside the cache: for --verify and the codec benchmark. The same
    /// loader as the cache's (parity included, where the archive has it).
    public func withDecodedFrame<R>(_ frame: Int, _ body: (_ decoded: UnsafeRawBufferPointer, _ stored: UnsafeRawBufferPointer) throws -> R) throws -> R {
        let loader = cache.loader
        let record = index.frames[frame]
        let payload = try loader.loadPayload(frame)
        defer { payload.deallocate() }
        let stored = UnsafeRawBufferPointer(payload)
        let decoded = UnsafeMutableRawBufferPointer.allocate(byteCount: max(Int(record.decodedSize), 1), alignment: 64)
        defer { decoded.deallocate() }
        let out = UnsafeMutableRawBufferPointer(rebasing: decoded[0..<Int(record.decodedSize)])
        try loader.decode(frame, stored, into: out)
        return try body(UnsafeRawBufferPointer(out), stored)
    }

    /// Inodes of regular files whose content needs any of `frames` (directly or
    /// through the delta bases it is decoded against).
    public func files(touching frames: Set<Int>) -> [Int] {
        var badChunks = Set<Int>()
        for i in index.chunks.indices {
            var touches = false
            index.forEachInDeltaChain(i) { _, c in touches = touches || frames.contains(Int(c.frame)) }
            if touches { badChunks.insert(i) }
        }
        var badContents = Set<Int>()
        for content in index.contents.indices where index.refRange(ofContent: content).contains(where: { badChunks.contains(Int(index.chunkRefs[$0])) }) {
            badContents.insert(content)
        }
        return index.inodes.indices.filter { index.inodes[$0].kind == .regular && badContents.contains(Int(index.inodes[$0].data)) }
    }
}
