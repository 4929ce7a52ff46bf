import Archive
import CZstd

/// zstd levels (`--codec zstd --level N`): libzstd's own, 1 to 19 (the
/// "ultra" levels above need windows beyond a frame and buy nothing here).
public enum ZstdLevel {
    public static let range = 1...19
    /// Chosen by measurement (docs/BUILD.md, "Codec, level and deltas"):
    /// the level whose whole builds stayed within 2% of
    /// `mksquashfs -comp lz4 -b 1M` on ten Django releases and under it on
    /// a system tree (0.91x), at 0.66x of `tar | zstd -3 --long` and 0.62x
    /// of squashfs-lz4 in size; level 3 was 4% slower than mksquashfs on
    /// both for 4% smaller archives, level 1 as fast as 2 and 4-10% larger.
    public static let `default` = 2

    /// At the default setting a frame's level follows how many source bytes
    /// it stands for: the bytes read from the sources while it filled, over
    /// its own size (the rest were duplicates or became small deltas). Each
    /// frame gets the highest level that encodes it in no more time than
    /// the default level would take on those source bytes, so the build's
    /// compression time per source byte stays the default's while a frame
    /// that is the residue of much input (the tenth version of a tarball)
    /// is compressed as hard as that time allows. Single-core encode speeds
    /// on the frames of ten Django releases as .tar files (`gpuarc-bench
    /// levels`): 2 427 MB/s, 3 353, 4 269, 5 168, 6 128, 7 109, 8 90, 9 83;
    /// the ratio for level L is speed(2) / speed(L).
    static let bySourceRatio: [(ratio: Double, level: Int)] = [
        (5.2, 9), (4.7, 8), (3.9, 7), (3.3, 6), (2.5, 5), (1.6, 4), (1.2, 3),
    ]

    /// The level of a frame of `frameBytes` that stands for `sourceBytes`.
    public static func level(standingFor sourceBytes: Int, frameBytes: Int) -> Int {
        let ratio = Double(sourceBytes) / Double(max(frameBytes, 1))
        return bySourceRatio.first { ratio >= $0.ratio }?.level ?? `default`
    }
}

/// zstd frames (and delta chunks) through libzstd. A frame is one zstd
/// frame that states its decoded size, carries no checksum (the frame
/// header's XXH64 covers the decoded bytes) and no dictionary id, with a
/// window that covers the whole input, so matches reach anywhere in the
/// frame. A delta is one magicless frame compressed with its base as
/// reference prefix (what `zstd --patch-from` does), the window covering
/// base and target. One context per encoder, reused; not thread-safe.
public final class ZstdEncoder: CodecEncoder {
    private let context: OpaquePointer
    /// The level of what it compresses next (a frame's, `ZstdLevel.level(standingFor:frameBytes:)`).
    public var level: Int
    public var codec: FrameCodec { .zstd }

    public init(level: Int) {
        guard let c = ZSTD_createCCtx() else { fatalError("out of memory creating a zstd encoder") }
        context = c
        self.level = level
    }

    deinit { ZSTD_freeCCtx(context) }

    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) -> Int? {
        compress(input, prefix: nil, into: output)
    }

    /// `input` compressed against `prefix` (a magicless frame) or alone (a
    /// standard frame when `prefix` is nil); nil when it does not fit `output`.
    public func compress(_ input: UnsafeRawBufferPointer, prefix: UnsafeRawBufferPointer?,
                         into output: UnsafeMutableRawBufferPointer) -> Int? {
        let ok = ZstdFrameSettings.apply(to: context, level: level, inputCount: input.count,
                                         prefix: prefix ?? UnsafeRawBufferPointer(start: nil, count: 0), magicless: prefix != nil)
        // Frames and chunks are never empty; nothing to compress is nothing that shrinks.
        guard ok, let out = output.baseAddress, let source = input.baseAddress, !input.isEmpty else { return nil }
        let n = ZSTD_compress2(context, out, output.count, source, input.count)
        guard ZSTD_isError(n) == 0, n < input.count else { return nil }
        return n
    }
}
