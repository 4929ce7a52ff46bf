import Archive
import Foundation
import Glibc

/// Whole-file dedup, the seed's four-stage filter: group by size, then by the
/// first 2 bytes, the last 2 bytes and 3 bytes at the centre; only survivors are
/// hashed in full (FNV-1a 64). A hash match is only a candidate: every duplicate
/// is confirmed byte for byte before it becomes a reference.
///
/// Files up to `wholeProbeLimit` are read whole for their probe bytes;
/// their SHA-256 is taken from that same read, and an equal size and
/// SHA-256 is the proof (a cryptographic hash, which unlike FNV-1a cannot
/// be forged), so they are opened once instead of three times. Ten Django
/// releases are 67,000 files of 6 KiB on average, and opening them was most
/// of the dedup phase.
///
/// With `held`, the bytes of files read whole for their probe are kept there
/// for storage (as far as its limit allows), and those held for a copy pass
/// to the file stored in its place.
///
/// Every read goes through `SourceReading`, which holds each file to the
/// version the scan saw: a file that changed, or that could not be read,
/// simply takes no part (it is stored on its own, and its storage then
/// finds out what it is now). Files that may have holes take no part either:
/// their storage skips the holes, and reading gigabytes of zeros to compare
/// them would cost what sparse storage saves.
struct FileDeduplicator {
    struct Result {
        /// node id -> canonical node id, for files stored as references.
        var canonical: [Int: Int] = [:]
        var duplicateFiles = 0
        var duplicateBytes: UInt64 = 0
        /// Files still in play after each stage (size, first, last, centre, hash).
        var survivors: [Int] = []
        /// Hash matches that turned out to differ (collisions caught).
        var hashCollisions = 0

        mutating func add(duplicate id: Int, of canonical: Int, size: UInt64) {
            self.canonical[id] = canonical
            duplicateFiles += 1
            duplicateBytes += size
        }
    }

    let hasher: FileHashing

    let threads: Int

    func run(tree: ScannedTree, files: [Int], source: SourceReading, held: HeldContents? = nil) -> Result {
        var result = Result()
        // Stage 1: size (empty files share the empty content without a lookup).
        // Sorted rather than hashed into groups: groups are runs of equal
        // keys, and the probing below reads files of one size side by side.
        let sized = files.compactMap { id -> (id: Int, size: UInt64)? in
            let node = tree.nodes[id]
            return node.size > 0 && !node.mayBeSparse ? (id, node.size) : nil
        }.sorted { ($0.size, $0.id) < ($1.size, $1.id) }
        let candidates = Self.runs(of: sized.count) { sized[$0].size == sized[$1].size }
            .filter { $0.count > 1 }.flatMap { $0.map { sized[$0] } }
        result.survivors.append(candidates.count)

        // Stages 2-4 look at the first 2, last 2 and centre 3 bytes. The bytes of
        // all three probes are fetched with one open per file (in parallel);
        // the stages then narrow the groups one after the other: after stage
        // k, a file survives if another has its size and its first k probes.
        // (Smallest first, as sorted: what `held` keeps are the files where
        // a second open would cost the most per byte.)
        let probed = parallelMap(candidates.count, threads: threads) { i -> ProbeBytes? in
            let (id, size) = candidates[i]
            var probe = source.read(id, purpose: .probe) { Self.probe($0, size: size, holding: held) }
            // Held only once the read is known to be of the scanned version.
            if let whole = probe?.whole {
                held?.hold(id, whole)
                probe?.whole = nil
            }
            return probe
        }
        struct Probed { let id: Int; let size: UInt64; let probe: ProbeBytes }
        let keyed = candidates.indices.compactMap { i in probed[i].map { Probed(id: candidates[i].id, size: candidates[i].size, probe: $0) } }
            .sorted { a, b in
                (a.size, a.probe.first, a.probe.last, a.probe.centre, a.id) < (b.size, b.probe.first, b.probe.last, b.probe.centre, b.id)
            }
        let stages: [(Probed, Probed) -> Bool] = [
            { $0.size == $1.size && $0.probe.first == $1.probe.first },
            { $0.size == $1.size && $0.probe.first == $1.probe.first && $0.probe.last == $1.probe.last },
            { $0.size == $1.size && $0.probe.first == $1.probe.first && $0.probe.last == $1.probe.last && $0.probe.centre == $1.probe.centre },
        ]
        var groups: [[Probed]] = []
        for same in stages {
            groups = Self.runs(of: keyed.count) { same(keyed[$0], keyed[$1]) }.filter { $0.count > 1 }.map { $0.map { keyed[$0] } }
            result.survivors.append(groups.reduce(0) { $0 + $1.count })
        }

        // Full hash of the survivors: the small ones have their SHA-256 from
        // the probe, the others are hashed now.
        var byDigest: [DigestKey: [Int]] = [:]
        var large: [Int] = []
        for file in groups.joined() {
            if let digest = file.probe.digest {
                byDigest[DigestKey(size: file.size, digest: digest), default: []].append(file.id)
            } else {
                large.append(file.id)
            }
        }
        let hashes = hasher.hashFiles(large, sizes: large.map { tree.nodes[$0].size }, from: source)
        var byHash: [HashKey: [Int]] = [:]
        for (i, id) in large.enumerated() {
            guard let h = hashes[i] else { continue }
            byHash[HashKey(size: tree.nodes[id].size, hash: h), default: []].append(id)
        }
        // Oldest version first, then node order: the file kept is the first
        // version's, however the versions' directories sort (a SRC of
        // snapshots lists day-10 before day-9).
        let first: (Int, Int) -> Bool = { a, b in (tree.nodes[a].version, a) < (tree.nodes[b].version, b) }
        let hashGroups = byHash.values.filter { $0.count > 1 }.map { $0.sorted(by: first) }
        let digestGroups = byDigest.values.filter { $0.count > 1 }.map { $0.sorted(by: first) }
        result.survivors.append((hashGroups + digestGroups).reduce(0) { $0 + $1.count })

        // Equal SHA-256: the first file of each group (as in the
        // confirmation) is the one stored.
        for group in digestGroups {
            for id in group.dropFirst() { result.add(duplicate: id, of: group[0], size: tree.nodes[id].size) }
        }
        // Confirmation of the FNV-1a candidates, one hash group per task.
        let confirmed = parallelMap(hashGroups.count, threads: threads) { g in
            Self.confirm(hashGroups[g], tree: tree, source: source)
        }
        for case let group? in confirmed {
            for (id, rep) in group.duplicates { result.add(duplicate: id, of: rep, size: tree.nodes[id].size) }
            result.hashCollisions += group.collisions
        }
        held?.settle(copies: result.canonical)
        return result
    }

