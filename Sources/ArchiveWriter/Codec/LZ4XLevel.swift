import Archive

/// Encoder levels (`--level 1...9`): one LZ4X format, decoded by the same
/// decoder, so the level only trades build time for archive size. Level 1
/// is LZ4's fast parse; the top level is the original top-K search, byte
/// for byte (the pinned digests in the tests hold it to that), and the one
/// the OpenCL kernels implement. The steps in between were picked by
/// measurement (docs/BUILD.md, "Levels").
public enum LZ4XLevel {
    public static let range = 1...9
    public static let top = 9
    /// What a build uses unless told otherwise: the level whose whole
    /// builds, deltas off, took no longer than `mksquashfs -comp lz4 -b 1M`
    /// on ten Django releases while the archive of a system tree stayed under
    /// 0.8x squashfs-lz4's (level 3: 0.78x but 10-20% slower; 2^16 entries:
    /// 0.81x). Figures in docs/BUILD.md, "Levels".
    public static let `default` = 2

    /// Measured on one core (`gpuarc-bench levels`, 2026-12-03) over the
    /// 16 MiB frames of two archives: ratio and MB/s on a system tree
    /// (/usr/share/doc, /usr/lib/python3.11, /usr/share/locale) and on ten
    /// Django releases (2.2 ... 5.2), in that order:
    ///
    ///     1  fast parse, 2^14 entries (128 KiB)   2.05  530   7.79 1350
    ///     2  fast parse, 2^17 entries (1 MiB)     2.27  467   8.33 1210
    ///     3  fast parse, 2^18 entries (2 MiB)     2.31  375   8.37 1000
    ///     4  1 candidate, nice 32, greedy         2.31  250   8.70  620
    ///     5  2 candidates, nice 16, greedy        2.38  165   9.13  465
    ///     6  2 candidates, nice 32, lazy          2.45  150   9.68  380
    ///     7  4 candidates, nice 64, lazy          2.52  115  10.18  340
    ///     8  8 candidates, nice 64, lazy          2.58   73  10.50  140
    ///     9  8 candidates, nice 128, lazy         2.58   61  10.54  137
    ///
    /// The fast parse hashes 6 bytes (5 and 7 lost 1-3% on the system tree,
    /// 8 lost 1-4% on both).
    public static func options(_ level: Int) -> LZ4XEncoderOptions {
        switch min(max(level, range.lowerBound), range.upperBound) {
        case 1: return LZ4XEncoderOptions(search: .fast(hashBytes: 6), hashLog: 14)
        case 2: return LZ4XEncoderOptions(search: .fast(hashBytes: 6), hashLog: 17)
        case 3: return LZ4XEncoderOptions(search: .fast(hashBytes: 6), hashLog: 18)
        case 4: return LZ4XEncoderOptions(candidates: 1, niceLength: 32, lazy: false)
        case 5: return LZ4XEncoderOptions(candidates: 2, niceLength: 16, lazy: false)
        case 6: return LZ4XEncoderOptions(candidates: 2, niceLength: 32, lazy: true)
        case 7: return LZ4XEncoderOptions(candidates: 4, niceLength: 64, lazy: true)
        case 8: return LZ4XEncoderOptions(candidates: 8, niceLength: 64, lazy: true)
        default: return .default
        }
    }
}
