import Glibc
import Archive

/// How the encoder looks for a match at each position.
public enum LZ4XSearch: Sendable, Equatable {
    /// K-way hash buckets (`candidates`), all checked for the longest match,
    /// a one-way short-hash table beside them, optional lazy matching: the
    /// original encoder, and the top levels.
    case buckets
    /// One probe of a one-way table per position, the first match taken, no
    /// lazy step, and a search step that grows over input that keeps
    /// missing (`LZ4XFastParse`): LZ4's fast parse, for the low levels.
    /// `hashBytes` (5 ... 8): how many bytes a table entry is hashed on.
    case fast(hashBytes: Int)
}

public struct LZ4XEncoderOptions: Sendable, Equatable {
    /// How matches are searched; the options below apply to `.buckets`
    /// except `hashLog` (the fast table's size) and `prefixStep`.
    public var search: LZ4XSearch
    /// Top-K: positions kept per hash bucket (all are checked; the longest match wins), 1 ... 64.
    public var candidates: Int
    /// Stop searching as soon as a match this long is found.
    public var niceLength: Int
    /// Lazy matching: before committing a match at p, see whether p + 1 has a longer one.
    public var lazy: Bool

    /// Positions of a prefix dictionary (a delta's base) entered in the hash
    /// tables: every one (1), or every `prefixStep`-th. A match into the base
    /// is then found at most `prefixStep - 1` bytes late and extended back
    /// over the literals it skipped, so long matches (what deltas are made
    /// of) come out nearly the same while entering the base, most of a small
    /// delta's cost, gets that many times cheaper.
    public var prefixStep: Int
    /// log2 of the bucket counts of the long (K-way) and the short (one-way)
    /// hash table. The frame defaults (17, 16: 4.25 MiB at K = 8) suit 16 MiB
    /// frames; a small input (a delta: base + chunk, a few KiB) gets the same
    /// matches from tables that stay in the L2 cache.
    public var hashLog: Int
    public var shortHashLog: Int

    public init(search: LZ4XSearch = .buckets, candidates: Int = 8, niceLength: Int = 128, lazy: Bool = true, prefixStep: Int = 1,
                hashLog: Int = LZ4XEncoder.defaultHashLog, shortHashLog: Int = LZ4XEncoder.defaultShortHashLog) {
        if case .fast(let bytes) = search {
            self.search = .fast(hashBytes: min(max(bytes, 5), 8))
        } else {
            self.search = search
        }
        self.candidates = candidates
        self.niceLength = niceLength
        self.lazy = lazy
        self.prefixStep = max(1, prefixStep)
        self.hashLog = min(max(hashLog, 8), 24)
        self.shortHashLog = min(max(shortHashLog, 8), 24)
    }

    public static let `default` = LZ4XEncoderOptions()
}

/// Reusable encoder: owns its hash tables (reuse across frames; one per thread). Not thread-safe.
public final class LZ4XEncoder {
    public let options: LZ4XEncoderOptions

    // Table shapes picked on ~40 MB of headers and docs (codec-bench): hashing 8 bytes into the
    // K-way table beat 4/5/6/7 on ratio (fewer buckets crowded by common short strings), and a
    // one-way 5-byte table recovers the short matches the 8-byte hash cannot see (+1% ratio).
    // 2^17 buckets: 4 MiB at K = 8; 2^18 gave +1.3% ratio for twice the memory.
    public static let defaultHashLog = 17
    static let hashBytes = 8
    public static let defaultShortHashLog = 16
    static let shortHashBytes = 5
    /// A 4-byte match costs as much as its literals (token + 3-byte offset), so only 5+ pays.
    static let minUsefulMatch = 5
    /// After this many consecutive misses, the search step grows by one (as LZ4's skip).
    static let skipShift = 6

    static let hugePage = 2 << 20

    private let k: Int
    /// bucketCount buckets of k positions, most recent first, stored as `epoch + position`.
    /// A value below the current epoch belongs to an earlier call and is ignored, so the tables
    /// need no clearing between frames and a reused encoder encodes exactly like a fresh one.
    private let slots: UnsafeMutablePointer<UInt32>
    private let shortSlots: UnsafeMutablePointer<UInt32>
    /// Entries of all tables together (they are one allocation from `slots` on).
    private let tableEntries: Int
    private var epoch: UInt32 = 1

