import Archive
import Foundation
import Glibc

/// Full-content FNV-1a 64 of many files at once. The CPU implementation is the
/// default; the OpenCL hasher implements the same protocol, and tests inject
/// colliding hashers to prove a collision never costs a file.
public protocol FileHashing: Sendable {
    /// One result per path: the hash, or nil if the file could not be read.
    func hashFiles(paths: [String], sizes: [UInt64]) -> [UInt64?]
}

public struct CPUFileHasher: FileHashing {
    public var threads: Int
    public init(threads: Int) { self.threads = max(1, threads) }

    public func hashFiles(paths: [String], sizes: [UInt64]) -> [UInt64?] {
        let results = UnsafeMutableBufferPointer<UInt64?>.allocate(capacity: paths.count)
        results.initialize(repeating: nil)
        defer { results.deallocate() }
        let next = AtomicCounter()
        DispatchQueue.concurrentPerform(iterations: min(threads, max(paths.count, 1))) { _ in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 64)
            defer { buffer.deallocate() }
            while true {
                let i = next.next()
                guard i < paths.count else { break }
                results[i] = Self.hashFile(paths[i], buffer: buffer)
            }
        }
        return Array(results)
    }

    static func hashFile(_ path: String, buffer: UnsafeMutableRawBufferPointer) -> UInt64? {
        guard let fd = try? SourceFile.open(path) else { return nil }
        defer { close(fd) }
        var h = FNV1a64.offsetBasis
        while true {
            let n = read(fd, buffer.baseAddress!, buffer.count)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { return h }
            h = FNV1a64.update(h, UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
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
