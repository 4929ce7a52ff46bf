import Archive
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

    public func hashFiles(paths: [String], sizes: [UInt64]) -> [UInt64?] {
        lock.lock(); defer { lock.unlock() }
        var results = [UInt64?](repeating: nil, count: paths.count)
        let large = paths.indices.filter { sizes[$0] > UInt64(batchBytes / 4) }
        let cpuResults = CPUFileHasher(threads: threads).hashFiles(paths: large.map { paths[$0] }, sizes: large.map { sizes[$0] })
        for (i, hash) in zip(large, cpuResults) { results[i] = hash }

        var batch: [Int] = []
        var bytes: UInt64 = 0
        for i in paths.indices where sizes[i] <= UInt64(batchBytes / 4) {
            if bytes + sizes[i] > UInt64(batchBytes), !batch.isEmpty {
                hashBatch(batch, paths, into: &results)
                batch = []
                bytes = 0
            }
            batch.append(i)
            bytes += sizes[i]
        }
        if !batch.isEmpty { hashBatch(batch, paths, into: &results) }
        return results
    }

    /// Reads the batch's files (an unreadable one stays nil) and hashes the rest.
    private func hashBatch(_ batch: [Int], _ paths: [String], into results: inout [UInt64?]) {
        let contents = batch.map { FileManager.default.contents(atPath: paths[$0]).map { [UInt8]($0) } }
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
