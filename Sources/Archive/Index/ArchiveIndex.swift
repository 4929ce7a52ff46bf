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
    /// Extended attributes: 0 for none, else 1 + the index of its set in
    /// `xattrSets` (format 4; older formats have none).
    public var xattrs: UInt32

    public init(kind: InodeKind, mode: UInt32, uid: UInt32, gid: UInt32, mtimeSec: Int64, mtimeNsec: UInt32,
                nlink: UInt32, size: UInt64, data: UInt64, count: UInt32, xattrs: UInt32 = 0) {
        self.kind = kind; self.mode = mode; self.uid = uid; self.gid = gid
        self.mtimeSec = mtimeSec; self.mtimeNsec = mtimeNsec; self.nlink = nlink
        self.size = size; self.data = data; self.count = count; self.xattrs = xattrs
    }
}

/// The extended attributes of one or more inodes (identical sets are stored
/// once): `pairCount` pairs from `firstPair` in `xattrPairs`, sorted by name.
public struct XattrSet: Sendable, Equatable {
    public var firstPair: UInt64
    public var pairCount: UInt32
    public init(firstPair: UInt64, pairCount: UInt32) { self.firstPair = firstPair; self.pairCount = pairCount }
}

/// One extended attribute: its full name ("user.mime", "system.posix_acl_access")
/// and its value, both in the string table.
public struct XattrPair: Sendable, Equatable {
    public var nameOffset: UInt64
    public var nameLength: UInt32
    public var valueOffset: UInt64
    public var valueLength: UInt32
    public init(nameOffset: UInt64, nameLength: UInt32, valueOffset: UInt64, valueLength: UInt32) {
        self.nameOffset = nameOffset; self.nameLength = nameLength
        self.valueOffset = valueOffset; self.valueLength = valueLength
    }
}

/// A content with holes: only its data extents are stored (their bytes, in
/// order, are the content's chunks); everything else reads as zeros.
public struct SparseRecord: Sendable, Equatable {
    public var content: UInt32
    public var firstExtent: UInt64
    public var extentCount: UInt32
    public init(content: UInt32, firstExtent: UInt64, extentCount: UInt32) {
        self.content = content; self.firstExtent = firstExtent; self.extentCount = extentCount
    }
}

/// Where data lies in a sparse file: `length` bytes at `offset`.
public struct DataExtent: Sendable, Equatable {
    public var offset: UInt64
    public var length: UInt64
    public init(offset: UInt64, length: UInt64) { self.offset = offset; self.length = length }
    public var end: UInt64 { offset + length }
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
    /// The same with a zstd frame in its magicless format, decoded with the
    /// base chunk as its reference prefix (`zstd --patch-from`'s way).
    case zstdDelta = 2

    /// The codec a delta chunk's stored bytes are in (nil for a literal chunk).
    public var deltaCodec: FrameCodec? {
        switch self {
        case .literal: return nil
        case .delta: return .lz4x
        case .zstdDelta: return .zstd
        }
    }
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

/// One version of a versioned archive (format 5): a snapshot added by a
/// build or an append, stored as the root directory's entry `name`.
public struct VersionRecord: Sendable, Equatable {
    /// The top-level directory's name, in the string table.
    public var nameOffset: UInt64
    public var nameLength: UInt32
    /// When it was added (Unix seconds).
    public var added: Int64
    /// Its top-level directory.
    public var inode: UInt32
    /// Regular files in it (hard links counted once) and their bytes.
    public var files: UInt64
    public var bytes: UInt64

    public init(nameOffset: UInt64, nameLength: UInt32, added: Int64, inode: UInt32, files: UInt64, bytes: UInt64) {
        self.nameOffset = nameOffset; self.nameLength = nameLength; self.added = added
        self.inode = inode; self.files = files; self.bytes = bytes
    }
}

/// Where a compressed index segment lies (format 5): in which volume, at
/// which offset, how long, and the XXH64 of its compressed bytes.
public struct SegmentLocator: Sendable, Equatable {
    public var volume: UInt32
    public var offset: UInt64
    public var size: UInt64
    public var hash: UInt64
    public init(volume: UInt32, offset: UInt64, size: UInt64, hash: UInt64) {
        self.volume = volume; self.offset = offset; self.size = size; self.hash = hash
    }
}

/// The row counts of the index's tables: what an index segment starts
/// after (format 5), so that its ids continue those before it.
public struct TableCounts: Sendable, Equatable {
    public var frames = 0, chunks = 0, contents = 0, chunkRefs = 0, inodes = 0, entries = 0, strings = 0
    public var xattrSets = 0, xattrPairs = 0, sparse = 0, extents = 0, versions = 0

    public init() {}