    public init(options: LZ4XEncoderOptions = .default) {
        self.options = options
        k = min(max(options.candidates, 1), 64)
        let buckets = 1 << options.hashLog
        // One allocation for both tables, aligned to 2 MiB and marked for transparent huge
        // pages: every probe lands on a random bucket, and with 4 KiB pages most of them
        // missed the TLB as well as the cache. The alignment also keeps a bucket in one line.
        // The fast parse has one one-way table of 64-bit entries.
        let count = options.search == .buckets ? buckets * k + (1 << options.shortHashLog) : 2 * buckets
        let bytes = count * 4
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.hugePage)
        // Whole huge pages inside the allocation only (all of the K = 8 buckets).
        _ = madvise(raw, bytes & ~(Self.hugePage - 1), Int32(MADV_HUGEPAGE))
        slots = raw.bindMemory(to: UInt32.self, capacity: count)
        slots.initialize(repeating: 0, count: count)
        tableEntries = count
        shortSlots = options.search == .buckets ? slots + buckets * k : slots
    }

    deinit {
        UnsafeMutableRawPointer(slots).deallocate()
    }

    /// Compresses input[prefixLength...]; matches may reach back into input[0..<prefixLength]
    /// (a prefix dictionary: used for delta chunks encoded against a base). Returns the number of
    /// bytes written to `output`, or nil when the encoding would not fit in output.count
    /// (callers pass output.count == input size - prefix to get "nil = did not shrink, store RAW").
    public func compress(_ input: UnsafeRawBufferPointer, prefixLength: Int = 0,
                         into output: UnsafeMutableRawBufferPointer) -> Int? {
        let n = input.count
        precondition(prefixLength >= 0 && prefixLength <= n, "prefixLength out of range")
        precondition(n < Int(UInt32.max / 2), "input too large")
        guard let out = output.baseAddress else { return nil }
        guard let src = input.baseAddress, n > prefixLength else {
            // Empty block: the single token 0x00.
            guard output.count >= 1 else { return nil }
            out.storeBytes(of: 0, as: UInt8.self)
            return 1
        }
        if UInt64(epoch) + UInt64(n) >= UInt64(UInt32.max) {
            slots.update(repeating: 0, count: tableEntries)
            epoch = 1
        }
        let niceLength = max(options.niceLength, Self.minUsefulMatch)
        let e = epoch
        epoch += UInt32(n)
        if case .fast(let hashBytes) = options.search {
            return LZ4XFastParse(src: src, n: n, table: UnsafeMutableRawPointer(slots), hashLog: options.hashLog, hashBytes: hashBytes, epoch: e)
                .encode(start: prefixLength, prefixStep: options.prefixStep, output: output)
        }
        switch k {
        case 8:
            return encode(LZ4XMatchFinder<LZ4XWays8>(src: src, n: n, slots: slots, shortSlots: shortSlots, k: k,
                                                     epoch: e, niceLength: niceLength,
                                                     hashLog: options.hashLog, shortHashLog: options.shortHashLog),
                          src: src, n: n, start: prefixLength, output: output)
        case 1:
            return encode(LZ4XMatchFinder<LZ4XWays1>(src: src, n: n, slots: slots, shortSlots: shortSlots, k: k,
                                                     epoch: e, niceLength: niceLength,
                                                     hashLog: options.hashLog, shortHashLog: options.shortHashLog),
                          src: src, n: n, start: prefixLength, output: output)
        default:
            return encode(LZ4XMatchFinder<LZ4XWaysAny>(src: src, n: n, slots: slots, shortSlots: shortSlots, k: k,
                                                       epoch: e, niceLength: niceLength,
                                                       hashLog: options.hashLog, shortHashLog: options.shortHashLog),
                          src: src, n: n, start: prefixLength, output: output)
        }
    }

    /// The parse, specialized per bucket width.
    private func encode<W: LZ4XBucketWays>(_ finder: LZ4XMatchFinder<W>, src: UnsafeRawPointer, n: Int,
                                           start: Int, output: UnsafeMutableRawBufferPointer) -> Int? {
        var writer = LZ4XSequenceWriter(out: output.baseAddress!, capacity: output.count)
        let lazy = options.lazy
        var anchor = start
        if n - start >= LZ4X.matchStartMargin + 1 {
            finder.insertRange(from: 0, to: start, step: options.prefixStep)
            let lastStart = n - LZ4X.matchStartMargin
            var p = start
            var misses = 0
            while p <= lastStart {
                var (len, cand) = finder.findAndInsert(p)
                if len < Self.minUsefulMatch {
                    misses += 1
                    p += 1 + misses >> Self.skipShift
                    continue
                }
                misses = 0
                var searched = p
                if lazy {
                    while len < finder.niceLength && p + 1 <= lastStart {
                        let (len1, cand1) = finder.findAndInsert(p + 1)
                        searched = p + 1
                        guard len1 > len else { break }
                        p += 1
                        len = len1
                        cand = cand1
                    }
                }
                // Extend backwards over literals the hash probe skipped.
                while p > anchor && cand > 0 && src.load(fromByteOffset: p - 1, as: UInt8.self)
                    == src.load(fromByteOffset: cand - 1, as: UInt8.self) {
                    p -= 1
                    cand -= 1
                    len += 1
                }
                guard writer.sequence(literals: src + anchor, count: p - anchor,
                                      offset: p - cand, matchLength: len) else { return nil }
                let end = p + len
                finder.insertInside(from: searched + 1, to: end)
                p = end
                anchor = p
            }
        }
        guard writer.lastLiterals(src + anchor, count: n - anchor) else { return nil }
        return writer.written
    }
}
