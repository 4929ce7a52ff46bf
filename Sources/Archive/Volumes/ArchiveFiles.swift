import Glibc

/// The files that make up archive `base` as of its last commit: which data
/// and parity volumes it has, where its index copy is, and where each file's
/// bytes are right now. Readers find an archive's files only through this,
/// never by listing the directory themselves, so that a commit cut short
/// (`CommitRecord`, `OUT.commit`) is seen whole: while the record exists the
/// archive is the state it commits, its volume and parity counts are the
/// record's (older volumes beyond them are on their way out), and a file
/// whose rename has not happened yet is read at its temporary name.
///
/// This is where a volume source other than a local directory would plug in
/// (listing, identity, opening); today it is the directory of OUT.
public struct ArchiveFiles: Sendable, Equatable {
    public let base: BytePath
    /// The commit the archive is in the middle of, if any.
    public let pending: CommitRecord?
    /// Why `OUT.commit` was not used, when one exists that is not valid.
    public let recordProblem: String?
    /// Data volume numbers present, ascending (with a pending commit, those
    /// of its state: 1...L, at their final or temporary names).
    public let volumeNumbers: [Int]
    /// Parity volume numbers present, ascending.
    public let parityNumbers: [Int]
    /// Final name -> temporary name, for the pending commit's renames not yet done.
    private let temporaries: [[UInt8]: [UInt8]]

    public var indexCopyPath: BytePath { base.withSuffix(".idx") }
    public func volumePath(_ number: Int) -> BytePath { VolumeNaming.path(base: base, number: number) }
    public func parityPath(_ number: Int) -> BytePath { ParitySet.path(base: base, number: number) }

    /// The number of the last volume: the pending commit's count, else the
    /// highest present (nil: no volume at all).
    public var lastVolume: Int? { pending?.dataVolumes ?? volumeNumbers.last }

    /// Lists the directory of `base` and reads `OUT.commit`, if there is one.
    public static func locate(base: BytePath) -> ArchiveFiles {
        let baseName = base.lastComponent
        let prefix = baseName + [UInt8(ascii: ".")]
        var names = Set(VolumeNaming.names(of: base))
        var record: CommitRecord?
        var problem: String?
        let recordPath = base.withSuffix(CommitRecord.suffix)
        if names.contains(recordPath.lastComponent) {
            do {
                record = try readRecord(recordPath, baseName: baseName)
            } catch let error as ArchiveError {
                problem = error.description
            } catch {
                problem = "\(error)"
            }
        }
        var temporaries: [[UInt8]: [UInt8]] = [:]
        for rename in record?.renames ?? [] where names.contains(rename.temporary) {
            temporaries[rename.final] = rename.temporary
            names.insert(rename.final)
        }
        var volumes = names.compactMap { VolumeNaming.number(of: $0, prefix: prefix) }.sorted()
        var parity = names.compactMap { ParitySet.number(of: $0, baseName: baseName) }.sorted()
        if let record {
            volumes = volumes.filter { $0 <= record.dataVolumes }
            parity = parity.filter { $0 <= record.parityVolumes }
        }
        return ArchiveFiles(base: base, pending: record, recordProblem: problem, volumeNumbers: volumes,
                            parityNumbers: parity, temporaries: temporaries)
    }

    private static func readRecord(_ path: BytePath, baseName: [UInt8]) throws -> CommitRecord {
        let fd = try VolumeSet.openVolume(path)
        defer { close(fd) }
        return try CommitRecord.read(fd, baseName: baseName, what: path.description)
    }

    /// Opens one of the archive's files for reading (`VolumeSet.openVolume`'s
    /// checks): at its temporary name while its pending rename has not
    /// happened. A rename that happens meanwhile (the next writer finishing
    /// the commit) takes the temporary away, so then the final name has it.
    public func open(_ path: BytePath) throws -> Int32 {
        if let temporary = temporaries[path.lastComponent] {
            do {
                return try VolumeSet.openVolume(path.parent.appending(temporary))
            } catch let error as ArchiveError where error.kind == .missingVolume {
                // Renamed since the listing: the final name has it now.
            }
        }
        return try VolumeSet.openVolume(path)
    }

    /// stat (following a symlink, as opening does) of one of the archive's
    /// files where its bytes are (nil: absent).
    public func status(_ path: BytePath) -> stat? {
        var st = stat()
        if let temporary = temporaries[path.lastComponent],
           path.parent.appending(temporary).withCString({ stat($0, &st) }) == 0 {
            return st
        }
        return path.withCString({ stat($0, &st) }) == 0 ? st : nil
    }
}
