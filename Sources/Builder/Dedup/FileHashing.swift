import Archive
import Foundation
import Glibc

/// Full-content FNV-1a 64 of many files at once. The CPU implementation is the
/// default; the OpenCL hasher implements the same protocol, and tests inject
/// colliding hashers to prove a collision never costs a file. Files are read
/// through `source`, which vouches that the bytes hashed are those of the
/// version of each file the scan saw.
public protocol FileHashing: Sendable {
    /// One result per file: the hash, or nil if the file could not be read
    /// (or was not, or did not stay, the version scanned).
    func hashFiles(_ files: [Int], sizes: [UInt64], from source: SourceReading) -> [UInt64?]
}

public struct CPUFileHasher: FileHashing {
    public var threads: Int
    public init(threads: Int) { self.threads = max(1, threads) }

    /// Files up to this size are read whole and hashed four at a time
    /// (`FNV1a64.hash4`); larger ones are streamed through one buffer.
    static let wholeFileLimit = 1 << 20

    public func hashFiles(_ files: [Int], sizes: [UInt64], from source: SourceReading) -> [UInt64?] {
        let results = UnsafeMutableBufferPointer<UInt64?>.allocate(capacity: files.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        // Work items: runs of up to four consecutive small files (dedup hands
        // them over grouped by size, so a run's files are usually equally long
        // and the four hash chains run side by side to the end), or one large file.
        var items: [Range<Int>] = []
        var i = 0
        while i < files.count {
            var end = i + 1
            if sizes[i] <= UInt64(Self.wholeFileLimit) {
                while end < files.count, end - i < 4, sizes[end] <= UInt64(Self.wholeFileLimit) { end += 1 }
            }
            items.append(i..<end)
            i = end
        }
        let next = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: min(threads, max(items.count, 1))) { _ in
            let slots = (0..<4).map { _ in UnsafeMutableRawBufferPointer.allocate(byteCount: Self.wholeFileLimit + 1, alignment: 64) }
            defer { slots.forEach { $0.deallocate() } }
            while true {
                let k = next.next()
                guard k < items.count else { break }
                let item = items[k]
                if item.count == 1 && sizes[item.lowerBound] > UInt64(Self.wholeFileLimit) {
                    results[item.lowerBound] = Self.hashFile(files[item.lowerBound], size: sizes[item.lowerBound], from: source, buffer: slots[0])
                } else {
                    Self.hashSmallFiles(item, files: files, from: source, slots: slots, into: results)
                }
            }
        }
        return Array(results)
    }

    /// Reads each file of `run` whole into its slot, then hashes them side by
    /// side. (A file that no longer fits its slot has changed since the scan:
    /// the source refuses it.)
    static func hashSmallFiles(_ run: Range<Int>, files: [Int], from source: SourceReading, slots: [UnsafeMutableRawBufferPointer],
                               into results: UnsafeMutableBufferPointer<UInt64?>) {
        var contents: [UnsafeRawBufferPointer] = []
        var lanes: [Int] = []
        for (lane, i) in run.enumerated() {
            let slot = slots[lane]
            guard let n = source.read(files[i], purpose: .hash, { fd -> Int? in
                let n = try FileDeduplicator.readFull(fd, slot.baseAddress!, slot.count)
                return n < slot.count ? n : nil
            }) else { continue }
            contents.append(UnsafeRawBufferPointer(rebasing: slot[0..<n]))
            lanes.append(i)
        }
        guard !contents.isEmpty else { return }
        // Missing lanes repeat the first file: no extra time (the chains run
        // in parallel) and their results are dropped.
        while contents.count < 4 { contents.append(contents[0]) }
        let h = FNV1a64.hash4(contents[0], contents[1], contents[2], contents[3])
        for (lane, value) in [h.0, h.1, h.2, h.3].prefix(lanes.count).enumerated() { results[lanes[lane]] = value }
    }

    /// Streams a file of `size` bytes through `buffer`; nil if it has more
    /// (then it changed, and reading stops there: a device put in its place
    /// could read forever).
    static func hashFile(_ file: Int, size: UInt64, from source: SourceReading, buffer: UnsafeMutableRawBufferPointer) -> UInt64? {
        source.read(file, purpose: .hash) { fd -> UInt64? in
            var h = FNV1a64.offsetBasis
            var total: UInt64 = 0
            while true {
                let n = read(fd, buffer.baseAddress!, buffer.count)
                if n < 0 { if errno == EINTR { continue }; return nil }
                if n == 0 { return total == size ? h : nil }
                total += UInt64(n)
                if total > size { return nil }
                h = FNV1a64.update(h, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            }
        }
    }
}

/// Runs `body` for 0..<count on `threads` threads; results in index order.
func parallelMap<T>(_ count: Int, threads: Int, _ body: (Int) -> T?) -> [T?] {
    let results = UnsafeMutableBufferPointer<T?>.allocate(capacity: count)
    results.initialize(repeating: nil)
    defer { results.deinitialize(); results.deallocate() }
    let next = AtomicCounter()
    DispatchQueue.concurrentPerform(iterations: max(1, min(threads, count))) { _ in
        while true {
            let i = next.next()
            guard i < count else { break }
            results[i] = body(i)
        }
    }
    return Array(results)
}

/// A lock-protected counter for handing out work items to threads.
final class AtomicCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var value = 0
    func next() -> Int {
        lock.lock(); defer { lock.unlock() }
        value += 1
        return value - 1
    }
}
