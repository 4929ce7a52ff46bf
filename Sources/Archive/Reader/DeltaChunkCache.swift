import Foundation

/// Recently decoded delta chunks, so a file read in 128 KiB pieces does not
/// decode the same delta for every piece. Small LRU by bytes; one lock, because
/// a delta chunk decodes in microseconds.
final class DeltaChunkCache: @unchecked Sendable {
    private let budget: Int
    private let lock = NSLock()
    private var chunks: [Int: (bytes: [UInt8], tick: UInt64)] = [:]
    private var bytes = 0
    private var tick: UInt64 = 0

    init(budget: Int) { self.budget = budget }

    /// Bytes of decoded chunks held now.
    var storedBytes: Int {
        lock.lock(); defer { lock.unlock() }
        return bytes
    }

    func withChunk<R>(_ id: Int, decode: () throws -> [UInt8], _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        lock.lock()
        if var hit = chunks[id] {
            tick += 1
            hit.tick = tick
            chunks[id] = hit
            lock.unlock()
            return try hit.bytes.withUnsafeBytes(body)
        }
        lock.unlock()
        let decoded = try decode()
        lock.lock()
        tick += 1
        if chunks[id] == nil {
            chunks[id] = (decoded, tick)
            bytes += decoded.count
            if bytes > budget { evictOldest() }
        }
        lock.unlock()
        return try decoded.withUnsafeBytes(body)
    }

    /// Drops least recently used chunks down to three quarters of the budget:
    /// one sort per eviction round instead of a scan of the whole cache for
    /// every chunk inserted once it is full (cache lock held).
    private func evictOldest() {
        for (id, entry) in chunks.sorted(by: { $0.value.tick < $1.value.tick }) {
            guard bytes > budget / 4 * 3 else { break }
            chunks[id] = nil
            bytes -= entry.bytes.count
        }
    }
}
