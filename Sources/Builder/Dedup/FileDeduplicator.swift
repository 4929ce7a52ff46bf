import Archive
import Foundation
import Glibc

/// Whole-file dedup, the seed's four-stage filter: group by size, then by the
/// first 2 bytes, the last 2 bytes and 3 bytes at the centre; only survivors are
/// hashed in full (FNV-1a 64). A hash match is only a candidate: every duplicate
/// is confirmed byte for byte before it becomes a reference.
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
        var unreadable: [Int] = []
    }

    let hasher: FileHashing

    func run(tree: ScannedTree, files: [Int]) -> Result {
        var result = Result()
        // Stage 1: size (empty files share the empty content without a lookup).
        var groups = Dictionary(grouping: files.filter { tree.nodes[$0].size > 0 }) { tree.nodes[$0].size }
            .values.filter { $0.count > 1 }.map { $0 }
        result.survivors.append(groups.reduce(0) { $0 + $1.count })

        // Stages 2-4: cheap probes, each only for groups that still have company.
        let probes: [(UInt64) -> (offset: UInt64, length: Int)] = [
            { _ in (0, 2) },
            { size in (size >= 2 ? size - 2 : 0, 2) },
            { size in (size / 2 >= 1 ? size / 2 - 1 : 0, 3) },
        ]
        for probe in probes {
            var next: [[Int]] = []
            for group in groups {
                var byKey: [UInt64: [Int]] = [:]
                for id in group {
                    let (offset, length) = probe(tree.nodes[id].size)
                    guard let key = Self.probe(tree.nodes[id].path, offset: offset, length: length) else {
                        result.unreadable.append(id)
                        continue
                    }
                    byKey[key, default: []].append(id)
                }
                next += byKey.values.filter { $0.count > 1 }
            }
            groups = next
            result.survivors.append(groups.reduce(0) { $0 + $1.count })
        }

        // Full hash of the survivors.
        let survivors = groups.flatMap { $0 }
        let hashes = hasher.hashFiles(paths: survivors.map { tree.nodes[$0].path },
                                      sizes: survivors.map { tree.nodes[$0].size })
        var byHash: [HashKey: [Int]] = [:]
        for (i, id) in survivors.enumerated() {
            guard let h = hashes[i] else { result.unreadable.append(id); continue }
            byHash[HashKey(size: tree.nodes[id].size, hash: h), default: []].append(id)
        }
        result.survivors.append(byHash.values.filter { $0.count > 1 }.reduce(0) { $0 + $1.count })

        // Confirmation: each candidate is compared with the representatives of
        // the classes found so far in its group; no match starts a new class.
        for group in byHash.values where group.count > 1 {
            var representatives: [Int] = []
            for id in group.sorted() {
                var matched: Int? = nil
                for rep in representatives {
                    switch Self.sameBytes(tree.nodes[rep].path, tree.nodes[id].path, size: tree.nodes[id].size) {
                    case .same: matched = rep
                    case .different: result.hashCollisions += 1
                    case .unreadable: break
                    }
                    if matched != nil { break }
                }
                if let rep = matched {
                    result.canonical[id] = rep
                    result.duplicateFiles += 1
                    result.duplicateBytes += tree.nodes[id].size
                } else {
                    representatives.append(id)
                }
            }
        }
        return result
    }

    private struct HashKey: Hashable { let size: UInt64; let hash: UInt64 }

    /// Up to 3 bytes at `offset`, packed into a key; nil if unreadable.
    static func probe(_ path: String, offset: UInt64, length: Int) -> UInt64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: UInt64 = 0
        let n = withUnsafeMutableBytes(of: &bytes) { pread(fd, $0.baseAddress!, length, off_t(offset)) }
        guard n >= 0 else { return nil }
        return bytes | (UInt64(n) << 56)
    }

    enum Comparison { case same, different, unreadable }

    /// Streams both files and compares every byte.
    static func sameBytes(_ a: String, _ b: String, size: UInt64) -> Comparison {
        let fa = open(a, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fa >= 0 else { return .unreadable }
        defer { close(fa) }
        let fb = open(b, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fb >= 0 else { return .unreadable }
        defer { close(fb) }
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