    /// The runs of `0..<count` whose neighbours are `same`: index ranges of
    /// equal keys in a sorted array.
    static func runs(of count: Int, same: (Int, Int) -> Bool) -> [Range<Int>] {
        var runs: [Range<Int>] = []
        var start = 0
        for i in 1..<max(count + 1, 1) where i == count || !same(i - 1, i) {
            runs.append(start..<i)
            start = i
        }
        return runs
    }

    /// Compares each candidate of a hash group with the representatives of the
    /// classes found so far; no byte-for-byte match starts a new class. A
    /// representative's bytes are read once and kept while its group is checked.
    /// A file that cannot be read as scanned joins no class.
    static func confirm(_ group: [Int], tree: ScannedTree, source: SourceReading) -> (duplicates: [(Int, Int)], collisions: Int) {
        var representatives: [(id: Int, bytes: [UInt8]?)] = []
        var duplicates: [(Int, Int)] = []
        var collisions = 0
        let keepLimit: UInt64 = 8 << 20
        for id in group {
            let size = tree.nodes[id].size
            let bytes = size <= keepLimit ? readWhole(id, size: size, from: source) : nil
            if size <= keepLimit && bytes == nil { continue }
            var matched: Int? = nil
            for rep in representatives {
                let same: Comparison
                if let a = rep.bytes, let b = bytes {
                    same = a.count == b.count && a.withUnsafeBytes({ pa in b.withUnsafeBytes { pb in
                        memcmp(pa.baseAddress!, pb.baseAddress!, a.count) == 0 } }) ? .same : .different
                } else {
                    same = sameBytes(rep.id, id, size: size, from: source)
                }
                if same == .same { matched = rep.id; break }
                if same == .different { collisions += 1 }
            }
            if let rep = matched { duplicates.append((id, rep)) } else { representatives.append((id, bytes)) }
        }
        return (duplicates, collisions)
    }

    /// A file's bytes, if it is still the version scanned (exactly `size` bytes).
    static func readWhole(_ file: Int, size: UInt64, from source: SourceReading) -> [UInt8]? {
        source.read(file, purpose: .confirm) { fd -> [UInt8]? in
            var bytes = [UInt8](repeating: 0, count: Int(size) + 1)
            let n = try bytes.withUnsafeMutableBytes { try readFull(fd, $0.baseAddress!, Int(size) + 1) }
            guard n == Int(size) else { return nil }
            bytes.removeLast()
            return bytes
        }
    }

    private struct HashKey: Hashable { let size: UInt64; let hash: UInt64 }
    private struct DigestKey: Hashable { let size: UInt64; let digest: ChunkDigest }

