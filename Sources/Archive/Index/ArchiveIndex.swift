/// The in-memory index: the whole tree, its attributes, and how every file's
/// content maps onto chunks, frames and volumes. Plain arrays (struct of
/// records) so the mount can answer lookups with binary search and no allocation.

public enum InodeKind: UInt8, Sendable {
    case directory = 1, regular = 2, symlink = 3, fifo = 4, charDevice = 5, blockDevice = 6, socket = 7

    /// The S_IFMT bits this kind must carry in `mode`.
    public var typeBits: UInt32 {
        switch self {
        case .directory: return 0o040000
        case .regular: return 0o100000
        case .symlink: return 0o120000
        case .fifo: return 0o010000
        case .charDevice: return 0o020000
        case .blockDevice: return 0o060000
        case .socket: return 0o140000
        }
    }
}

public struct Inode: Sendable, Equatable {
    public var kind: InodeKind
    /// Full st_mode: type bits | permission bits (incl. setuid/setgid/sticky).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32
    public var mtimeSec: Int64
    public var mtimeNsec: UInt32
    /// Links to this inode inside the archive (directories: 2 + subdirectories).
    public var nlink: UInt32
    /// Regular: content size; symlink: target length; others 0.
    public var size: UInt64
    /// Directory: first entry index; regular: content id; symlink: string offset; devices: rdev.
    public var data: UInt64
    /// Directory: entry count; symlink: target length; others 0.
    public var count: UInt32

    public init(kind: InodeKind, mode: UInt32, uid: UInt32, gid: UInt32, mtimeSec: Int64, mtimeNsec: UInt32,
                nlink: UInt32, size: UInt64, data: UInt64, count: UInt32) {
        self.kind = kind; self.mode = mode; self.uid = uid; self.gid = gid
        self.mtimeSec = mtimeSec; self.mtimeNsec = mtimeNsec; self.nlink = nlink
        self.size = size; self.data = data; self.count = count
    }
}

public struct DirEntry: Sendable, Equatable {
    public var nameOffset: UInt64
    public var nameLength: UInt32
    public var inode: UInt32
    public init(nameOffset: UInt64, nameLength: UInt32, inode: UInt32) {
        self.nameOffset = nameOffset; self.nameLength = nameLength; self.inode = inode
    }
}

public enum ChunkKind: UInt8, Sendable {
    /// The chunk's bytes sit verbatim in its frame's decoded bytes.
    case literal = 0
    /// The frame holds an LZ4X block that decodes to the chunk with the base
    /// chunk (always a literal chunk) as prefix dictionary: delta depth 1.
    case delta = 1
}

public struct ChunkRecord: Sendable, Equatable {
    public static let noBase = UInt32.max
    public var kind: ChunkKind
    public var frame: UInt32
    /// Offset and length of the stored bytes in the frame's decoded space.
    public var offset: UInt32
    public var storedLength: UInt32
    /// Decoded length of the chunk (== storedLength for literal chunks).
    public var length: UInt32
    public var base: UInt32

    public init(kind: ChunkKind, frame: UInt32, offset: UInt32, storedLength: UInt32, length: UInt32, base: UInt32 = ChunkRecord.noBase) {
        self.kind = kind; self.frame = frame; self.offset = offset
        self.storedLength = storedLength; self.length = length; self.base = base
    }

    public static func literal(frame: UInt32, offset: UInt32, length: UInt32) -> ChunkRecord {
        ChunkRecord(kind: .literal, frame: frame, offset: offset, storedLength: length, length: length)
    }
}

public struct FrameRecord: Sendable, Equatable {
    public var volume: UInt32        // 0-based: volume 0 is OUT.001
    public var offset: UInt64        // of the frame header within the volume
    public var storedSize: UInt32
    public var decodedSize: UInt32
    public var codec: FrameCodec
    public var payloadHash: UInt64
    public var decodedHash: UInt64

    public init(volume: UInt32, offset: UInt64, storedSize: UInt32, decodedSize: UInt32, codec: FrameCodec,
                payloadHash: UInt64, decodedHash: UInt64) {
        self.volume = volume; self.offset = offset; self.storedSize = storedSize; self.decodedSize = decodedSize
        self.codec = codec; self.payloadHash = payloadHash; self.decodedHash = decodedHash
    }
}

/// A file's content: `refCount` chunk ids starting at `firstRef` in `chunkRefs`.
/// Deduplicated files share one content.
public struct ContentRecord: Sendable, Equatable {
    public var size: UInt64
    public var firstRef: UInt64
    public var refCount: UInt32
    public init(size: UInt64, firstRef: UInt64, refCount: UInt32) {
        self.size = size; self.firstRef = firstRef; self.refCount = refCount
    }
}

public struct ArchiveIndex: Sendable {
    public static let rootInode = 0
    /// Format 2: tables column by column (docs/FORMAT.md); format 1 still reads.
    public static let currentVersion: UInt32 = 3

