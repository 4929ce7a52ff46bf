import CISAL

/// A systematic Reed-Solomon code over GF(2^8) with `dataCount` data and
/// `parityCount` parity shards, through Intel ISA-L: any `parityCount` lost
/// shards of a stripe are rebuilt from the others. The coding matrix is
/// ISA-L's Cauchy matrix (identity on top), every square submatrix of which
/// is invertible, so any choice of surviving shards decodes.
public struct ReedSolomon: Sendable {
    public let dataCount: Int
    public let parityCount: Int
    /// (data + parity) x data, row-major; the first `dataCount` rows are the identity.
    private let matrix: [UInt8]
    /// ISA-L's expanded tables for the parity rows.
    private let encodeTables: [UInt8]

    public static let maxShards = 255

    public init(dataCount: Int, parityCount: Int) {
        precondition(dataCount >= 1 && parityCount >= 1 && dataCount + parityCount <= Self.maxShards,
                     "Reed-Solomon over GF(2^8) takes 1...\(Self.maxShards) shards")
        self.dataCount = dataCount
        self.parityCount = parityCount
        let rows = dataCount + parityCount
        var m = [UInt8](repeating: 0, count: rows * dataCount)
        m.withUnsafeMutableBufferPointer { gf_gen_cauchy1_matrix($0.baseAddress, Int32(rows), Int32(dataCount)) }
        matrix = m
        var tables = [UInt8](repeating: 0, count: 32 * dataCount * parityCount)
        var parityRows = Array(m[(dataCount * dataCount)...])
        parityRows.withUnsafeMutableBufferPointer { rowsPointer in
            tables.withUnsafeMutableBufferPointer { ec_init_tables(Int32(dataCount), Int32(parityCount), rowsPointer.baseAddress, $0.baseAddress) }
        }
        encodeTables = tables
    }

    /// Computes the parity shards of one stripe: `data` holds `dataCount`
    /// buffers and `parity` `parityCount` buffers, all `length` bytes.
    public func encode(data: [UnsafeMutableRawPointer], parity: [UnsafeMutableRawPointer], length: Int) {
        precondition(data.count == dataCount && parity.count == parityCount)
        var sources = data.map { $0.assumingMemoryBound(to: UInt8.self) as UnsafeMutablePointer<UInt8>? }
        var outputs = parity.map { $0.assumingMemoryBound(to: UInt8.self) as UnsafeMutablePointer<UInt8>? }
        var tables = encodeTables
        tables.withUnsafeMutableBufferPointer { t in
            sources.withUnsafeMutableBufferPointer { s in
                outputs.withUnsafeMutableBufferPointer { o in
                    ec_encode_data(Int32(length), Int32(dataCount), Int32(parityCount), t.baseAddress, s.baseAddress, o.baseAddress)
                }
            }
        }
    }

    /// Rebuilds the lost shards of one stripe in place. `shards` holds all
    /// `dataCount + parityCount` buffers (data first), `length` bytes each;
    /// the ones listed in `lost` are overwritten. Returns false when more are
    /// lost than the code can rebuild.
    public func reconstruct(_ shards: [UnsafeMutableRawPointer], lost: Set<Int>, length: Int) -> Bool {
        let k = dataCount, rows = dataCount + parityCount
        precondition(shards.count == rows)
        guard !lost.isEmpty else { return true }
        guard lost.count <= parityCount else { return false }
        // Any k surviving shards determine the data: invert their rows.
        let survivors = Array((0..<rows).filter { !lost.contains($0) }.prefix(k))
        var sub = [UInt8](repeating: 0, count: k * k)
        for (r, shard) in survivors.enumerated() {
            for c in 0..<k { sub[r * k + c] = matrix[shard * k + c] }
        }
        var inverse = [UInt8](repeating: 0, count: k * k)
        let inverted = sub.withUnsafeMutableBufferPointer { s in
            inverse.withUnsafeMutableBufferPointer { gf_invert_matrix(s.baseAddress, $0.baseAddress, Int32(k)) }
        }
        guard inverted == 0 else { return false }
        // A lost shard is its row of the coding matrix times the data, and the
        // data is the inverse times the survivors: so row x inverse gives the
        // coefficients that rebuild it from the survivors directly.
        let targets = lost.sorted()
        var decode = [UInt8](repeating: 0, count: targets.count * k)
        for (t, shard) in targets.enumerated() {
            for c in 0..<k {
                var value: UInt8 = 0
                for j in 0..<k { value ^= gf_mul(matrix[shard * k + j], inverse[j * k + c]) }
                decode[t * k + c] = value
            }
        }
        var tables = [UInt8](repeating: 0, count: 32 * k * targets.count)
        decode.withUnsafeMutableBufferPointer { d in
            tables.withUnsafeMutableBufferPointer { ec_init_tables(Int32(k), Int32(targets.count), d.baseAddress, $0.baseAddress) }
        }
        var sources = survivors.map { shards[$0].assumingMemoryBound(to: UInt8.self) as UnsafeMutablePointer<UInt8>? }
        var outputs = targets.map { shards[$0].assumingMemoryBound(to: UInt8.self) as UnsafeMutablePointer<UInt8>? }
        tables.withUnsafeMutableBufferPointer { t in
            sources.withUnsafeMutableBufferPointer { s in
                outputs.withUnsafeMutableBufferPointer { o in
                    ec_encode_data(Int32(length), Int32(k), Int32(targets.count), t.baseAddress, s.baseAddress, o.baseAddress)
                }
            }
        }
        return true
    }
}
