import Foundation

/// Small files the dedup probe read whole, kept for their storage so that
/// they are not opened and read a second time.
///
/// A tree of many small files is bound by system calls, not by bytes: in a
/// tree of 100,000 files of 400 bytes, opening, reading, checking and
/// closing each file twice (probe, then storage) was most of the build.
/// The probe reads a file whole when another file has its size
/// (`FileDeduplicator.wholeProbeLimit`), and a read it returns was checked
/// to be the version the scan saw. Storage takes those bytes only if the
/// file still has that identity when storage comes to it (one stat, in
/// place of open, read, stat and close), so a file edited, replaced or
/// removed after the probe is captured as it is then, exactly as without
/// holding.
///
/// What is held is bounded, and spent where it saves most:
/// - only files up to `largestFile` bytes, where the system calls cost more
///   than the bytes;
/// - one file per content: a file whose SHA-256 another file claimed
///   already is a copy of it, or it is the copy, and copies are never
///   stored (ten Django releases are 62% copies, and holding them cost more
///   than it saved);
/// - at most `limit` bytes. The probe goes through the candidates smallest
///   first, so the limit keeps the files where a saved system call is worth
///   the most per byte held.
/// Once dedup is done, the bytes held for a copy pass to the file stored in
/// its place (`settle`), and storage takes each file's bytes out, so what is
/// held only shrinks once packing starts.
final class HeldContents: @unchecked Sendable {
    /// 32 MiB of files up to 4 KiB, chosen by measurement (docs/BUILD.md,
    /// `bench/compare.sh`): 100,000 small files built 10% faster (peak RSS
    /// +35 MB), the Django releases and the system tree as fast as without
    /// (peak RSS up to 16 MB more). Holding files up to 16 KiB in 48 MiB was
    /// no faster and took up to 45 MB more.
    static let limit = 32 << 20
    /// Files larger than this are read again to be stored: their bytes,
    /// not the system calls, are what their storage costs.
    static let largestFile = 4 << 10

    private let lock = NSLock()
    private var contents: [Int: [UInt8]] = [:]
    /// The first 64 bits of the SHA-256 of each content claimed (a
    /// collision only means a file is not held).
    private var claimed: Set<UInt64> = []
    /// Bytes claimed while dedup probes; what is dropped or taken later is
    /// not given back, as nothing is claimed after dedup. (A claim whose
    /// read then proves to be of a changed file stays counted: rare, and
    /// it only leaves less room.)
    private var claimedBytes = 0
    private let limit: Int
    private var taken = 0
    /// Files handed out for storage (`BuildStats.filesHeld`).
    var filesTaken: Int {
        lock.lock(); defer { lock.unlock() }
        return taken
    }

    init(limit: Int = HeldContents.limit) { self.limit = limit }

    /// Claims room for a file of `size` bytes with SHA-256 `digest`: true
    /// when its bytes are to be held (`hold` follows once the read is checked).
    func claim(_ digest: ChunkDigest, size: Int) -> Bool {
        guard size <= Self.largestFile else { return false }
        lock.lock(); defer { lock.unlock() }
        guard claimedBytes + size <= limit, claimed.insert(digest.words.0).inserted else { return false }
        claimedBytes += size
        return true
    }

    /// Keeps file `node`'s claimed bytes, read whole and checked to be the scanned version.
    func hold(_ node: Int, _ bytes: [UInt8]) {
        lock.lock(); defer { lock.unlock() }
        contents[node] = bytes
    }

    /// Once dedup is done (`canonical`: copy -> the file stored for it):
    /// bytes held for a copy serve the file stored in its place, unless that
    /// file's own are held. Which of two copies claims first is a race
    /// between the probe threads; dedup proved their bytes equal, and
    /// storage still checks that file against its own scanned identity.
    func settle(copies canonical: [Int: Int]) {
        lock.lock(); defer { lock.unlock() }
        for node in contents.keys.filter({ canonical[$0] != nil }) {
            let bytes = contents.removeValue(forKey: node)
            let stored = canonical[node]!
            if contents[stored] == nil { contents[stored] = bytes }
        }
    }

    /// Takes file `node`'s bytes out, if held; they are handed out only
    /// when `asScanned` (`SourceFiles.isAsScanned`) says the file is still
    /// the version they were read from.
    func take(_ node: Int, ifStill asScanned: (Int) -> Bool) -> [UInt8]? {
        lock.lock()
        let bytes = contents.removeValue(forKey: node)
        lock.unlock()
        guard let bytes, asScanned(node) else { return nil }
        lock.lock(); defer { lock.unlock() }
        taken += 1
        return bytes
    }
}
