import Archive
import CZlib
import Glibc

/// Re-sealing for the frame-read target (see FrameReadFuzz.swift).
enum FrameReadSeal {
    /// A per-process scratch directory in memory, so each run writes no disk.
    static let scratch: String = {
        let dir = (access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") + "/gpuarc-fuzz-\(getpid())"
        mkdir(dir, 0o700)
        return dir
    }()

    /// Frames up to this size get their decoded hash re-sealed (decoding larger
    /// claimed sizes in the harness would only slow the run down).
    static let resealDecodedLimit = 1 << 20

    /// zlib, as the builder stores the index (the body may be invalid on purpose).
    static func compress(_ body: [UInt8]) -> [UInt8]? {
        var length = compressBound(uLong(body.count))
        var out = [UInt8](repeating: 0, count: Int(length))
        let status = out.withUnsafeMutableBufferPointer { o in
            body.withUnsafeBufferPointer { compress2(o.baseAddress, &length, $0.baseAddress, uLong($0.count), 1) }
        }
        return status == Z_OK ? Array(out[0..<Int(length)]) : nil
    }

    static func write(_ bytes: [UInt8], to path: String) -> Bool {
        mkdir(scratch, 0o700)   // again: a cleanup may have removed it
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return bytes.withUnsafeBytes { Posix.writeAll(fd, $0.baseAddress!, $0.count) } == nil
    }

    /// Parses the index, makes it describe `volume` (one volume of this size),
    /// fixes the volume header and frame headers to agree, and re-encodes it.
    /// False when the index does not parse even with its checksum re-sealed.
    static func seal(index body: inout [UInt8], volume: inout [UInt8], decoded: Bool) -> Bool {
        FuzzSeal.sealIndex(&body)
        guard var index = try? body.withUnsafeBytes({ try IndexCodec.decode($0, what: "fuzz") }) else { return false }
        index.volumeSizes = [UInt64(volume.count)]
        if volume.count >= VolumeHeader.size {
            volume.replaceSubrange(0..<VolumeHeader.size, with: VolumeHeader(archiveID: index.archiveID, number: 1).encoded())
        }
        for (i, record) in index.frames.enumerated() {
            let start = Int(clamping: record.offset), payloadStart = start &+ FrameHeader.size
            guard record.volume == 0, start >= 0, payloadStart <= volume.count,
                  Int(record.storedSize) <= volume.count - payloadStart else { continue }
            let payload = Array(volume[payloadStart..<(payloadStart + Int(record.storedSize))])
            var sealed = record
            sealed.payloadHash = XXHash64.hash(payload)
            if decoded, let bytes = decode(payload, record) { sealed.decodedHash = XXHash64.hash(bytes) }
            index.frames[i] = sealed
            let header = FrameHeader(codec: sealed.codec, number: UInt32(i), storedSize: sealed.storedSize,
                                     decodedSize: sealed.decodedSize, payloadHash: sealed.payloadHash,
                                     decodedHash: sealed.decodedHash)
            volume.replaceSubrange(start..<payloadStart, with: header.encoded())
        }
        body = IndexCodec.encode(index)
        return true
    }

    private static func decode(_ payload: [UInt8], _ record: FrameRecord) -> [UInt8]? {
        guard Int(record.decodedSize) <= resealDecodedLimit else { return nil }
        if record.codec == .raw { return payload }
        var out = [UInt8](repeating: 0, count: Int(record.decodedSize))
        // Each codec through the seam, as the reader decodes it.
        let decoder = FrameDecoders().decoder(for: record.codec)
        let ok = payload.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { (try? decoder.decode(src, into: $0)) != nil }
        }
        return ok ? out : nil
    }
}
