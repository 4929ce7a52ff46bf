import Glibc
import Archive

/// `gpuarc-repair`: checks every data and parity volume block by block
/// against the checksums the parity volumes hold, and rebuilds the missing
/// or damaged ones from parity into place: each into a new file, checked
/// block by block, then renamed over the old name, the directory flushed.
/// Where more blocks of a stripe are lost than there are parity volumes, it
/// names the volumes that are beyond repair and leaves them as they are.
public enum ArchiveRepair {
    /// What a check found.
    public struct Damage: Sendable {
        /// Damaged or missing blocks of each volume, by name (data and parity volumes).
        public var blocks: [(volume: BytePath, stripes: [Int])] = []
        /// Volumes that cannot be rebuilt: some of their damaged blocks lie in
        /// stripes with more damage than parity covers.
        public var beyondRepair: [BytePath] = []
        /// Stripes with more damaged blocks than parity volumes.
        public var unrepairableStripes: [Int] = []
        public var parityCount = 0
        public var isIntact: Bool { blocks.isEmpty }
        public var isRepairable: Bool { beyondRepair.isEmpty }
    }

    public struct Report: Sendable {
        public var damage = Damage()
        /// Volumes written anew from parity, in place.
        public var rebuilt: [BytePath] = []
        /// The index copy written anew (it was missing or did not match).
        public var indexCopyRewritten = false
        /// The archive has no parity: its volumes could not be checked.
        public var volumesUnchecked = false
    }

    /// Finds the damage of archive `path` (any of its volumes). Without
    /// any parity volume left, the data volumes are checked frame by frame
    /// against the index instead (`ParitySet` nil): if the index says the
    /// archive had parity, it is all that is lost, and a repair makes it again.
    public static func check(_ path: BytePath) throws -> (Damage, ParitySet?) {
        let base = VolumeNaming.base(of: path)
        let files = ArchiveFiles.locate(base: base)
        guard let parity = ParitySet.open(files: files) else {
            return (try checkWithoutParity(base), nil)
        }
        let layout = parity.layout
        var damage = Damage()
        damage.parityCount = layout.parityCount
        var bad = parity.damage()
        // A data volume with more bytes than it had is damaged too (appended to).
        for v in 0..<layout.dataCount where bad[v] == nil {
            let st = files.status(files.volumePath(v + 1))
            if st == nil || UInt64(st!.st_size) != layout.volumeSizes[v] { bad[v] = [] }
        }
        var lostPerStripe = [Int](repeating: 0, count: layout.stripeCount)
        for stripes in bad.values { for s in stripes { lostPerStripe[s] += 1 } }
        let unrepairable = Set(lostPerStripe.indices.filter { lostPerStripe[$0] > layout.parityCount })
        damage.unrepairableStripes = unrepairable.sorted()
        for shard in bad.keys.sorted() {
            let name = shardPath(parity, shard)
            damage.blocks.append((name, bad[shard]!))
            if bad[shard]!.contains(where: unrepairable.contains) { damage.beyondRepair.append(name) }
        }
        return (damage, parity)
    }

    private static func shardPath(_ parity: ParitySet, _ shard: Int) -> BytePath {
        shard < parity.layout.dataCount ? VolumeNaming.path(base: parity.base, number: shard + 1)
            : ParitySet.path(base: parity.base, number: shard - parity.layout.dataCount + 1)
    }

    /// The archive's data volumes checked against its index (all its
    /// frames, and the volumes' sizes), for an archive whose parity volumes
    /// are all gone: they are the damage, repairable if the data is intact.
    private static func checkWithoutParity(_ base: BytePath) throws -> Damage {
        let reader = try ArchiveReader(path: VolumeNaming.path(base: base, number: 1))
        let index = reader.index
        guard index.parityCount > 0 else {
            throw ArchiveError(.unsupported, "\(base) has no parity volumes (\(ParitySet.path(base: base, number: 1)), ...): nothing to rebuild from. gpuarc-extract --verify names what is damaged; build with --parity N to make archives that can be repaired")
        }
        var damage = Damage()
        damage.parityCount = index.parityCount
        let lostData = index.frames.indices.filter { (try? reader.checkFrame($0)) == nil }.map { Int(index.frames[$0].volume) }
        let badVolumes = Set(lostData).union(reader.volumes.problems.keys)
        for v in badVolumes.sorted() { damage.blocks.append((reader.volumes.paths[v], [])); damage.beyondRepair.append(reader.volumes.paths[v]) }
        for j in 1...index.parityCount {
            let path = ParitySet.path(base: base, number: j)
            damage.blocks.append((path, []))
            if !badVolumes.isEmpty { damage.beyondRepair.append(path) }
        }
        return damage
    }

