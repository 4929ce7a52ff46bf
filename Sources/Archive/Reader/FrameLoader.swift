/// The one way a frame is loaded, for the frame cache, `--verify`, extract
/// and repair alike: located in its volume, read, its header and stored
/// bytes checked against the index, decoded, and its decoded bytes checked.
/// When a volume's bytes cannot be had or fail a check and the archive has
/// parity, the frame's bytes are rebuilt from parity: one more place the
/// loader gets them from, with the same checks after. Decoding goes through
/// the codec seam (`FrameDecoders`): the loader never looks at a codec.
struct FrameLoader: Sendable {
    let index: ArchiveIndex
    let volumes: VolumeSet
    var decoders = FrameDecoders()

    func location(_ frame: Int) -> String {
        let record = index.frames[frame]
        return "frame \(frame) in volume \(volumes.paths[Int(record.volume)]) at offset \(record.offset)"
    }

    /// The frame's stored payload in a new buffer the caller owns, checked:
    /// after this, decoding works on bytes known to be what was written.
    func loadPayload(_ frame: Int) throws -> UnsafeMutableRawBufferPointer {
        do {
            return try loadPayload(frame, rebuilt: false)
        } catch let error as ArchiveError where volumes.parity != nil {
            do {
                return try loadPayload(frame, rebuilt: true)
            } catch let rebuild as ArchiveError {
                throw ArchiveError(.corruptFrame, "\(error.description); parity could not rebuild it either: \(rebuild.description)")
            }
        }
    }

    private func loadPayload(_ frame: Int, rebuilt: Bool) throws -> UnsafeMutableRawBufferPointer {
        let record = index.frames[frame]
        let total = FrameHeader.size + Int(record.storedSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(total, 1), alignment: 64)
        var ok = false
        defer { if !ok { buffer.deallocate() } }
        do {
            if rebuilt {
                try volumes.rebuild(volume: Int(record.volume), offset: record.offset, count: total, into: buffer.baseAddress!)
            } else {
                try volumes.read(volume: Int(record.volume), offset: record.offset, count: total, into: buffer.baseAddress!)
            }
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

    /// The decoder of the frame's codec.
    func decoder(_ frame: Int) -> CodecDecoder { decoders.decoder(for: index.frames[frame].codec) }

    /// Decodes a whole checked payload into `output` (the frame's decoded
    /// size) and checks the result.
    func decode(_ frame: Int, _ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
        do {
            try decoder(frame).decode(payload, into: output)
        } catch {
            throw ArchiveError(.corruptFrame, "\(location(frame)): does not decode (\(error))")
        }
        try checkDecoded(frame, UnsafeRawBufferPointer(output))
    }

    /// Decodes a checked payload front to back up to `target` decoded bytes
    /// (at least), resuming `partial` (the frame cache's partial frames);
    /// checks the decoded bytes once the frame is complete.
    func decodeStep(_ frame: Int, _ payload: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
                    partial: PartialDecode, until target: Int) throws {
        do {
            try partial.advance(payload, into: output, until: target)
        } catch {
            throw ArchiveError(.corruptFrame, "\(location(frame)): does not decode (\(error))")
        }
        if partial.finished { try checkDecoded(frame, UnsafeRawBufferPointer(output)) }
    }

    func checkDecoded(_ frame: Int, _ decoded: UnsafeRawBufferPointer) throws {
        guard XXHash64.hash(decoded) == index.frames[frame].decodedHash else {
            throw ArchiveError(.corruptFrame, "\(location(frame)): decoded bytes fail their checksum")
        }
    }
}