    public init(of index: ArchiveIndex) {
        frames = index.frames.count; chunks = index.chunks.count; contents = index.contents.count
        chunkRefs = index.chunkRefs.count; inodes = index.inodes.count; entries = index.entries.count
        strings = index.strings.count; xattrSets = index.xattrSets.count; xattrPairs = index.xattrPairs.count
        sparse = index.sparse.count; extents = index.extents.count; versions = index.versions.count
    }
}

/// One segment of a format-5 index: what it adds starts after `prior`.
/// A build writes one; each append writes one more, pointing to the one
/// before (`previous`), so old volumes are never rewritten.
public struct IndexSegment: Sendable, Equatable {
    /// 1 for the first; each append adds one.
    public var number: Int
    /// The segment before this one (nil for the first).
    public var previous: SegmentLocator?
    public var prior: TableCounts
    /// Inodes before `prior.inodes` that this segment replaces (the root,
    /// which gains an entry per version), by id.
    public var replacedInodes: [Int]
    /// What the builder keeps for later appends (docs/FORMAT.md, "Builder
    /// state"); readers never parse it.
    public var builderState: [UInt8]

    public init(number: Int = 1, previous: SegmentLocator? = nil, prior: TableCounts = TableCounts(),
                replacedInodes: [Int] = [], builderState: [UInt8] = []) {
        self.number = number; self.previous = previous; self.prior = prior
        self.replacedInodes = replacedInodes; self.builderState = builderState
    }
}

public struct ArchiveIndex: Sendable {
    public static let rootInode = 0
    /// Format 6: format 5 (format 4 in segments, an append adds one, with
    /// versions and the builder's state) with each segment compressed by
    /// zstd against the one before it (docs/FORMAT.md); formats 1-5 still read.
    public static let currentVersion: UInt32 = 6
    /// Formats an append adds a segment to, in the archive's own format.
    public static let appendableVersions: ClosedRange<UInt32> = 5...6
    /// The longest chain of delta chunks, format 6: a delta's base may be a
    /// delta itself, so each version of a chunk is coded against the one
    /// before it rather than against the first; a read decodes at most this
    /// many deltas and their frames. Formats 1 to 5: 1 (bases are literal).
    public static let maxDeltaDepth = 8

    /// Calls `body` with chunk `id` and then each base its bytes are decoded
    /// against, down to the literal one (validated: the chain ends).
    public func forEachInDeltaChain(_ id: Int, _ body: (Int, ChunkRecord) -> Void) {
        var id = id
        while true {
            let chunk = chunks[id]
            body(id, chunk)
            guard chunk.kind != .literal else { return }
            id = Int(chunk.base)
        }
    }

    /// How many deltas decode chunk `id` (0 for a literal chunk).
    public func deltaDepth(of id: Int) -> Int {
        var depth = -1
        forEachInDeltaChain(id) { _, _ in depth += 1 }
        return depth
    }

    public var archiveID: [UInt8] = Array(repeating: 0, count: 16)
    /// Parity volumes written with the archive (format 4; 0 for none).
    public var parityCount = 0
    /// Volume sizes in bytes; the last one's is the offset of the index in it.
    public var volumeSizes: [UInt64] = []
    public var frames: [FrameRecord] = []
    public var chunks: [ChunkRecord] = []
    public var contents: [ContentRecord] = []
    public var chunkRefs: [UInt32] = []
    public var inodes: [Inode] = []
    public var entries: [DirEntry] = []
    public var strings: [UInt8] = []
    public var xattrSets: [XattrSet] = []
    public var xattrPairs: [XattrPair] = []
    /// Sorted by content.
    public var sparse: [SparseRecord] = []
    public var extents: [DataExtent] = []
    /// Format 5: the versions, oldest first (empty for an archive whose
    /// single SRC sits at the root, and for older formats).
    public var versions: [VersionRecord] = []

    /// The format this index was read in (`currentVersion` for one built here).
    public internal(set) var formatVersion: UInt32 = ArchiveIndex.currentVersion
    /// Format 5: the segments it was read from, oldest first, with where
    /// each lies and the builder state each holds.
    public internal(set) var segments: [IndexSegment] = []
    /// Where the newest segment lies (nil when it was not read from a volume).
    public internal(set) var newestSegment: SegmentLocator?

    // Derived on load (not stored): parent of each directory inode, and the
    // offset within its content at which each chunk ref starts (for binary search).
    public internal(set) var parents: [UInt32] = []
    public internal(set) var refStarts: [UInt64] = []
    /// Where each data extent's bytes start in its content's stored bytes.
    public internal(set) var extentDataStarts: [UInt64] = []

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

    /// The name for messages, escaped (`Escaped.text`): never for opening.
    public func name(of entry: DirEntry) -> String {
        withName(of: entry) { Escaped.text(Array($0)) }
    }

    public func nameBytes(of entry: DirEntry) -> [UInt8] {
        withName(of: entry) { Array($0) }
    }

    /// A version's name (its top-level directory's), as bytes.
    public func nameBytes(of version: VersionRecord) -> [UInt8] {
        Array(strings[Int(version.nameOffset)..<Int(version.nameOffset + UInt64(version.nameLength))])
    }