    /// Checks archive `path` and rebuilds every damaged volume that can be
    /// rebuilt, and the index copy if it is missing or stale: each into a
    /// temporary (`NAME.repair`), checked, then all of them committed at
    /// once (`ArchiveCommit`), under the archive's lock.
    public static func repair(_ path: BytePath) throws -> Report {
        let base = VolumeNaming.base(of: path)
        let lock = try ArchiveLock(base: base)
        defer { lock.release() }
        ArchiveCommit.removeStaleTemporaries(lock)
        // A failure anywhere before the commit leaves the temporaries to
        // the lock's release, which removes them.
        var report = Report()
        let damage: Damage, found: ParitySet?
        do {
            (damage, found) = try check(path)
        } catch let error as ArchiveError where error.kind == .unsupported {
            // No parity to rebuild anything from: the index copy is all a
            // repair can mend (from the index, which must then be sound).
            let reader = try ArchiveReader(path: path)
            guard let copy = try refreshIndexCopy(reader, lock: lock) else { throw error }
            try ArchiveCommit.commit(CommitRecord(archiveID: reader.index.archiveID, dataVolumes: reader.index.volumeSizes.count,
                                                  parityVolumes: 0, removesVolumesAbove: false, removesParityAbove: false,
                                                  renames: [copy]), lock: lock)
            report.indexCopyRewritten = true
            report.volumesUnchecked = true
            return report
        }
        report.damage = damage
        guard let parity = found else {
            guard damage.isRepairable else { return report }
            report.rebuilt = try remakeParity(base, lock: lock)
            return report
        }
        let layout = parity.layout
        var renames: [CommitRecord.Rename] = []
        for (volume, _) in damage.blocks where !damage.beyondRepair.contains(volume) {
            let shard = (0..<(layout.dataCount + layout.parityCount)).first { shardPath(parity, $0) == volume }!
            renames.append(try rebuild(shard, parity: parity, lock: lock))
            report.rebuilt.append(volume)
            FailPoint.reach("repair")
        }
        // Read through parity where volumes are damaged (the rebuilt ones are not renamed yet).
        if damage.isRepairable, let copy = try refreshIndexCopy(try ArchiveReader(path: path), lock: lock) {
            renames.append(copy)
            report.indexCopyRewritten = true
        }
        guard !renames.isEmpty else { return report }
        try ArchiveCommit.commit(CommitRecord(archiveID: layout.archiveID, dataVolumes: layout.dataCount, parityVolumes: layout.parityCount,
                                              removesVolumesAbove: false, removesParityAbove: false, renames: renames), lock: lock)
        return report
    }

