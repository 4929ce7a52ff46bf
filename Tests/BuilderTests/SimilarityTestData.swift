@testable import Builder

/// Deterministic generator for similarity tests: every run sees the same bytes.
struct SimilarityTestRNG {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SimilarityHashing.mix(state)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }

    /// Source-code-like text: lines of words from a fixed vocabulary, so
    /// lossless compression gains something, as on real trees.
    mutating func text(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        while out.count < count {
            let word = Self.vocabulary[below(Self.vocabulary.count)]
            out.append(contentsOf: word)
            out.append(below(8) == 0 ? 10 : 32)
        }
        return Array(out.prefix(count))
    }

    private static let vocabulary: [[UInt8]] = {
        var rng = SimilarityTestRNG(seed: 99)
        return (0..<3000).map { _ in (0..<(2 + rng.below(9))).map { _ in UInt8(97 + rng.below(26)) } }
    }()
}

/// The edits a backup sees between versions, applied at random places.
enum SimilarityEdit: CaseIterable {
    case insertion, deletion, byteEdits, movedBlock
}

extension SimilarityTestRNG {
    /// `data` with `count` random edits of the given kinds.
    mutating func edited(_ data: [UInt8], count: Int, kinds: [SimilarityEdit] = SimilarityEdit.allCases) -> [UInt8] {
        var out = data
        for _ in 0..<count {
            let position = below(max(out.count, 1))
            switch kinds[below(kinds.count)] {
            case .insertion:
                out.insert(contentsOf: text(10 + below(300)), at: position)
            case .deletion:
                out.removeSubrange(position..<min(out.count, position + 10 + below(300)))
            case .byteEdits:
                for _ in 0..<(1 + below(4)) where !out.isEmpty { out[below(out.count)] = UInt8(truncatingIfNeeded: next()) }
            case .movedBlock:
                let length = min(out.count - position, 1024 + below(3072))
                let block = Array(out[position..<(position + length)])
                out.removeSubrange(position..<(position + length))
                out.insert(contentsOf: block, at: below(out.count + 1))
            }
        }
        return out
    }
}
