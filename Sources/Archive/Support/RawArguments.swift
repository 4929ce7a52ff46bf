/// The command line as bytes. Swift's `CommandLine.arguments` (and so every
/// argument parser) decodes argv as UTF-8 and repairs invalid bytes into
/// U+FFFD: `gpuarc-build caf\xe9 out` would then look for a directory that is
/// not there, or worse, one that is. So every argument that is not valid
/// UTF-8 reaches the parser as a placeholder that no real argument can spell,
/// and `path(_:)` turns what the parser hands back into the original bytes.
public enum RawArguments {
    /// argv[0...] exactly as the kernel passed it.
    public static let bytes: [[UInt8]] = (0..<Int(CommandLine.argc)).map { i in
        guard let arg = CommandLine.unsafeArgv[i] else { return [] }
        return BytePath(cString: arg).bytes
    }

    /// U+10FFFF is a noncharacter: it never occurs in a name typed by a
    /// person, and an argument holding it is itself replaced by a placeholder.
    private static let marker: Character = "\u{10FFFF}"

    private static func placeholder(_ position: Int) -> String { "\(marker)argv\(position)\(marker)" }

    /// What each placeholder stands for.
    private static let originals: [String: BytePath] = prepared.originals

    /// The arguments after argv[0], for a parser: valid UTF-8 ones as they
    /// are, others (and the value part of `--option=value`) as placeholders.
    public static func forParser() -> [String] { prepared.arguments }

    private static let prepared: (arguments: [String], originals: [String: BytePath]) = {
        var arguments: [String] = [], originals: [String: BytePath] = [:]
        for i in bytes.indices.dropFirst() {
            let arg = bytes[i]
            if let text = String(validating: arg, as: UTF8.self), !text.contains(marker) {
                arguments.append(text)
                continue
            }
            // "--json=caf\xe9": keep the option name readable for the parser.
            if arg.starts(with: Array("--".utf8)), let eq = arg.firstIndex(of: UInt8(ascii: "=")),
               let name = String(validating: arg[..<eq], as: UTF8.self), !name.contains(marker) {
                arguments.append(name + "=" + placeholder(i))
                originals[placeholder(i)] = BytePath(Array(arg[(eq + 1)...]))
                continue
            }
            arguments.append(placeholder(i))
            originals[placeholder(i)] = BytePath(arg)
        }
        return (arguments, originals)
    }()

    /// The bytes behind a string the parser returned: the original argument
    /// (or its value part) for a placeholder, else the string's UTF-8.
    public static func path(_ parsed: String) -> BytePath {
        originals[parsed] ?? BytePath(parsed)
    }
}
