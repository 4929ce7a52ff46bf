import Glibc

/// A file system path as the kernel sees it: bytes. Linux names need not be
/// UTF-8 (a Latin-1 `caf\xe9`), and every Swift String conversion of such a
/// name repairs it into U+FFFD, which then opens a different file or none.
/// So paths stay bytes from argv to the system call, and become text only
/// to be printed (`description`, escaped so that no two paths print alike).
public struct BytePath: Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public var bytes: [UInt8]

    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    /// The UTF-8 bytes of `text` (lossless in this direction).
    public init(_ text: String) { bytes = Array(text.utf8) }
    public init(stringLiteral text: String) { self.init(text) }
    public init(cString: UnsafePointer<CChar>) {
        bytes = Array(UnsafeRawBufferPointer(start: cString, count: strlen(cString)))
    }

    public var isEmpty: Bool { bytes.isEmpty }
    public var isAbsolute: Bool { bytes.first == UInt8(ascii: "/") }

    /// `self/component`, with one slash between them.
    public func appending(_ component: [UInt8]) -> BytePath {
        if bytes.isEmpty { return BytePath(component) }
        return BytePath(bytes.last == UInt8(ascii: "/") ? bytes + component : bytes + [UInt8(ascii: "/")] + component)
    }

    /// `self` with `suffix` added to its last component ("OUT" + ".001").
    public func withSuffix(_ suffix: String) -> BytePath { BytePath(bytes + Array(suffix.utf8)) }

    /// The last component, trailing slashes ignored ("a/b/" -> "b"; "/" -> "").
    public var lastComponent: [UInt8] {
        var end = bytes.count
        while end > 0, bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        var start = end
        while start > 0, bytes[start - 1] != UInt8(ascii: "/") { start -= 1 }
        return Array(bytes[start..<end])
    }

    /// The directory part ("a/b/OUT" -> "a/b", "OUT" -> ".", "/OUT" -> "/").
    public var parent: BytePath {
        var end = bytes.count
        while end > 1, bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
        guard let slash = bytes[..<end].lastIndex(of: UInt8(ascii: "/")) else { return "." }
        if slash == 0 { return "/" }
        var stop = slash
        while stop > 1, bytes[stop - 1] == UInt8(ascii: "/") { stop -= 1 }
        return BytePath(Array(bytes[..<stop]))
    }

    /// Calls `body` with the path as a NUL-terminated C string.
    public func withCString<R>(_ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try BytePath.withCString(bytes, body)
    }

    /// The same for a bare name or path given as bytes. Inlinable, with a
    /// plain copy: the scan calls it for every entry (stat, attributes), and
    /// a generic copy across modules byte by byte was a quarter of its work.
    @inlinable
    public static func withCString<R>(_ bytes: [UInt8], _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { source in
            try withUnsafeTemporaryAllocation(of: CChar.self, capacity: source.count + 1) { storage in
                if let from = source.baseAddress, source.count > 0 {
                    UnsafeMutableRawPointer(storage.baseAddress!).copyMemory(from: from, byteCount: source.count)
                }
                storage[source.count] = 0
                return try body(UnsafePointer(storage.baseAddress!))
            }
        }
    }

    @inlinable
    public static func withCString<R>(_ bytes: ArraySlice<UInt8>, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
        try withCString(Array(bytes), body)
    }

    /// For messages: printable text, bytes that are not escaped (`Escaped.text`).
    public var description: String { Escaped.text(bytes) }
}

/// Names made printable without losing what they are, like `ls -b` and tar:
/// valid, printable UTF-8 stays as it is; a backslash becomes `\\`; every
/// other byte (invalid UTF-8, control characters, and the characters that
/// reorder text on screen) becomes `\ooo`, its value in octal. No two names
/// print alike, and `caf\351` is what `ls -b` shows for a Latin-1 "café".
public enum Escaped {
    public static func text<C: Collection<UInt8>>(_ bytes: C) -> String where C.Index == Int {
        var out = ""
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        func octal(_ b: UInt8) {
            out += "\\" + String(b >> 6) + String((b >> 3) & 7) + String(b & 7)
        }
        while i < bytes.endIndex {
            let b = bytes[i]
            if b < 0x80 {
                if b == UInt8(ascii: "\\") { out += "\\\\" } else if b < 0x20 || b == 0x7F { octal(b) } else { out.unicodeScalars.append(Unicode.Scalar(b)) }
                i += 1
                continue
            }
            if let (scalar, length) = decodeScalar(bytes, at: i), isPrintable(scalar) {
                out.unicodeScalars.append(scalar)
                i += length
            } else if let (_, length) = decodeScalar(bytes, at: i) {
                for k in 0..<length { octal(bytes[i + k]) }
                i += length
            } else {
                octal(b)
                i += 1
            }
        }
        return out
    }

    public static func text(_ bytes: [UInt8]) -> String { text(bytes[...]) }

    /// The scalar a valid UTF-8 sequence at `i` encodes and its length; nil
    /// for invalid, overlong or surrogate sequences.
    static func decodeScalar<C: Collection<UInt8>>(_ b: C, at i: Int) -> (Unicode.Scalar, Int)? where C.Index == Int {
        let lead = b[i]
        let length: Int, minimum: UInt32
        var value: UInt32
        switch lead {
        case 0xC2...0xDF: length = 2; value = UInt32(lead & 0x1F); minimum = 0x80
        case 0xE0...0xEF: length = 3; value = UInt32(lead & 0x0F); minimum = 0x800
        case 0xF0...0xF4: length = 4; value = UInt32(lead & 0x07); minimum = 0x10000
        default: return nil
        }
        guard i + length <= b.endIndex else { return nil }
        for k in 1..<length {
            let c = b[i + k]
            guard c & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(c & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }

    /// C1 controls, bidirectional overrides and isolates, line and paragraph
    /// separators, and the BOM would hide or rearrange what a name says.
    static func isPrintable(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x80...0x9F, 0x200E, 0x200F, 0x2028...0x202E, 0x2066...0x2069, 0xFEFF: return false
        default: return true
        }
    }
}
