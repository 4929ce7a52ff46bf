/// Fetches a frame's stored payload from its volume and proves it is the one the
/// index describes: header fields equal the index record and the payload hash
/// matches. After this, decoding works on bytes known to be what was written.
struct FrameStore: Sendable {
    let index: ArchiveIndex
    let volumes: VolumeSet

    func location(_ frame: Int) -> String {
        let record = index.frames[frame]
        return "frame \(frame) in volume \(volumes.paths[Int(record.volume)]) at offset \(record.offset)"
    }

    /// Reads header + payload into a new buffer the caller owns (payload only).
    func loadPayload(_ frame: Int) throws -> UnsafeMutableRawBufferPointer {
        let record = index.frames[frame]
        let total = FrameHeader.size + Int(record.storedSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 64)
        var ok = false
        defer { if !ok { buffer.deallocate() } }
        do {
            try volumes.read(volume: Int(record.volume), offset: record.offset, count: total, into: buffer.baseAddress!)
        } catch let error as ArchiveError {
            throw ArchiveError(.corruptFrame, "\(location(frame)): \(error.description)")
        }
        let header = try FrameHeader.decode(UnsafeRawBufferPointer(buffer), location: location(frame))
        guard header.number == UInt32(frame), header.codec == record.codec, header.storedSize == record.storedSize,
              header.decodedSize == record.decodedSize, header.payloadHash == record.payloadHash,
              header.decodedHash == record.decodedHash else {
            throw ArchiveError(.corruptFrame, "\(location(frame)): frame header disagrees with the index (the volume was modified or frames were shifted)")
        }
        let payload = UnsafeRawBufferPointer(rebasing: buffer[FrameHeader.size..<total])
        guard XXHash64.hash(payload) == record.payloadHash else {
            throw ArchiveError(.corruptFrame, "\(location(frame)): stored bytes fail their checksum (the volume is damaged)")
        }
        // Move the payload to the front so the caller owns a plain payload buffer.
        if total > FrameHeader.size {
            buffer.baseAddress!.copyMemory(from: buffer.baseAddress! + FrameHeader.size, byteCount: Int(record.storedSize))
        }
        ok = true
        return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<Int(record.storedSize)])
    }
}