    /// Binary search of a directory's entries (sorted by name bytes); the child inode.
    public func lookup(directory inode: Int, name: UnsafeRawBufferPointer) -> Int? {
        lookupEntry(directory: inode, name: name).map { Int(entries[$0].inode) }
    }

    /// The same search, giving the entry's index in `entries`: what tells
    /// apart the names of a hard-linked inode (one name selected, not the others).
    public func lookupEntry(directory inode: Int, name: UnsafeRawBufferPointer) -> Int? {
        let range = entryRange(ofDirectory: inode)
        var lo = range.lowerBound, hi = range.upperBound
        return strings.withUnsafeBytes { all -> Int? in
            while lo < hi {
                let mid = (lo + hi) / 2
                let e = entries[mid]
                let candidate = UnsafeRawBufferPointer(rebasing: all[Int(e.nameOffset)..<(Int(e.nameOffset) + Int(e.nameLength))])
                let order = compareBytes(candidate, name)
                if order == 0 { return mid }
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

    /// A path for messages ("docs/a.txt", escaped), found by walking the directory tree.
    public func paths() -> [Int: String] {
        bytePaths().mapValues { Escaped.text($0) }
    }

    /// Each inode's first path from the root, as bytes ("" for the root).
    public func bytePaths() -> [Int: [UInt8]] {
        var result: [Int: [UInt8]] = [Self.rootInode: []]
        var stack = [Self.rootInode]
        while let dir = stack.popLast() {
            let prefix = result[dir]!
            for i in entryRange(ofDirectory: dir) {
                let e = entries[i]
                let child = Int(e.inode)
                let path = prefix.isEmpty ? nameBytes(of: e) : prefix + [UInt8(ascii: "/")] + nameBytes(of: e)
                if result[child] == nil { result[child] = path }
                if inodes[child].kind == .directory { stack.append(child) }
            }
        }
        return result
    }

    /// Resolves a path given as bytes ("a/b/c"; "" is the root).
    public func resolve(bytes path: [UInt8]) -> Int? {
        var node = Self.rootInode
        for part in path.split(separator: UInt8(ascii: "/")) {
            guard inodes[node].kind == .directory,
                  let child = Array(part).withUnsafeBytes({ lookup(directory: node, name: $0) }) else { return nil }
            node = child
        }
        return node
    }

    // MARK: extended attributes

    /// The extended attributes of `inode`, sorted by name (name, value).
    public func xattrs(of inode: Int) -> [(name: [UInt8], value: [UInt8])] {
        pairRange(ofInode: inode).map { i in
            let p = xattrPairs[i]
            return (Array(strings[Int(p.nameOffset)..<Int(p.nameOffset + UInt64(p.nameLength))]),
                    Array(strings[Int(p.valueOffset)..<Int(p.valueOffset + UInt64(p.valueLength))]))
        }
    }

    /// Indices in `xattrPairs` of the pairs of `inode` (empty for none).
    public func pairRange(ofInode inode: Int) -> Range<Int> {
        let set = Int(inodes[inode].xattrs)
        guard set > 0 else { return 0..<0 }
        let s = xattrSets[set - 1]
        return Int(s.firstPair)..<(Int(s.firstPair) + Int(s.pairCount))
    }

    /// Calls `body` with the value of attribute `name` of `inode`, or nil
    /// when it has none (binary search of its sorted pairs).
    public func withXattr<R>(of inode: Int, name: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        let range = pairRange(ofInode: inode)
        var lo = range.lowerBound, hi = range.upperBound
        return strings.withUnsafeBytes { all -> R in
            while lo < hi {
                let mid = (lo + hi) / 2
                let p = xattrPairs[mid]
                let candidate = UnsafeRawBufferPointer(rebasing: all[Int(p.nameOffset)..<(Int(p.nameOffset) + Int(p.nameLength))])
                let order = compareBytes(candidate, name)
                if order == 0 {
                    return body(UnsafeRawBufferPointer(rebasing: all[Int(p.valueOffset)..<(Int(p.valueOffset) + Int(p.valueLength))]))
                }
                if order < 0 { lo = mid + 1 } else { hi = mid }
            }
            return body(nil)
        }
    }

    // MARK: sparse contents

    /// The data extents of a content with holes; nil for a content that is all data.
    public func dataExtents(ofContent content: Int) -> ArraySlice<DataExtent>? {
        var lo = 0, hi = sparse.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let c = Int(sparse[mid].content)
            if c == content {
                let r = sparse[mid]
                return extents[Int(r.firstExtent)..<(Int(r.firstExtent) + Int(r.extentCount))]
            }
            if c < content { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }

    /// Bytes of a content that are stored (its size less its holes).
    public func dataBytes(ofContent content: Int) -> UInt64 {
        guard let extents = dataExtents(ofContent: content) else { return contents[content].size }
        return extents.reduce(0) { $0 + $1.length }
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
