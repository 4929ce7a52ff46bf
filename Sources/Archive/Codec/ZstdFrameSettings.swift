import CZstd

/// How gpuarc writes every zstd frame (frames, delta chunks, index
/// segments), in one place beside the decoder that checks it: the content
/// size stated, no zstd checksum (gpuarc's own XXH64 covers the bytes), no
/// dictionary id, and a window that covers the input and its prefix
/// (`ZstdDecoder.windowLog(covering:)`), so matches reach anywhere in both
/// and a reader can refuse any larger window.
public enum ZstdFrameSettings {
    /// Resets `context` and sets it to write one frame at `level` of
    /// `inputCount` bytes against `prefix` (empty: none), magicless or not.
    /// False when libzstd refuses a setting.
    public static func apply(to context: OpaquePointer, level: Int, inputCount: Int,
                             prefix: UnsafeRawBufferPointer, magicless: Bool) -> Bool {
        func set(_ parameter: ZSTD_cParameter, _ value: Int32) -> Bool {
            ZSTD_isError(ZSTD_CCtx_setParameter(context, parameter, value)) == 0
        }
        ZSTD_CCtx_reset(context, ZSTD_reset_session_and_parameters)
        var ok = set(ZSTD_c_compressionLevel, Int32(level))
            && set(ZSTD_c_windowLog, ZstdDecoder.windowLog(covering: inputCount + prefix.count))
            && set(ZSTD_c_contentSizeFlag, 1)
            && set(ZSTD_c_checksumFlag, 0)
            && set(ZSTD_c_dictIDFlag, 0)
        if magicless { ok = ok && set(ZSTD_c_experimentalParam2, Int32(ZSTD_f_zstd1_magicless.rawValue)) }   // ZSTD_c_format
        if !prefix.isEmpty { ok = ok && ZSTD_isError(ZSTD_CCtx_refPrefix(context, prefix.baseAddress, prefix.count)) == 0 }
        return ok
    }
}