    /// The probe bytes of one file: first 2, last 2, and 3 at the centre;
    /// for a file read whole, its SHA-256 too, and its bytes when asked to keep them.
    struct ProbeBytes {
        var first: UInt32, last: UInt32, centre: UInt32
        var digest: ChunkDigest?
        var whole: [UInt8]? = nil
    }

    /// Files up to this size are probed with one read of the whole file
    /// instead of three, and hashed (SHA-256) from it: most survivors of a
    /// source tree are small, a system call costs more than copying a few
    /// KiB, and a survivor read whole now is not opened twice more (FNV-1a,
    /// then the byte-for-byte comparison). Files of a size no other file
    /// has are never probed, so in a tree without copies this reads little;
    /// in ten Django releases all but 60 of 67,000 files are this small.
    static let wholeProbeLimit: UInt64 = 256 << 10

    /// The probe bytes of an open file of `size` bytes. A file read whole
    /// comes with its bytes when `holding` claims them (`HeldContents.claim`).
    static func probe(_ fd: Int32, size: UInt64, holding: HeldContents? = nil) -> ProbeBytes? {
        if size <= wholeProbeLimit {
            return withUnsafeTemporaryAllocation(byteCount: Int(size), alignment: 16) { buffer in
                let got = pread(fd, buffer.baseAddress!, Int(size), 0)
                guard got >= 0 else { return nil }
                // The same value a pread of `length` bytes at `offset` gives.
                func bytes(at offset: UInt64, _ length: Int) -> UInt32 {
                    let n = max(0, min(length, got - Int(offset)))
                    var value: UInt32 = 0
                    for k in 0..<n { value |= UInt32(buffer[Int(offset) + k]) << UInt32(8 * k) }
                    return value | (UInt32(n) << 24)
                }
                // More or fewer bytes than the scan saw: it changed, and the
                // source refuses the read; no digest of a partial file.
                let read = UnsafeRawBufferPointer(rebasing: buffer[0..<got])
                let digest = got == Int(size) ? ChunkDigest(of: read) : nil
                var probe = ProbeBytes(first: bytes(at: 0, 2), last: bytes(at: size >= 2 ? size - 2 : 0, 2),
                                       centre: bytes(at: size / 2 >= 1 ? size / 2 - 1 : 0, 3), digest: digest)
                if let digest, let holding, holding.claim(digest, size: got) {
                    probe.whole = Array(read.assumingMemoryBound(to: UInt8.self))
                }
                return probe
            }
        }
        func bytes(at offset: UInt64, _ length: Int) -> UInt32? {
            var value: UInt32 = 0
            let n = withUnsafeMutableBytes(of: &value) { pread(fd, $0.baseAddress!, length, off_t(offset)) }
            return n < 0 ? nil : value | (UInt32(n) << 24)
        }
        guard let first = bytes(at: 0, 2),
              let last = bytes(at: size >= 2 ? size - 2 : 0, 2),
              let centre = bytes(at: size / 2 >= 1 ? size / 2 - 1 : 0, 3) else { return nil }
        return ProbeBytes(first: first, last: last, centre: centre, digest: nil)
    }

    enum Comparison { case same, different, unreadable }

    /// Streams both files and compares every byte (each read held to its scanned version).
    static func sameBytes(_ a: Int, _ b: Int, size: UInt64, from source: SourceReading) -> Comparison {
        source.read(a, purpose: .confirm) { fa in
            source.read(b, purpose: .confirm) { fb in compareStreams(fa, fb, size: size) }
        } ?? .unreadable
    }

    private static func compareStreams(_ fa: Int32, _ fb: Int32, size: UInt64) -> Comparison {
        let block = 1 << 20
        let ba = UnsafeMutableRawPointer.allocate(byteCount: block, alignment: 64)
        let bb = UnsafeMutableRawPointer.allocate(byteCount: block, alignment: 64)
        defer { ba.deallocate(); bb.deallocate() }
        var offset: UInt64 = 0
        while true {
            guard let na = try? readFull(fa, ba, block), let nb = try? readFull(fb, bb, block) else { return .unreadable }
            if na != nb { return .different }
            if na == 0 { return offset == size ? .same : .different }
            if memcmp(ba, bb, na) != 0 { return .different }
            offset += UInt64(na)
            // More than the scan saw: changed (the source refuses it), and not to be read on.
            if offset > size { return .unreadable }
        }
    }

    static func readFull(_ fd: Int32, _ buffer: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        var done = 0
        while done < count {
            let n = read(fd, buffer + done, count - done)
            if n < 0 { if errno == EINTR { continue }; throw ArchiveError(.io, posixErrorText(errno)) }
            if n == 0 { break }
            done += n
        }
        return done
    }
}
