// LZ4X block compressor for CPU devices: one work-item per frame, running
// the CPU encoder's algorithm (Sources/Archive/Codec/LZ4XEncoder.swift and
// LZ4XMatchFinder.swift) step for step, so its blocks are byte-identical to
// LZ4XEncoder's with the default options.
//
// Why a separate kernel: a CPU OpenCL driver has a handful of cores. The
// fine-grained decomposition of lz4x_compress.cl (chain passes over every
// position, then parsing in 16 KiB sub-blocks) exists to give a GPU
// thousands of work-items; on a CPU its chain passes are pure extra work,
// and parsing through linked chains costs dependent memory reads where the
// CPU encoder reads one 32-byte bucket. Here the parallelism is across
// frames: a launch carries about one frame per compute unit.
//
// Tables, per frame, in `tables` (TABLE_UINTS uints each, cleared by the
// kernel): 2^17 buckets of the 8 most recent positions with the same 8-byte
// hash (most recent first), then 2^16 single entries for a 5-byte hash.
// Entries hold position + 1; 0 is empty.
//
// Buffers are padded by the host: every frame's input has PAD readable
// bytes after it and every output PAD writable bytes after its LZ4 bound,
// so literal copies may move whole 16-byte chunks.

#define HASH_LOG 17
#define WAYS 8
#define SHORT_LOG 16
#define TABLE_UINTS ((WAYS << HASH_LOG) + (1 << SHORT_LOG))
#define MIN_MATCH 4
#define MIN_USEFUL 5      // a 4-byte match costs as much as its literals
#define HASH_BYTES 8
#define NICE_LENGTH 128   // stop searching once a match this long is found
#define SKIP_SHIFT 6      // after 2^6 misses in a row, step one byte further
#define MAX_OFFSET 0xFFFFFFu
#define LAST_LITERALS 5   // the last 5 bytes of a block are literals
#define MF_LIMIT 12       // the last match starts at least 12 bytes before the end
#define INSIDE_EDGE 16    // positions inserted at each end of a long match
#define NONE 0xFFFFFFFFu

// Unaligned scalar and vector accesses. vload/vstore of uchar vectors
// compile to one move per byte on PoCL 3; a type with its alignment lowered
// to 1 gives single unaligned moves, which CPUs do well.
typedef ulong __attribute__((aligned(1))) ulong_u;
typedef uint __attribute__((aligned(1))) uint_u;
typedef uchar16 __attribute__((aligned(1))) uchar16_u;
#define LOAD64(p) (*(__global const ulong_u *)(p))
#define LOAD32(p) (*(__global const uint_u *)(p))
#define STORE32(p, v) (*(__global uint_u *)(p) = (v))
#define COPY16(d, s) (*(__global uchar16_u *)(d) = *(__global const uchar16_u *)(s))

#define INLINE inline __attribute__((always_inline))

INLINE uint long_hash(ulong v) { return (uint)((v * 0x9E3779B185EBCA87UL) >> (64 - HASH_LOG)); }
INLINE uint short_hash(ulong v) { return (uint)(((v << 24) * 0x9E3779B185EBCA87UL) >> (64 - SHORT_LOG)); }

// Common-prefix length of in[p...] and in[c...], at most `limit`.
INLINE uint match_length(__global const uchar *restrict in, uint p, uint c, uint limit)
{
    uint len = 0;
    while (len + 8 <= limit) {
        const ulong x = LOAD64(in + p + len) ^ LOAD64(in + c + len);
        if (x) return len + (63 - clz(x & (~x + 1))) / 8;
        len += 8;
    }
    while (len < limit && in[p + len] == in[c + len]) len++;
    return len;
}

// Records position p (value p + 1) in its bucket and its short entry.
INLINE void insert_hashed(__global uint *restrict slots, __global uint *restrict shortSlots,
                          uint p, ulong v)
{
    __global uint8 *bucket = (__global uint8 *)(slots + long_hash(v) * WAYS);
    const uint8 b = *bucket;
    *bucket = (uint8)(p + 1, b.s0, b.s1, b.s2, b.s3, b.s4, b.s5, b.s6);
    shortSlots[short_hash(v)] = p + 1;
}

INLINE void insert(__global const uchar *restrict in, __global uint *restrict slots,
                   __global uint *restrict shortSlots, uint p, uint lastHashable)
{
    if (p <= lastHashable) insert_hashed(slots, shortSlots, p, LOAD64(in + p));
}

// Longest match for p among its bucket's candidates and its short entry
// (length 0 when none reaches MIN_USEFUL); then records p. *cand gets the
// match's position.
INLINE uint find_and_insert(__global const uchar *restrict in, __global uint *restrict slots,
                            __global uint *restrict shortSlots, uint p, uint matchLimit, uint *cand)
{
    const ulong v8 = LOAD64(in + p);
    __global uint8 *bucket = (__global uint8 *)(slots + long_hash(v8) * WAYS);
    const uint8 b = *bucket;
    const uint limit = matchLimit - p;
    const uint head4 = (uint)v8;
    uint best = MIN_USEFUL - 1, bestCand = 0;
    uint c8[WAYS];
    vstore8(b, 0, c8);
    for (uint i = 0; i < WAYS; i++) {
        const uint v = c8[i];
        if (v == 0) break;             // empty: the rest of the bucket is too
        const uint c = v - 1;
        if (c >= p) continue;
        if (p - c > MAX_OFFSET) break;  // older entries are further still
        // Cheap rejections: the byte that would make this one longer, then the first 4.
        if (best >= limit || in[c + best] != in[p + best] || LOAD32(in + c) != head4) continue;
        const uint len = match_length(in, p, c, limit);
        if (len > best) {
            best = len;
            bestCand = c;
            if (len >= NICE_LENGTH) break;
        }
    }
    const uint hs = short_hash(v8);
    if (best < HASH_BYTES) {
        // The long table only finds matches of 8 bytes or more; try the short one.
        const uint v = shortSlots[hs];
        const uint c = v - 1;
        if (v != 0 && c < p && p - c <= MAX_OFFSET && best < limit && LOAD32(in + c) == head4) {
            const uint len = match_length(in, p, c, limit);
            if (len > best) { best = len; bestCand = c; }
        }
    }
    *bucket = (uint8)(p + 1, b.s0, b.s1, b.s2, b.s3, b.s4, b.s5, b.s6);
    shortSlots[hs] = p + 1;
    if (best < MIN_USEFUL) return 0;
    *cand = bestCand;
    return best;
}

