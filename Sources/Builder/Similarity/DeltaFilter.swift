/// Palantir's false-positive filter: a delta is worth keeping only if it
/// shrinks its chunk more than plain lossless compression would. The
/// benchmark is the average lossless ratio (length / compressed length) of
/// the last L chunks, a cheap running estimate of what storing the chunk
/// literally in a compressed frame would achieve.
public struct DeltaFilter: Sendable {
    public let historyLength: Int
    private var ratios: [Double] = []
    private var nextSlot = 0
    private var sum = 0.0

    /// How many times the average lossless ratio a delta must reach.
    public let margin: Double

    public init(historyLength: Int = 64, margin: Double = 1) {
        precondition(historyLength >= 1, "the filter needs at least one chunk of history")
        precondition(margin >= 1, "a delta must at least beat lossless compression")
        self.historyLength = historyLength
        self.margin = margin
    }

    /// Records the lossless compression of one chunk.
    public mutating func record(length: Int, compressedLength: Int) {
        let ratio = Double(length) / Double(max(compressedLength, 1))
        if ratios.count < historyLength {
            ratios.append(ratio)
        } else {
            sum -= ratios[nextSlot]
            ratios[nextSlot] = ratio
            nextSlot = (nextSlot + 1) % historyLength
        }
        sum += ratio
    }

    /// Average lossless ratio over the history; 1 (no gain) before any chunk.
    public var averageRatio: Double {
        ratios.isEmpty ? 1 : sum / Double(ratios.count)
    }

    /// True when a delta of `deltaLength` bytes for a chunk of `length` bytes
    /// beats `margin` times the average lossless ratio (and so is smaller
    /// than the chunk).
    public func accepts(length: Int, deltaLength: Int) -> Bool {
        Double(length) / Double(max(deltaLength, 1)) > max(averageRatio, 1) * margin
    }
}
