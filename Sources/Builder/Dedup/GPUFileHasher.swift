import Archive
import ArchiveWriter
import Foundation

/// FNV-1a 64 of dedup survivors on OpenCL devices: files are read into
/// batches and each batch is hashed in one launch per device (round-robin).
/// Files too large for a batch, and whole batches whose launch fails, are
/// hashed on the CPU: the results are the same numbers either way.
public final class GPUFileHasher: FileHashing, @unchecked Sendable {
    private let gpu: GPUFNVHasher
    private let batchBytes: Int
    private let threads: Int
    private let onError: @Sendable (String) -> Void
    private let lock = NSLock()

    public init(devices: [OpenCLDevice], threads: Int, batchBytes: Int = 256 << 20,
                onError: @escaping @Sendable (String) -> Void) throws {
        gpu = try GPUFNVHasher(devices: devices)
        self.batchBytes = batchBytes
        self.threads = max(1, threads)
        self.onError = onError
    }

    public func hashFiles(_ files: [Int], sizes: [UInt64], from source: SourceReading) -> [UInt64?] {
        lock.lock(); defer { lock.unlock() }
        var results = [UInt64?](repeating: nil, count: files.count)
        let large = files.indices.filter { sizes[$0] > UInt64(batchBytes / 4) }
        let cpuResults = CPUFileHasher(threads: threads).hashFiles(large.map { files[$0] }, sizes: large.map { sizes[$0] }, from: source)
        for (i, hash) in zip(large, cpuResults) { results[i] = hash }

        var batch: [Int] = []
        var bytes: UInt64 = 0
        for i in files.indices where sizes[i] <= UInt64(batchBytes / 4) {
            if bytes + sizes[i] > UInt64(batchBytes), !batch.isEmpty {
                hashBatch(batch, files, sizes, source, into: &results)
                batch = []
                bytes = 0
            }
            batch.append(i)
            bytes += sizes[i]
        }
        if !batch.isEmpty { hashBatch(batch, files, sizes, source, into: &results) }
        return results
    }

    /// Reads the batch's files (one that cannot be read as scanned stays nil) and hashes the rest.
    private func hashBatch(_ batch: [Int], _ files: [Int], _ sizes: [UInt64], _ source: SourceReading, into results: inout [UInt64?]) {
        let contents = batch.map { i in
            source.read(files[i], purpose: .hash) { fd -> [UInt8]? in
                // One byte more than the scan's size: a longer file has changed (and is refused anyway).
                var bytes = [UInt8](repeating: 0, count: Int(sizes[i]) + 1)
                let n = try bytes.withUnsafeMutableBytes { try FileDeduplicator.readFull(fd, $0.baseAddress!, $0.count) }
                guard n == Int(sizes[i]) else { return nil }
                bytes.removeLast()
                return bytes
            }
        }
        let readable = batch.indices.filter { contents[$0] != nil }
        do {
            let hashes = try gpu.hash(readable.map { contents[$0]! })
            for (k, hash) in zip(readable, hashes) { results[batch[k]] = hash }
        } catch {
            onError("OpenCL hashing failed (\(error)); hashing on the CPU")
            for k in readable { results[batch[k]] = FNV1a64.hash(contents[k]!) }
        }
    }
}