INLINE uint extension_bytes(uint value) { return value < 15 ? 0 : (value - 15) / 255 + 1; }

INLINE uint put_extension(__global uchar *restrict o, uint w, uint value)
{
    uint rest = value - 15;
    while (rest >= 255) { o[w++] = 255; rest -= 255; }
    o[w++] = (uchar)rest;
    return w;
}

// Literals in 16-byte chunks (may write up to 15 bytes past, into the
// padding or bytes that are rewritten next).
INLINE void copy_literals(__global uchar *restrict d, __global const uchar *restrict s, uint count)
{
    for (uint k = 0; k < count; k += 16) COPY16(d + k, s + k);
}

__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void compress_frame(__global const uchar *restrict input, __global const uint *restrict lengths,
                    __global uint *restrict tables, __global uchar *restrict output,
                    __global uint *restrict sizes,
                    const uint frames, const ulong stride, const ulong outStride)
{
    const uint frame = get_global_id(0);
    if (frame >= frames) return;
    const uint n = lengths[frame];
    __global const uchar *restrict in = input + frame * stride;
    __global uchar *restrict o = output + frame * outStride;
    const uint capacity = n + n / 255 + 16;   // LZ4X.compressBound: always enough
    uint w = 0;
    if (n == 0) {   // empty block: the single token 0x00
        o[0] = 0;
        sizes[frame] = 1;
        return;
    }
    uint anchor = 0;
    if (n >= MF_LIMIT + 1) {
        __global uint *restrict slots = tables + (ulong)frame * TABLE_UINTS;
        __global uint *restrict shortSlots = slots + (WAYS << HASH_LOG);
        for (uint i = 0; i < TABLE_UINTS; i += 16) *(__global uint16 *)(slots + i) = (uint16)(0);

        const uint lastStart = n - MF_LIMIT;
        const uint matchLimit = n - LAST_LITERALS;
        const uint lastHashable = n - 8;
        uint p = 0, misses = 0;
        while (p <= lastStart) {
            uint cand = 0;
            uint len = find_and_insert(in, slots, shortSlots, p, matchLimit, &cand);
            if (len < MIN_USEFUL) {
                misses++;
                p += 1 + (misses >> SKIP_SHIFT);
                continue;
            }
            misses = 0;
            uint searched = p;
            // Lazy matching: a longer match one byte later is worth a literal.
            while (len < NICE_LENGTH && p + 1 <= lastStart) {
                uint cand1 = 0;
                const uint len1 = find_and_insert(in, slots, shortSlots, p + 1, matchLimit, &cand1);
                searched = p + 1;
                if (len1 <= len) break;
                p++;
                len = len1;
                cand = cand1;
            }
            // Extend backwards over literals the hash probe skipped.
            while (p > anchor && cand > 0 && in[p - 1] == in[cand - 1]) { p--; cand--; len++; }

            const uint lit = p - anchor, ml = len - MIN_MATCH, off = p - cand;
            if (1 + extension_bytes(lit) + lit + 3 + extension_bytes(ml) > capacity - w) {
                sizes[frame] = NONE;
                return;
            }
            o[w++] = (uchar)((min(lit, 15u) << 4) | min(ml, 15u));
            if (lit >= 15) w = put_extension(o, w, lit);
            copy_literals(o + w, in + anchor, lit);
            w += lit;
            STORE32(o + w, off);   // 3 bytes; the fourth is rewritten next
            w += 3;
            if (ml >= 15) w = put_extension(o, w, ml);

            const uint end = p + len;
            const uint from = searched + 1;
            // Positions inside the match: all of a short one, only the
            // ends of a long one (where later matches tend to start).
            if (end - from <= 2 * INSIDE_EDGE) {
                for (uint q = from; q < end; q++) insert(in, slots, shortSlots, q, lastHashable);
            } else {
                for (uint q = from; q < from + INSIDE_EDGE; q++) insert(in, slots, shortSlots, q, lastHashable);
                for (uint q = end - INSIDE_EDGE; q < end; q++) insert(in, slots, shortSlots, q, lastHashable);
            }
            p = end;
            anchor = p;
        }
    }
    const uint lit = n - anchor;
    if (1 + extension_bytes(lit) + lit > capacity - w) {
        sizes[frame] = NONE;
        return;
    }
    o[w++] = (uchar)(min(lit, 15u) << 4);
    if (lit >= 15) w = put_extension(o, w, lit);
    copy_literals(o + w, in + anchor, lit);
    sizes[frame] = w + lit;
}
