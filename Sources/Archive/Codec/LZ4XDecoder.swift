public struct LZ4XCorruptError: Error, CustomStringConvertible {
    public let reason: String
    /// Offset in the encoded block where the problem was found.
    public let inputOffset: Int

    public init(reason: String, inputOffset: Int) {
        self.reason = reason
        self.inputOffset = inputOffset
    }

    public var description: String { "corrupt LZ4X block at input offset \(inputOffset): \(reason)" }
}

public enum LZ4XDecoder {
    /// Decodes a whole block. dst[0..<prefixLength] already holds the prefix dictionary;
    /// decoded bytes are written to dst[prefixLength...] and must fill dst exactly
    /// (dst.count == prefixLength + expected decoded size), else it throws.
    public static func decode(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer,
                              prefixLength: Int = 0) throws {
        guard prefixLength >= 0 && prefixLength <= dst.count else {
            throw LZ4XCorruptError(reason: "prefix longer than the output buffer", inputOffset: 0)
        }
        var progress = Progress(prefixLength: prefixLength)
        try decode(src, into: dst, progress: &progress, until: dst.count)
    }

    /// Resumable partial decode, for reads near the start of a cold 16 MiB frame.
    public struct Progress: Sendable {
        /// Bytes of the block consumed so far.
        public var input: Int
        /// Bytes of dst valid so far (prefix included).
        public var output: Int
        public var finished: Bool

        public init(prefixLength: Int = 0) {
            input = 0
            output = prefixLength
            finished = false
        }
    }

    /// Decodes sequences until progress.output >= target (or the block ends); may decode past target
    /// up to the end of the current sequence. Calling again with a larger target resumes.
    /// At the end of the block, sets finished = true and throws if the output is not exactly dst.count.
    ///
    /// On a throw, progress is left where the last call ended; dst past progress.output may hold junk.
    public static func decode(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer,
                              progress: inout Progress, until target: Int) throws {
        guard !progress.finished else { return }
        let iend = src.count, oend = dst.count
        guard progress.input >= 0 && progress.input <= iend && progress.output >= 0 && progress.output <= oend else {
            throw LZ4XCorruptError(reason: "progress outside the buffers", inputOffset: progress.input)
        }
        guard let s = src.baseAddress, iend > 0 else {
            throw LZ4XCorruptError(reason: "empty block", inputOffset: 0)
        }
        guard let d = dst.baseAddress else {
            // Nothing can be written, so the only valid block is one token without literals.
            guard iend == 1 && s.load(as: UInt8.self) >> 4 == 0 else {
                throw LZ4XCorruptError(reason: "data for an empty output", inputOffset: 0)
            }
            progress.input = 1
            progress.finished = true
            return
        }
        var ip = progress.input
        var op = progress.output
        // Keep going once the output is full: only the final literal-less token may remain.
        while op < target || op == oend {
            guard ip < iend else { throw corrupt("missing token", ip) }
            let token = Int(s.load(fromByteOffset: ip, as: UInt8.self))
            ip &+= 1

            var litLen = token >> 4
            if litLen < 15 && token & 15 < 15 && iend &- ip >= 32 && oend &- op >= 64 {
                // Shortcut for the common short sequence far from both ends: at most 14 literals
                // and an 18-byte match, copied with fixed-size wild copies and no length checks.
                copy16(d + op, s + ip)
                ip &+= litLen
                op &+= litLen
                let offset = Int(UInt32(littleEndian: s.loadUnaligned(fromByteOffset: ip, as: UInt32.self)) & 0xFF_FFFF)
                guard offset != 0 else { throw corrupt("match offset 0", ip) }
                guard offset <= op else { throw corrupt("match offset \(offset) before the start of the output", ip) }
                ip &+= 3
                let matchLen = token & 15 &+ LZ4X.minMatch
                if offset >= 16 {
                    copy16(d + op, d + (op &- offset))
                    copy16(d + (op &+ 16), d + (op &- offset &+ 16))
                } else {
                    copyMatch(d, op, offset, matchLen, roomAfter: oend &- op &- matchLen)
                }
                op &+= matchLen
                continue
            }
            if litLen == 15 { litLen &+= try extensionValue(s, &ip, iend) }
            if litLen <= iend &- ip &- 16 && litLen <= oend &- op &- 16 {
                // Wild copy in 16-byte steps: may write up to 15 bytes past the literals,
                // which the next sequence overwrites; both buffers have room for it.
                var i = 0
                repeat {
                    copy16(d + (op &+ i), s + (ip &+ i))
                    i &+= 16
                } while i < litLen
            } else {
                guard litLen <= iend &- ip else { throw corrupt("literals past the end of the block", ip) }
                guard litLen <= oend &- op else { throw corrupt("literals past the end of the output", ip) }
                if litLen > 0 { (d + op).copyMemory(from: s + ip, byteCount: litLen) }
            }
            ip &+= litLen
            op &+= litLen

            if ip == iend {
                guard op == oend else {
                    throw corrupt("block ends at output byte \(op), expected \(oend)", ip)
                }
                progress.finished = true
                break
            }
            guard iend &- ip >= 3 else { throw corrupt("truncated match offset", ip) }
            let offset = Int(s.load(fromByteOffset: ip, as: UInt8.self))
                | Int(s.load(fromByteOffset: ip &+ 1, as: UInt8.self)) << 8
                | Int(s.load(fromByteOffset: ip &+ 2, as: UInt8.self)) << 16
            guard offset != 0 else { throw corrupt("match offset 0", ip) }
            guard offset <= op else { throw corrupt("match offset \(offset) before the start of the output", ip) }
            ip &+= 3

            var matchLen = token & 15
            if matchLen == 15 { matchLen &+= try extensionValue(s, &ip, iend) }
            matchLen &+= LZ4X.minMatch
            guard matchLen <= oend &- op else { throw corrupt("match past the end of the output", ip) }
            copyMatch(d, op, offset, matchLen, roomAfter: oend &- op &- matchLen)
            op &+= matchLen
        }
        progress.input = ip
        progress.output = op
    }

