import Foundation

/// `gpuarc-extract --list`: one line per entry, like `tar tv`. With a
/// selection (`--list PATH...`), the selected entries and everything below
/// them, in tree order, each once; the directories on the way are not listed.
public enum Listing {
    public static func lines(_ index: ArchiveIndex, selection: PathSelection? = nil) -> [String] {
        var out: [String] = []
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        formatter.timeZone = TimeZone(identifier: "UTC")
        // (directory, its path's prefix, whether it is listed whole)
        var stack: [(Int, String, Bool)] = [(ArchiveIndex.rootInode, "", selection?.everything ?? true)]
        while let (dir, prefix, inWhole) = stack.popLast() {
            var subdirs: [(Int, String, Bool)] = []
            for i in index.entryRange(ofDirectory: dir) {
                let step = inWhole ? .whole : selection!.step(entry: i, index: index)
                if step == .skip { continue }
                let e = index.entries[i]
                let inode = Int(e.inode)
                let path = prefix + index.name(of: e)
                if step == .onTheWay { subdirs.append((inode, path + "/", false)); continue }
                let node = index.inodes[inode]
                // "+" after the mode for an ACL, as ls shows it.
                let acl = index.xattrs(of: inode).contains { $0.name.starts(with: Array("system.posix_acl_".utf8)) }
                var line = "\(modeString(node.mode))\(acl ? "+" : "") \(node.uid)/\(node.gid) \(String(node.size).leftPad(12)) "
                line += formatter.string(from: Date(timeIntervalSince1970: TimeInterval(node.mtimeSec))) + " " + path
                if node.kind == .directory { line += "/"; subdirs.append((inode, path + "/", true)) }
                if node.kind == .symlink { line += " -> " + Escaped.text(index.symlinkTarget(of: inode)) }
                out.append(line)
            }
            stack += subdirs.reversed()
        }
        return out
    }

    /// The versions of a versioned archive, oldest first: one line each
    /// (`version NAME  added DATE  N files  B bytes`), none for others.
    public static func versionLines(_ index: ArchiveIndex) -> [String] {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        formatter.timeZone = TimeZone(identifier: "UTC")
        return index.versions.map { v in
            "version \(Escaped.text(index.nameBytes(of: v)))  added \(formatter.string(from: Date(timeIntervalSince1970: TimeInterval(v.added))))"
                + "  \(v.files) files  \(v.bytes) bytes (\(ByteSize.format(v.bytes)))"
        }
    }

    public static func print(_ index: ArchiveIndex, selection: PathSelection? = nil) {
        for line in lines(index, selection: selection) { Swift.print(line) }
    }

    static func modeString(_ mode: UInt32) -> String {
        let type: Character
        switch mode & 0o170000 {
        case 0o040000: type = "d"
        case 0o120000: type = "l"
        case 0o010000: type = "p"
        case 0o020000: type = "c"
        case 0o060000: type = "b"
        case 0o140000: type = "s"
        default: type = "-"
        }
        var s = String(type)
        let bits: [(UInt32, Character)] = [(0o400, "r"), (0o200, "w"), (0o100, "x"), (0o040, "r"), (0o020, "w"),
                                           (0o010, "x"), (0o004, "r"), (0o002, "w"), (0o001, "x")]
        for (bit, ch) in bits { s.append(mode & bit != 0 ? ch : "-") }
        // As ls shows them: s/S for setuid and setgid, t/T for sticky, in
        // the execute position (lower case when execute is also set).
        let special: [(UInt32, UInt32, Int, Character)] = [(0o4000, 0o100, 3, "s"), (0o2000, 0o010, 6, "s"), (0o1000, 0o001, 9, "t")]
        var chars = Array(s)
        for (bit, exec, position, ch) in special where mode & bit != 0 {
            chars[position] = mode & exec != 0 ? ch : Character(ch.uppercased())
        }
        return String(chars)
    }
}

extension String {
    func leftPad(_ width: Int) -> String { count >= width ? self : String(repeating: " ", count: width - count) + self }
}
