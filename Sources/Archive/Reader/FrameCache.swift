import Foundation

/// Decoded frames, least recently used first out, within a byte budget.
///
/// A frame wanted by many threads at once is decoded once: each frame has its
/// own lock, held while it is loaded or decoded, and the others wait on it
/// rather than decoding the same bytes again. Codecs decode front to back
/// (`PartialDecode`), so a read near the start of a cold frame decodes only up
/// to what it needs and the frame remembers where it stopped (the stored
/// payload is kept until the frame is complete); a later read resumes there.
final class FrameCache: @unchecked Sendable {
    final class Entry {
        let frame: Int
        let lock = NSLock()
        // Guarded by `lock`.
        var decoded: UnsafeMutableRawBufferPointer?
        var payload: UnsafeMutableRawBufferPointer?
        var partial: PartialDecode?
        var available = 0
        var failure: ArchiveError?
        // Guarded by the cache lock.
        var pins = 0
        var charged = 0
        var complete = false
        var newer: Entry?
        weak var older: Entry?

        init(frame: Int) { self.frame = frame }
        deinit {
            decoded?.deallocate()
            payload?.deallocate()
        }
    }

    let loader: FrameLoader
    private let budget: Int
    private let lock = NSLock()
    private var entries: [Int: Entry] = [:]
    private var oldest: Entry?
    private weak var newest: Entry?
    private var chargedBytes = 0
    /// Called once per frame that fails, with the error (the mount logs it).
    var onFailure: (@Sendable (Int, ArchiveError) -> Void)?

    private(set) var hits = 0
    private(set) var misses = 0

    init(loader: FrameLoader, budget: Int) {
        self.loader = loader
        self.budget = budget
    }

    var statistics: (hits: Int, misses: Int, bytes: Int) {
        lock.lock(); defer { lock.unlock() }
        return (hits, misses, chargedBytes)
    }

    /// Runs `body` on the frame's decoded bytes, of which at least `upTo` are valid.
    func withFrame<R>(_ frame: Int, upTo: Int, _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        let entry = pin(frame)
        defer { unpin(entry) }
        entry.lock.lock()
        defer { entry.lock.unlock() }
        if let failure = entry.failure { throw failure }
        do {
            try fill(entry, upTo: upTo)
        } catch {
            let failure = error as? ArchiveError
                ?? ArchiveError(.corruptFrame, "\(loader.location(frame)): \(error)")
            entry.failure = failure
            release(entry)
            onFailure?(frame, failure)
            throw failure
        }
        return try body(UnsafeRawBufferPointer(start: entry.decoded!.baseAddress, count: entry.available))
    }

    /// Decoded bytes of the frame at hand now (0 when it is not cached).
    func available(_ frame: Int) -> Int {
        lock.lock(); defer { lock.unlock() }
        return entries[frame]?.available ?? 0
    }

    /// Whether the frame is cached and complete (read-ahead skips those).
    func isComplete(_ frame: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return entries[frame]?.complete ?? false
    }

    // MARK: - Loading and decoding (entry lock held)

    private func fill(_ entry: Entry, upTo: Int) throws {
        let record = loader.index.frames[entry.frame]
        let size = Int(record.decodedSize)
        let target = min(max(upTo, 0), size)
        if entry.decoded != nil && entry.available >= target { return }
        if entry.decoded == nil {
            let payload = try loader.loadPayload(entry.frame)
            let decoder = loader.decoder(entry.frame)
            if decoder.payloadIsDecoded {
                entry.decoded = payload
                entry.available = size
                try loader.checkDecoded(entry.frame, UnsafeRawBufferPointer(payload))
                charge(entry, payload.count, complete: true)
                return
            }
            entry.payload = payload
            let decoded = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
            entry.decoded = UnsafeMutableRawBufferPointer(rebasing: decoded[0..<size])
            entry.partial = decoder.partial(outputCount: size)
            charge(entry, payload.count + size)
        }
        guard let payload = entry.payload, let partial = entry.partial else { return }
        let stored = UnsafeRawBufferPointer(start: payload.baseAddress, count: Int(record.storedSize))
        try loader.decodeStep(entry.frame, stored, into: entry.decoded!, partial: partial, until: target)
        entry.available = partial.available
        guard partial.finished else { return }
        payload.deallocate()
        entry.payload = nil
        entry.partial = nil
        charge(entry, -payload.count, complete: true)
    }

    /// Frees a failed entry's buffers; it stays cached as a remembered failure.
    private func release(_ entry: Entry) {
        entry.payload?.deallocate(); entry.payload = nil
        entry.decoded?.deallocate(); entry.decoded = nil
        entry.partial = nil
        entry.available = 0
        lock.lock()
        chargedBytes -= entry.charged
        entry.charged = 0
        lock.unlock()
    }

    // MARK: - LRU bookkeeping (cache lock)

    private func pin(_ frame: Int) -> Entry {
        lock.lock(); defer { lock.unlock() }
        let entry: Entry
        if let e = entries[frame] {
            entry = e
            hits += 1
            unlink(e)
        } else {
            entry = Entry(frame: frame)
            entries[frame] = entry
            misses += 1
        }
        appendNewest(entry)
        entry.pins += 1
        return entry
    }

    private func unpin(_ entry: Entry) {
        lock.lock(); defer { lock.unlock() }
        entry.pins -= 1
        evictIfNeeded()
    }

    private func charge(_ entry: Entry, _ bytes: Int, complete: Bool = false) {
        lock.lock(); defer { lock.unlock() }
        if complete { entry.complete = true }
        entry.charged += bytes
        chargedBytes += bytes
        evictIfNeeded()
    }

    private func evictIfNeeded() {
        var candidate = oldest
        while chargedBytes > budget, let e = candidate {
            candidate = e.newer
            guard e.pins == 0 else { continue }
            unlink(e)
            entries[e.frame] = nil
            chargedBytes -= e.charged
            e.charged = 0
        }
    }

    private func unlink(_ e: Entry) {
        if let older = e.older { older.newer = e.newer } else if oldest === e { oldest = e.newer }
        if let newer = e.newer { newer.older = e.older } else if newest === e { newest = e.older }
        e.newer = nil
        e.older = nil
    }

    private func appendNewest(_ e: Entry) {
        if let n = newest { n.newer = e; e.older = n } else { oldest = e }
        newest = e
    }
}
