/// LZ4X: the LZ4 block format with 3-byte little-endian match offsets (1 ... 2^24-1),
/// so matches can reach anywhere in a 16 MiB frame.
///
/// A block is a run of sequences. Each sequence is:
///   token (high nibble: literal length, low nibble: match length - 4; 15 means "more follows"),
///   literal-length extension bytes (255, 255, ..., final byte < 255, all added),
///   the literals,
///   offset (3 bytes, little-endian, counted back from the current output position),
///   match-length extension bytes (same scheme as literals).
/// The last sequence stops after its literals (no offset). As in LZ4, the encoder keeps the
/// last 5 bytes as literals and starts no match within the last 12 bytes, and a block of
/// fewer than 13 bytes is all literals. An empty input encodes to the single token 0x00.
public enum LZ4X {
    public static let minMatch = 4
    public static let maxOffset = (1 << 24) - 1

    /// Bytes at the end of a block that are always literals.
    package static let lastLiterals = 5
    /// The last match must start at least this many bytes before the end of the block.
    package static let matchStartMargin = 12

    /// Worst-case encoded size of n input bytes.
    ///
    /// All-literal encoding costs n + one token + (n - 15) / 255 + 1 extension bytes; the
    /// encoder only takes matches that save at least one byte, which pays for the extra
    /// literal-length extension byte a split literal run can cost, so it never exceeds this.
    public static func compressBound(_ n: Int) -> Int {
        precondition(n >= 0, "negative size")
        return n + n / 255 + 16
    }
}
