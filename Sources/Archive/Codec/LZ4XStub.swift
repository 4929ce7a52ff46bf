// TEMPORARY stub until the real codec lands (stores everything RAW).
public enum LZ4X {
    public static let minMatch = 4
    public static let maxOffset = (1 << 24) - 1
    public static func compressBound(_ n: Int) -> Int { n + n / 255 + 16 }
}
public struct LZ4XEncoderOptions: Sendable { public var candidates = 8; public var niceLength = 64; public var lazy = true
    public static let `default` = LZ4XEncoderOptions() }
public final class LZ4XEncoder {
    public init(options: LZ4XEncoderOptions = .default) {}
    public func compress(_ input: UnsafeRawBufferPointer, prefixLength: Int = 0, into output: UnsafeMutableRawBufferPointer) -> Int? { nil }
}
public struct LZ4XCorruptError: Error, CustomStringConvertible { public let reason: String; public let inputOffset: Int
    public var description: String { reason } }
public enum LZ4XDecoder {
    public static func decode(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, prefixLength: Int = 0) throws {
        throw LZ4XCorruptError(reason: "stub", inputOffset: 0) }
    public struct Progress: Sendable { public var input: Int; public var output: Int; public var finished: Bool
        public init(prefixLength: Int = 0) { input = 0; output = prefixLength; finished = false } }
    public static func decode(_ src: UnsafeRawBufferPointer, into dst: UnsafeMutableRawBufferPointer, progress: inout Progress, until target: Int) throws {
        throw LZ4XCorruptError(reason: "stub", inputOffset: 0) }
}
