import Archive
import Foundation
import Glibc

/// Open descriptors of the source directories, shared by every thread of a
/// build. A tree can have more directories than a process may hold open, so
/// only recently used ones stay open; any other is reopened from its nearest
/// open ancestor one component at a time with O_NOFOLLOW, and each directory
/// opened must be the one the scan saw (same device and inode). So no path
/// is ever resolved again (no PATH_MAX limit on depth), and a directory
/// swapped for a symlink or for another directory during the build is
/// refused, never read through.
final class SourceDirectories: @unchecked Sendable {
    struct Unavailable: Error, CustomStringConvertible {
        let description: String
    }

    private struct Known { let parent: Int; let name: [UInt8]; let dev: UInt64; let ino: UInt64 }
    private struct Open { let fd: Int32; var used: UInt64; var pins: Int; let owned: Bool }

    private let lock = NSLock()
    // By node id (ids are dense: arrays, where dictionaries spent the
    // scan's time hashing), and the nodes open now, for eviction.
    private var known: [Known?] = []
    private var open: [Open?] = []
    private var openNodes = Set<Int>()
    private var clock: UInt64 = 0
    private let limit: Int
    /// Check that each directory opened is the one registered. The scan
    /// opens each directory right after registering it and takes its
    /// attributes from the descriptor itself, then checks them against what
    /// its parent's listing said (`TreeScanner.listConsistently`): it needs
    /// no check here.
    private let verify: Bool

    /// `limit`: directories kept open at most (besides the roots and those in use).
    init(limit: Int = SourceDirectories.defaultLimit, verify: Bool = true) {
        self.limit = max(2, limit)
        self.verify = verify
    }

    /// Every directory of a scanned tree, reached from the SRCs' descriptors.
    convenience init(tree: ScannedTree, roots: SourceRoots) {
        self.init()
        for (version, node) in tree.sourceRoots.enumerated() { setRoot(node, fd: roots.roots[version].fd) }
        for (id, node) in tree.nodes.enumerated() where node.kind == .directory && node.parent >= 0 && !openNodes.contains(id) {
            register(id, parent: node.parent, name: node.name, dev: node.identity.dev, ino: node.identity.ino)
        }
    }

    deinit { for node in openNodes where open[node]!.owned { Glibc.close(open[node]!.fd) } }

    private func grow(to node: Int) {
        if node >= known.count {
            let count = max(node + 1, known.count * 2)
            known += [Known?](repeating: nil, count: count - known.count)
            open += [Open?](repeating: nil, count: count - open.count)
        }
    }

    private func setOpen(_ node: Int, _ entry: Open?) {
        grow(to: node)
        open[node] = entry
        if entry == nil { openNodes.remove(node) } else { openNodes.insert(node) }
    }

    /// A quarter of the descriptors this process may open (after raising the
    /// soft limit to the hard one), within 4...1024: the rest is for source
    /// files being read, volumes and the libraries.
    static var defaultLimit: Int {
        var l = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &l) == 0 else { return 64 }
        return min(1024, max(4, (Int(clamping: l.rlim_cur) - 64) / 4))
    }

    /// Makes `node` reachable: directory `name` of directory `parent`, which
    /// must be (device, inode).
    func register(_ node: Int, parent: Int, name: [UInt8], dev: UInt64, ino: UInt64) {
        lock.lock(); defer { lock.unlock() }
        grow(to: node)
        known[node] = Known(parent: parent, name: name, dev: dev, ino: ino)
    }

    /// A directory opened elsewhere (a SRC root), never closed here.
    func setRoot(_ node: Int, fd: Int32) {
        lock.lock(); defer { lock.unlock() }
        setOpen(node, Open(fd: fd, used: 0, pins: Int.max / 2, owned: false))
    }

    /// Closes directory `node` if it is open and not in use: the scan is done
    /// with a directory once its subtree is, so it keeps open only the chain
    /// it is in and never has to evict.
    func close(_ node: Int) {
        lock.lock(); defer { lock.unlock() }
        guard node < open.count, let entry = open[node], entry.owned, entry.pins == 0 else { return }
        Glibc.close(entry.fd)
        setOpen(node, nil)
    }

    /// Runs `body` with an open descriptor of directory `node`; it stays
    /// open while `body` runs. Throws why the directory cannot be reached.
    func withDirectory<R>(_ node: Int, _ body: (Int32) throws -> R) throws -> R {
        try withDirectory(node) { fd, _ in try body(fd) }
    }

    /// The same, also passing whether this call opened the directory (its
    /// offset is then 0: the scan lists it without seeking back first).
    func withDirectory<R>(_ node: Int, _ body: (Int32, Bool) throws -> R) throws -> R {
        lock.lock()
        let fd: Int32
        let opened = node >= open.count || open[node] == nil
        do {
            fd = try ensure(node)
        } catch {
            lock.unlock()
            throw error
        }
        open[node]!.pins += 1
        lock.unlock()
        defer {
            lock.lock()
            open[node]!.pins -= 1
            lock.unlock()
        }
        return try body(fd, opened)
    }

    /// The descriptor of `node`, opening it (and the ancestors it needs) from
    /// its nearest open ancestor. Called with the lock held.
    private func ensure(_ node: Int) throws -> Int32 {
        clock += 1
        if node < open.count, let entry = open[node] {
            open[node]!.used = clock
            return entry.fd
        }
        // The chain down from the nearest open ancestor, iteratively (a tree
        // may be thousands of levels deep).
        var chain: [Int] = []
        var current = node
        while current >= open.count || open[current] == nil {
            guard current >= 0, current < known.count, let info = known[current] else {
                throw Unavailable(description: "internal error: directory node \(current) is not known")
            }
            chain.append(current)
            current = info.parent
        }
        for child in chain.reversed() {
            let info = known[child]!
            let parentFD = open[current]!.fd
            open[current]!.used = clock
            let fd = BytePath.withCString(info.name) { openat(parentFD, $0, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else {
                let code = errno
                throw Unavailable(description: code == ENOTDIR || code == ELOOP
                    ? "a directory on its path was replaced by something that is not a directory"
                    : "a directory on its path cannot be opened (\(posixErrorText(code)))")
            }
            var st = stat()
            if verify {
                guard fstat(fd, &st) == 0, UInt64(st.st_dev) == info.dev, UInt64(st.st_ino) == info.ino else {
                    Glibc.close(fd)
                    throw Unavailable(description: "a directory on its path was replaced by another one")
                }
            }
            open[current]!.pins += 1   // the next step opens from it
            evictIfFull()
            open[current]!.pins -= 1
            setOpen(child, Open(fd: fd, used: clock, pins: 0, owned: true))
            current = child
        }
        return open[node]!.fd
    }

    /// Closes the least recently used quarter of the unpinned directories
    /// once `limit` are open.
    private func evictIfFull() {
        guard openNodes.count >= limit else { return }
        let victims = openNodes.filter { open[$0]!.pins == 0 && open[$0]!.owned }
            .sorted { open[$0]!.used < open[$1]!.used }.prefix(max(1, limit / 4))
        for node in victims {
            Glibc.close(open[node]!.fd)
            setOpen(node, nil)
        }
    }
}
