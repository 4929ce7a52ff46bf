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
    /// The file last read from: bases are usually in recently read files.
    private var openPath = -1
    private var fd: Int32 = -1

    deinit { if fd >= 0 { close(fd) } }

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
        if path != openPath {
            if fd >= 0 { close(fd) }
            fd = open(paths[path], O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            openPath = fd >= 0 ? path : -1
            guard fd >= 0 else { return nil }
        }
        let length = Int(location.length)
        var bytes = [UInt8](repeating: 0, count: length)
        let n = bytes.withUnsafeMutableBytes { try? Posix.preadFully(fd, $0.baseAddress!, length, location.offset) }
        return n == length ? bytes : nil
    }
}
