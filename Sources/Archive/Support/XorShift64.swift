/// Marsaglia's xorshift64 (shifts 13, 7, 17): a tiny deterministic generator
/// for made-up data that must come out the same on every run and machine
/// (calibration samples, benchmark inputs, test data). Not for secrets.
public struct XorShift64: Sendable {
    public var state: UInt64

    /// Starts from `state` as given (xorshift never leaves 0, so not 0).
    public init(state: UInt64) {
        precondition(state != 0, "xorshift64 needs a non-zero state")
        self.state = state
    }

    /// Any seed, 0 included, spread to a non-zero state.
    public init(seed: UInt64) {
        state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    }

    public mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    /// A value in 0..<n (n > 0).
    public mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// `n` bytes, one per draw (its low byte).
    public mutating func bytes(_ n: Int) -> [UInt8] {
        (0..<n).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// `n` bytes, eight per draw (little-endian): for large buffers.
    public mutating func packedBytes(_ n: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { buf in
            var i = 0
            while i + 8 <= n {
                buf.storeBytes(of: next().littleEndian, toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < n {
                buf[i] = UInt8(truncatingIfNeeded: next())
                i += 1
            }
        }
        return out
    }
}