    @inline(__always) static func corrupt(_ reason: String, _ at: Int) -> LZ4XCorruptError {
        LZ4XCorruptError(reason: reason, inputOffset: at)
    }

    /// Sum of a 255-terminated run of extension bytes. Every byte consumed adds at most 255,
    /// so the sum is bounded by 255 * src.count and cannot overflow.
    @inline(__always) static func extensionValue(_ s: UnsafeRawPointer, _ ip: inout Int, _ iend: Int) throws -> Int {
        var sum = 0
        while true {
            guard ip < iend else { throw corrupt("truncated length extension", ip) }
            let b = Int(s.load(fromByteOffset: ip, as: UInt8.self))
            ip &+= 1
            sum &+= b
            if b != 255 { return sum }
        }
    }

    @inline(__always) static func copy8(_ to: UnsafeMutableRawPointer, _ from: UnsafeRawPointer) {
        to.storeBytes(of: from.loadUnaligned(as: UInt64.self), as: UInt64.self)
    }

    @inline(__always) static func copy16(_ to: UnsafeMutableRawPointer, _ from: UnsafeRawPointer) {
        to.storeBytes(of: from.loadUnaligned(as: SIMD16<UInt8>.self), as: SIMD16<UInt8>.self)
    }

    /// Copies dst[op - offset ..< op - offset + length] to dst[op...] with LZ4's overlapping
    /// semantics (byte by byte order). The caller has checked offset <= op and that the match
    /// fits; roomAfter is the space left in dst after it, which decides whether wild copies
    /// (overshooting by up to 15 bytes) are allowed.
    @inline(__always) static func copyMatch(_ d: UnsafeMutableRawPointer, _ op: Int, _ offset: Int,
                                            _ length: Int, roomAfter: Int) {
        let to = d + op
        let from = UnsafeRawPointer(to - offset)
        guard roomAfter >= 16 else {
            for i in 0..<length {
                to.storeBytes(of: from.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
            }
            return
        }
        if offset >= 16 {
            var i = 0
            repeat {
                copy16(to + i, from + i)
                i &+= 16
            } while i < length
        } else if offset >= 8 {
            var i = 0
            repeat {
                copy8(to + i, from + i)
                i &+= 8
            } while i < length
        } else {
            for i in 0..<8 {
                to.storeBytes(of: from.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self)
            }
            // The smallest multiple of the offset that is >= 8: copying 8 bytes at a time from
            // that distance repeats the same period without reading bytes not yet written.
            let stride = (7 / offset + 1) * offset
            var i = 8
            while i < length {
                copy8(to + i, UnsafeRawPointer(to + (i &- stride)))
                i &+= 8
            }
        }
    }
}
