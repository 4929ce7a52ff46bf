import Archive
import Glibc

/// Where each stored chunk's bytes came from (file, offset, length), so the
/// similarity stage can read a chunk again, to confirm a duplicate byte for
/// byte or to use it as a delta base, without the builder keeping every
/// chunk in memory: 16 bytes per chunk instead of the chunk.
///
/// What it reads back may differ if a source changed during the build; the
/// similarity stage checks bytes against their digest before trusting them.
final class ChunkSources {
    private var paths: [String] = []
    private var locations: [(path: UInt32, offset: UInt64, length: UInt32)] = []
    /// Files kept open, by path number, with when each was last used: bases
    /// come back to the same older files again and again (one file's chunks
    /// are bases for its next version's), and opening a file by its path
    /// costs more than reading 8 KiB from it.
    private var open: [Int: (fd: Int32, used: Int)] = [:]
    private var clock = 0
    static let openFiles = 64

    deinit { for f in open.values { close(f.fd) } }

    /// Chunks recorded from now on come from `path`.
    func beginFile(_ path: String) {
        paths.append(path)
    }

    /// Records the source of the next stored chunk (ids are consecutive).
    func record(offset: UInt64, length: Int) {
        locations.append((UInt32(paths.count - 1), offset, UInt32(length)))
    }

    /// The bytes of stored chunk `id` as they are in its source now; nil if
    /// the file can no longer be read or is shorter.
    func read(_ id: UInt32) -> [UInt8]? {
        guard Int(id) < locations.count else { return nil }
        let location = locations[Int(id)]
        let path = Int(location.path)
        clock += 1
        let fd: Int32
        if let f = open[path] {
            fd = f.fd
        } else {
            if open.count >= Self.openFiles, let oldest = open.min(by: { $0.value.used < $1.value.used }) {
                close(oldest.value.fd)
                open[oldest.key] = nil
            }
            fd = Glibc.open(paths[path], O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { return nil }
        }
        open[path] = (fd, clock)
        let length = Int(location.length)
        var bytes = [UInt8](repeating: 0, count: length)
        let n = bytes.withUnsafeMutableBytes { try? Posix.preadFully(fd, $0.baseAddress!, length, location.offset) }
        return n == length ? bytes : nil
    }
}