    public var archiveID: [UInt8] = Array(repeating: 0, count: 16)
    /// Volume sizes in bytes; the last one's is the offset of the index in it.
    public var volumeSizes: [UInt64] = []
    public var frames: [FrameRecord] = []
    public var chunks: [ChunkRecord] = []
    public var contents: [ContentRecord] = []
    public var chunkRefs: [UInt32] = []
    public var inodes: [Inode] = []
    public var entries: [DirEntry] = []
    public var strings: [UInt8] = []

    // Derived on load (not stored): parent of each directory inode, and the
    // offset within its content at which each chunk ref starts (for binary search).
    public internal(set) var parents: [UInt32] = []
    public internal(set) var refStarts: [UInt64] = []

    public init() {}

    public func entryRange(ofDirectory inode: Int) -> Range<Int> {
        let node = inodes[inode]
        guard node.kind == .directory else { return 0..<0 }
        return Int(node.data)..<(Int(node.data) + Int(node.count))
    }

    public func withName<R>(of entry: DirEntry, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try strings.withUnsafeBytes { all in
            try body(UnsafeRawBufferPointer(rebasing: all[Int(entry.nameOffset)..<(Int(entry.nameOffset) + Int(entry.nameLength))]))
        }
    }

    public func name(of entry: DirEntry) -> String {
        withName(of: entry) { String(decoding: $0, as: UTF8.self) }
    }

    public func nameBytes(of entry: DirEntry) -> [UInt8] {
        withName(of: entry) { Array($0) }
    }

    /// Binary search of a directory's entries (sorted by name bytes); the child inode.
    public func lookup(directory inode: Int, name: UnsafeRawBufferPointer) -> Int? {
        let range = entryRange(ofDirectory: inode)
        var lo = range.lowerBound, hi = range.upperBound
        return strings.withUnsafeBytes { all -> Int? in
            while lo < hi {
                let mid = (lo + hi) / 2
                let e = entries[mid]
                let candidate = UnsafeRawBufferPointer(rebasing: all[Int(e.nameOffset)..<(Int(e.nameOffset) + Int(e.nameLength))])
                let order = compareBytes(candidate, name)
                if order == 0 { return Int(e.inode) }
                if order < 0 { lo = mid + 1 } else { hi = mid }
            }
            return nil
        }
    }

    public func lookup(directory inode: Int, name: String) -> Int? {
        var name = name
        return name.withUTF8 { lookup(directory: inode, name: UnsafeRawBufferPointer($0)) }
    }

    /// Resolves a slash-separated path from the root ("" or "/" is the root).
    public func resolve(path: String) -> Int? {
        var node = Self.rootInode
        // Split on the byte '/', not on Characters: a name starting with a
        // combining mark fuses with the slash before it into one Character,
        // so such a path did not resolve (found by fuzzing).
        for part in path.utf8.split(separator: UInt8(ascii: "/")) {
            guard inodes[node].kind == .directory,
                  let child = Array(part).withUnsafeBytes({ lookup(directory: node, name: $0) }) else { return nil }
            node = child
        }
        return node
    }

    public func symlinkTarget(of inode: Int) -> [UInt8] {
        let node = inodes[inode]
        guard node.kind == .symlink else { return [] }
        return Array(strings[Int(node.data)..<(Int(node.data) + Int(node.count))])
    }

    /// Chunk-ref indices of a content.
    public func refRange(ofContent content: Int) -> Range<Int> {
        let c = contents[content]
        return Int(c.firstRef)..<(Int(c.firstRef) + Int(c.refCount))
    }

    /// Sum of the sizes of all distinct contents (what a full extract decodes).
    public var totalContentBytes: UInt64 { contents.reduce(0) { $0 + $1.size } }

    /// Sum of the sizes of every regular file as a user sees them (dups counted each time).
    public var totalFileBytes: UInt64 {
        inodes.reduce(0) { $0 + ($1.kind == .regular ? $1.size : 0) }
    }

    /// A path for messages ("docs/a.txt"), found by walking the directory tree.
    public func paths() -> [Int: String] {
        var result: [Int: String] = [Self.rootInode: ""]
        var stack = [Self.rootInode]
        while let dir = stack.popLast() {
            let prefix = result[dir]!
            for i in entryRange(ofDirectory: dir) {
                let e = entries[i]
                let child = Int(e.inode)
                let path = prefix.isEmpty ? name(of: e) : prefix + "/" + name(of: e)
                if result[child] == nil { result[child] = path }
                if inodes[child].kind == .directory { stack.append(child) }
            }
        }
        return result
    }
}

@inline(__always)
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    if n > 0 {
        let r = memcmp(a.baseAddress!, b.baseAddress!, n)
        if r != 0 { return Int(r) }
    }
    return a.count - b.count
}

import Glibc
