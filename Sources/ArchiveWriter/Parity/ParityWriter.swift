import Glibc
import Archive

/// Writes the parity volumes of a finished set of data volumes (docs/FORMAT.md,
/// "Parity volumes"): reads the data volumes stripe by stripe (block s of
/// each), hashes every block, computes `parityCount` parity blocks per
/// stripe with Reed-Solomon (ISA-L), and writes them after a header and the
/// manifest (sizes and every block's hash), which are written last, once
/// known. One stripe of every shard is in memory at a time. The builder
/// writes parity with it, and a repair whose parity volumes are all gone.
public struct ParityWriter {
    public let directory: Int32
    public let dataNames: [[UInt8]]
    public let dataSizes: [UInt64]
    public let archiveID: [UInt8]
    public let parityCount: Int

    public init(directory: Int32, dataNames: [[UInt8]], dataSizes: [UInt64], archiveID: [UInt8], parityCount: Int) {
        self.directory = directory; self.dataNames = dataNames; self.dataSizes = dataSizes
        self.archiveID = archiveID; self.parityCount = parityCount
    }

    /// Writes parity volume j to the file `parityNames[j]` (created
    /// exclusively, fsync'ed and closed); returns the layout written.
    public func write(to parityNames: [[UInt8]], display: (Int) -> BytePath) throws -> ParityLayout {
        let k = dataNames.count, n = parityCount
        let blockSize = ParityLayout.blockSize(largest: dataSizes.max() ?? 0, shards: k + n)
        var layout = ParityLayout(archiveID: archiveID, parityCount: n, blockSize: blockSize, volumeSizes: dataSizes,
                                  blockHashes: dataSizes.map { _ in [] }, parityHashes: Array(repeating: [], count: n))
        let stripes = layout.stripeCount
        let manifestSize = 8 * k + 8 * dataSizes.reduce(0) { $0 + ParityLayout.blocks(of: $1, blockSize) } + 8 * n * stripes + 8
        let firstBlock = UInt64(ParityLayout.headerSize + manifestSize)

        let inputs = try dataNames.map { name -> Int32 in
            let fd = BytePath.withCString(name) { openat(directory, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
            guard fd >= 0 else { throw ArchiveError(.io, "cannot read \(BytePath(name)) back for its parity: \(posixErrorText(errno))") }
            return fd
        }
        defer { inputs.forEach { close($0) } }
        var outputs: [Int32] = []
        defer { outputs.forEach { close($0) } }
        for (j, name) in parityNames.enumerated() {
            let fd = Interruption.create(directory: directory, name: name) {
                BytePath.withCString(name) { openat(directory, $0, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644) }
            }
            guard fd >= 0 else { throw ArchiveError(.io, "cannot create parity volume \(display(j)): \(posixErrorText(errno))") }
            outputs.append(fd)
        }
        let code = ReedSolomon(dataCount: k, parityCount: n)
        let data = (0..<k).map { _ in UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 64) }
        let parity = (0..<n).map { _ in UnsafeMutableRawPointer.allocate(byteCount: blockSize, alignment: 64) }
        defer { (data + parity).forEach { $0.deallocate() } }
        for stripe in 0..<stripes {
            for v in 0..<k {
                let length = layout.bytes(inVolume: v, block: stripe)
                if length > 0 {
                    let got = try Posix.preadFully(inputs[v], data[v], length, UInt64(stripe) * UInt64(blockSize))
                    guard got == length else { throw ArchiveError(.io, "\(BytePath(dataNames[v])) ended early while its parity was computed") }
                    layout.blockHashes[v].append(XXHash64.hash(UnsafeRawBufferPointer(start: data[v], count: length)))
                }
                if length < blockSize { (data[v] + length).initializeMemory(as: UInt8.self, repeating: 0, count: blockSize - length) }
            }
            code.encode(data: data, parity: parity, length: blockSize)
            for j in 0..<n {
                layout.parityHashes[j].append(XXHash64.hash(UnsafeRawBufferPointer(start: parity[j], count: blockSize)))
                if let error = Posix.pwriteAll(outputs[j], parity[j], blockSize, firstBlock + UInt64(stripe) * UInt64(blockSize)) {
                    throw ArchiveError(.io, "writing parity volume \(display(j)) failed: \(posixErrorText(error))")
                }
            }
        }
        for j in 0..<n {
            let head = layout.encodedHead(number: j + 1)
            precondition(head.count == Int(firstBlock), "the manifest is the size computed ahead")
            if let error = head.withUnsafeBytes({ Posix.pwriteAll(outputs[j], $0.baseAddress!, $0.count, 0) }) {
                throw ArchiveError(.io, "writing parity volume \(display(j)) failed: \(posixErrorText(error))")
            }
            if fsync(outputs[j]) != 0 { throw ArchiveError(.io, "flushing parity volume \(display(j)) failed: \(posixErrorText(errno))") }
        }
        for fd in outputs where close(fd) != 0 {
            outputs = []
            throw ArchiveError(.io, "closing a parity volume failed: \(posixErrorText(errno))")
        }
        outputs = []
        return layout
    }
}
