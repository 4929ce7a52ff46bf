/// `OUT.commit`: the record of a commit in progress (docs/FORMAT.md,
/// "Commits"). A writer (build, append, repair, ...) writes every new file of
/// an archive under a temporary name, then this record (fsync'ed, renamed into
/// place, the directory fsync'ed), and only then renames the temporaries over
/// the archive's names one by one and removes the files the new state no
/// longer has. While the record exists the archive *is* the new state:
/// readers find each renamed file at its temporary name until its rename has
/// happened (rename(2) is atomic: a temporary that is gone has arrived), and
/// take the volume and parity counts from the record, not from the names in
/// the directory. The next writer to hold the lock finishes the renames and
/// removals and deletes the record. So a crash at any moment leaves exactly
/// the old archive (no record yet) or exactly the new one (record written).
///
/// Bytes (little-endian):
///
///     0   8  magic "GPUARCC1"
///     8  16  archive id of the new state
///     24  4  data volumes of the new state (L)
///     28  4  parity volumes of the new state (P)
///     32  4  flags: 1 = remove data volumes numbered above L,
///                   2 = remove parity volumes numbered above P
///     36  4  renames (n)
///     40  .  n x { u16 length, temporary name, u16 length, final name }
///     end 8  XXH64 of every byte before it
public struct CommitRecord: Equatable, Sendable {
    public static let magic = Array("GPUARCC1".utf8)
    /// The name beside OUT: `OUT.commit`.
    public static let suffix = ".commit"
    /// The suffixes a temporary may carry: a build's and a repair's.
    public static let temporarySuffixes = [Array(".partial".utf8), Array(".repair".utf8)]

    public struct Rename: Equatable, Sendable {
        public var temporary: [UInt8]
        public var final: [UInt8]
        public init(temporary: [UInt8], final: [UInt8]) {
            self.temporary = temporary
            self.final = final
        }
    }

    public var archiveID: [UInt8]
    public var dataVolumes: Int
    public var parityVolumes: Int
    public var removesVolumesAbove: Bool
    public var removesParityAbove: Bool
    /// In the order they are done: the data volumes first, the last one
    /// (with the index) after them, then the index copy and parity volumes.
    public var renames: [Rename]

    public init(archiveID: [UInt8], dataVolumes: Int, parityVolumes: Int,
                removesVolumesAbove: Bool, removesParityAbove: Bool, renames: [Rename]) {
        self.archiveID = archiveID
        self.dataVolumes = dataVolumes
        self.parityVolumes = parityVolumes
        self.removesVolumesAbove = removesVolumesAbove
        self.removesParityAbove = removesParityAbove
        self.renames = renames
    }

    public func encoded() -> [UInt8] {
        var out = ByteWriter()
        out.raw(Self.magic)
        out.raw(archiveID)
        out.u32(UInt32(dataVolumes))
        out.u32(UInt32(parityVolumes))
        out.u32((removesVolumesAbove ? 1 : 0) | (removesParityAbove ? 2 : 0))
        out.u32(UInt32(renames.count))
        for rename in renames {
            for name in [rename.temporary, rename.final] {
                out.u16(UInt16(name.count))
                out.raw(name)
            }
        }
        let hash = XXHash64.hash(out.bytes)
        out.u64(hash)
        return out.bytes
    }

    /// Reads and parses the record open at `fd` (`decode`). A record is
    /// small; anything past 1 MiB is no record.
    public static func read(_ fd: Int32, baseName: [UInt8], what: String) throws -> CommitRecord {
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        let n = try bytes.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, $0.count, 0) }
        return try decode(Array(bytes.prefix(n)), baseName: baseName, what: what)
    }

    /// Parses a record of archive `baseName` (the last component of OUT),
    /// refusing anything a writer of that archive could not have written: a
    /// record may only move `OUT.NNN.partial` (or `.repair`) to `OUT.NNN`,
    /// and likewise for `OUT.pNN` and `OUT.idx`, so a hostile record cannot
    /// make the writer that finishes it rename any other file.
    public static func decode(_ bytes: [UInt8], baseName: [UInt8], what: String) throws -> CommitRecord {
        func bad(_ why: String) -> ArchiveError {
            ArchiveError(.format, "\(what) is not a valid commit record (\(why))")
        }
        guard bytes.count >= 48, Array(bytes[0..<8]) == magic else { throw bad(bytes.count < 8 ? "too short" : "wrong magic") }
        let body = Array(bytes.dropLast(8))
        let sum = bytes.suffix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * $1.offset) }
        guard XXHash64.hash(body) == sum else { throw bad("its checksum does not match") }
        return try body.withUnsafeBytes { raw in
            // Its own truncation errors name the record too.
            var reader = ByteReader(raw, at: 8, what: "the commit record \(what)")
            let archiveID = try reader.raw(16)
            let volumes = Int(try reader.u32()), parity = Int(try reader.u32()), flags = try reader.u32()
            let count = Int(try reader.u32())
            guard flags & ~3 == 0 else { throw bad("unknown flags \(flags)") }
            guard volumes >= 1, volumes <= 1_000_000, parity <= 255, count <= volumes + parity + 1 else {
                throw bad("implausible counts")
            }
            var record = CommitRecord(archiveID: archiveID, dataVolumes: volumes, parityVolumes: parity,
                                      removesVolumesAbove: flags & 1 != 0, removesParityAbove: flags & 2 != 0, renames: [])
            for _ in 0..<count {
                let rename = Rename(temporary: try reader.raw(Int(try reader.u16())), final: try reader.raw(Int(try reader.u16())))
                guard isArchiveFile(rename.final, baseName: baseName, volumes: volumes, parity: parity),
                      temporarySuffixes.contains(where: { rename.temporary == rename.final + $0 }) else {
                    throw bad("it renames \(BytePath(rename.temporary)) to \(BytePath(rename.final)), which are not this archive's files")
                }
                record.renames.append(rename)
            }
            guard reader.remaining == 0 else { throw bad("\(reader.remaining) bytes after its renames") }
            guard Set(record.renames.map(\.final)).count == record.renames.count else { throw bad("a name is renamed twice") }
            return record
        }
    }

    /// Whether `name` is one of the files the new state has: a data volume
    /// up to `volumes`, a parity volume up to `parity`, or the index copy.
    static func isArchiveFile(_ name: [UInt8], baseName: [UInt8], volumes: Int, parity: Int) -> Bool {
        let prefix = baseName + [UInt8(ascii: ".")]
        if name == baseName + Array(".idx".utf8) { return true }
        if let n = VolumeNaming.number(of: name, prefix: prefix) { return n >= 1 && n <= volumes }
        if let j = ParitySet.number(of: name, baseName: baseName) { return j >= 1 && j <= parity }
        return false
    }
}