    /// Writes shard `shard` anew into `<name>.repair` from its good blocks
    /// and parity and checks every block of the new file; the rename over
    /// the old name is the commit's.
    private static func rebuild(_ shard: Int, parity: ParitySet, lock: ArchiveLock) throws -> CommitRecord.Rename {
        let layout = parity.layout
        let final = shardPath(parity, shard)
        let name = final.lastComponent
        let temp = name + Array(".repair".utf8)
        let fd = ArchiveCommit.createTemporary(temp, lock: lock, flags: O_RDWR)
        guard fd >= 0 else { throw ArchiveError(.io, "cannot create \(BytePath(temp)): \(posixErrorText(errno))") }
        defer { close(fd) }
        let isData = shard < layout.dataCount
        let base = isData ? UInt64(0) : UInt64(layout.firstBlockOffset)
        if !isData {
            let head = layout.encodedHead(number: shard - layout.dataCount + 1)
            if let code = head.withUnsafeBytes({ Posix.pwriteAll(fd, $0.baseAddress!, $0.count, 0) }) {
                throw ArchiveError(.io, "writing \(BytePath(temp)) failed: \(posixErrorText(code))")
            }
        }
        let blocks = isData ? ParityLayout.blocks(of: layout.volumeSizes[shard], layout.blockSize) : layout.stripeCount
        for stripe in 0..<blocks {
            let bytes = try parity.shardOnDisk(shard, stripe: stripe) ?? parity.stripe(stripe)[shard]
            let length = isData ? layout.bytes(inVolume: shard, block: stripe) : layout.blockSize
            if let code = bytes.withUnsafeBytes({ Posix.pwriteAll(fd, $0.baseAddress!, length, base + UInt64(stripe) * UInt64(layout.blockSize)) }) {
                throw ArchiveError(.io, "writing \(BytePath(temp)) failed: \(posixErrorText(code))")
            }
        }
        let size = isData ? layout.volumeSizes[shard] : layout.parityVolumeSize
        guard ftruncate(fd, off_t(size)) == 0, fsync(fd) == 0 else {
            throw ArchiveError(.io, "flushing \(BytePath(temp)) failed: \(posixErrorText(errno))")
        }
        // Every block read back and checked before it replaces anything.
        var block = [UInt8](repeating: 0, count: layout.blockSize)
        for stripe in 0..<blocks {
            let length = isData ? layout.bytes(inVolume: shard, block: stripe) : layout.blockSize
            let got = try block.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, length, base + UInt64(stripe) * UInt64(layout.blockSize)) }
            let expected = isData ? layout.blockHashes[shard][stripe] : layout.parityHashes[shard - layout.dataCount][stripe]
            guard got == length, block.withUnsafeBytes({ XXHash64.hash(UnsafeRawBufferPointer(rebasing: $0[0..<length])) }) == expected else {
                throw ArchiveError(.io, "the rebuilt \(final) fails its check at block \(stripe): not replaced")
            }
        }
        return CommitRecord.Rename(temporary: temp, final: name)
    }

    /// Writes every parity volume anew over intact data volumes (all the
    /// parity was lost): the same layout the build wrote, as it depends only
    /// on the data volumes and the parity count the index records.
    private static func remakeParity(_ base: BytePath, lock: ArchiveLock) throws -> [BytePath] {
        let reader = try ArchiveReader(path: VolumeNaming.path(base: base, number: 1))
        var sizes: [UInt64] = []
        for path in reader.volumes.paths {
            guard let st = reader.files.status(path) else { throw ArchiveError(.io, "cannot stat \(path): \(posixErrorText(errno))") }
            sizes.append(UInt64(st.st_size))
        }
        let count = reader.index.parityCount
        let finals = (1...count).map { ParitySet.path(base: base, number: $0) }
        let renames = finals.map { CommitRecord.Rename(temporary: $0.lastComponent + Array(".repair".utf8), final: $0.lastComponent) }
        let writer = ParityWriter(directory: lock.directory, dataNames: reader.volumes.paths.map(\.lastComponent), dataSizes: sizes,
                                  archiveID: reader.index.archiveID, parityCount: count)
        _ = try writer.write(to: renames.map(\.temporary)) { finals[$0] }
        FailPoint.reach("repair")
        try ArchiveCommit.commit(CommitRecord(archiveID: reader.index.archiveID, dataVolumes: reader.volumes.paths.count, parityVolumes: count,
                                              removesVolumesAbove: false, removesParityAbove: false, renames: renames), lock: lock)
        return finals
    }

    /// Writes `OUT.idx.repair` from `reader`'s index when the copy is missing
    /// or differs; the rename to `OUT.idx`, or nil when the copy is right
    /// (or is what the index was read from).
    private static func refreshIndexCopy(_ reader: ArchiveReader, lock: ArchiveLock) throws -> CommitRecord.Rename? {
        guard let segments = try reader.segmentBytes() else { return nil }
        let copy = IndexCopy.encoded(archiveID: reader.index.archiveID, segments: segments)
        if let fd = try? reader.files.open(reader.files.indexCopyPath) {
            defer { close(fd) }
            var existing = [UInt8](repeating: 0, count: copy.count + 1)
            let n = (try? existing.withUnsafeMutableBytes { try Posix.preadFully(fd, $0.baseAddress!, copy.count + 1, 0) }) ?? -1
            if n == copy.count && Array(existing.prefix(n)) == copy { return nil }
        }
        let rename = CommitRecord.Rename(temporary: lock.name(".idx.repair"), final: lock.name(".idx"))
        try ArchiveCommit.writeTemporary(rename.temporary, copy, lock: lock)
        return rename
    }
}
