import Archive
import Glibc

/// libFuzzer target: a whole single-volume archive opened with ArchiveReader,
/// every frame checked and every file read in pieces.
///
/// Input layout: [flags u8][index length N, u32 LE][inflated index, N bytes][volume
/// bytes up to the index]. The harness compresses the index (zlib, or from format 6
/// on an enveloped zstd frame) and appends it and a footer, as the builder does. Checksums would stop almost every mutation at the
/// door, so with flag bit 0 the harness re-seals them after mutation: the index's
/// checksum, the volume header's id and check, each frame header's payload hash
/// and check, and (bit 1) each small frame's decoded hash, so mutated payloads and
/// index records reach the decoder, the frame cache and the chunk mapping.
/// Bits 2-7 pick the read size (61 bytes + 1039 per step).
@_cdecl("LLVMFuzzerTestOneInput")
public func frameReadFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 5 else { return 0 }
    let input = Array(UnsafeRawBufferPointer(start: data, count: size))
    let flags = input[0]
    let indexLength = Int(input[1]) | Int(input[2]) << 8 | Int(input[3]) << 16 | Int(input[4]) << 24
    guard indexLength <= size - 5 else { return 0 }
    var body = Array(input[5..<(5 + indexLength)])
    var volume = Array(input[(5 + indexLength)...])
    if flags & 1 != 0 { guard FrameReadSeal.seal(index: &body, volume: &volume, decoded: flags & 2 != 0) else { return 0 } }

    // Format 6 (its version at byte 8) is stored as an envelope and a zstd frame.
    let version = body.count >= 12 ? UInt32(body[8]) | UInt32(body[9]) << 8 | UInt32(body[10]) << 16 | UInt32(body[11]) << 24 : 0
    guard let compressed = version >= 6 ? SegmentCompression.compress(body, previous: nil, prefix: [])
                                        : FrameReadSeal.compress(body) else { return 0 }
    let footer = Footer(indexOffset: UInt64(volume.count), indexSize: UInt64(compressed.count)).encoded()
    let path = FrameReadSeal.scratch + "/arc.001"
    guard FrameReadSeal.write(volume + compressed + footer, to: path) else { fatalError("cannot write \(path)") }

    guard let reader = try? ArchiveReader(path: path, options: ReaderOptions(cacheBytes: 1 << 20, readAhead: false)) else { return 0 }
    for frame in reader.index.frames.indices { _ = try? reader.checkFrame(frame) }
    _ = reader.files(touching: Set(reader.index.frames.indices))
    // 61 bytes to 64 KiB: smaller pieces cost time per byte and reach no new code.
    let piece = 61 + Int(flags >> 2) * 1039
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: piece, alignment: 16)
    defer { buffer.deallocate() }
    for (inode, node) in reader.index.inodes.enumerated() where node.kind == .regular {
        // Sequential pieces, then one read from the middle (a cold seek).
        var offset: UInt64 = 0
        while offset < node.size, let n = try? reader.read(inode: inode, offset: offset, count: piece, into: buffer), n > 0 {
            if n > piece || UInt64(n) > node.size - offset { fatalError("read returned \(n) bytes for a \(piece)-byte request") }
            offset += UInt64(n)
        }
        _ = try? reader.read(inode: inode, offset: node.size / 2, count: piece, into: buffer)
    }
    return 0
}
