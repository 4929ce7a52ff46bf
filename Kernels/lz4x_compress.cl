// LZ4X block compressor: many frames per launch, each frame spread over many
// work-items in five passes (see docs/GPU.md for the picture).
//
//   chain_build   one work-item per SEG-byte segment: a sequential hash-chain
//                 pass over the segment with its own head tables, giving every
//                 position the previous position of its bucket in the segment
//                 (two chains: 8-byte and 5-byte hashes).
//   chain_link    one work-item per bucket: turns each segment's head table
//                 into "last position of this bucket before the segment" by a
//                 scan over the segments (launched once per chain).
//   chain_fix     one work-item per position: a position with no predecessor
//                 in its segment gets the one from earlier segments, so the
//                 chains are the exact frame-wide ones a sequential pass builds.
//   parse         one work-item per SUB-byte sub-block: greedy + lazy parse
//                 with the top-K candidates of the chain, matching anywhere
//                 earlier in the frame (16 MiB window), matches clipped to the
//                 sub-block. The first sequence is kept aside (its literal run
//                 absorbs the previous sub-block's trailing literals), the rest
//                 are encoded into a per-sub-block scratch area.
//   plan          one work-item per frame: scan over sub-blocks carrying the
//                 trailing literals forward, output offset of every sub-block.
//   assemble      one work-item per sub-block (+1 per frame for the final
//                 literals-only sequence): writes the first sequence, copies
//                 the scratch bytes to their place in the frame's block.
//
// Build options: -DHASH_BITS -DSEG -DSUB -DSUBCAP -DTOPK -DMAXSTEPS.

#define NONE 0xFFFFFFFFu
#define HASH_SIZE (1u << HASH_BITS)
#define MINMATCH 4
// A 4-byte match costs as much as its literals (token + 3-byte offset), so
// only matches of 5 or more are taken.
#define MIN_USEFUL 5
#define NICE_LENGTH 128   // stop searching once a match this long is found
#define SKIP_SHIFT 6      // after 2^6 misses in a row, step 2 bytes, and so on (as LZ4)
#define MAX_OFFSET 0xFFFFFFu
#define LAST_LITERALS 5   // the last 5 bytes of a block are literals
#define MF_LIMIT 12       // the last match starts at least 12 bytes before the end
#define REC 8             // uints per sub-block record

// Record fields, one record per sub-block.
#define R_HAS_MATCH 0
#define R_FIRST_LIT 1     // literals from the sub-block start to its first match
#define R_FIRST_LEN 2
#define R_FIRST_OFF 3
#define R_TAIL 4          // frame position after the last match
#define R_SCRATCH 5       // bytes in scratch
#define R_DST 6           // output offset (set by plan)
#define R_LIT_FROM 7      // where the first sequence's literals start (set by plan)

uint read32(__global const uchar *p)
{
    return p[0] | ((uint)p[1] << 8) | ((uint)p[2] << 16) | ((uint)p[3] << 24);
}

// Two chains per position, as the CPU encoder has two tables. The long
// chain links positions whose first 8 bytes hash alike: hashing 8 bytes
// keeps common short strings from crowding the few candidates a position
// looks at, so they tend to be long matches. The short chain links positions
// whose first 5 bytes hash alike; only its first link is used, to find the
// 5-7 byte matches the long chain cannot see.
#define HASH_BYTES 8
#define SHORT_BITS 16
#define SHORT_SIZE (1u << SHORT_BITS)
ulong read64(__global const uchar *p) { return as_ulong(vload8(0, p)); }
uint hash8(ulong v) { return (uint)((v * 0x9E3779B185EBCA87UL) >> (64 - HASH_BITS)); }
uint hash5(ulong v) { return (uint)(((v << 24) * 0x9E3779B185EBCA87UL) >> (64 - SHORT_BITS)); }

__kernel void chain_build(__global const uchar *input, __global const uint *lengths,
                          __global uint *prev, __global uint *heads,
                          __global uint *shortPrev, __global uint *shortHeads,
                          const uint frames, const ulong stride, const uint segsPerFrame)
{
    const uint gid = get_global_id(0);
    const uint frame = gid / segsPerFrame, seg = gid % segsPerFrame;
    if (frame >= frames) return;
    const uint n = lengths[frame];
    const uint start = seg * SEG;
    if (start >= n) return;
    __global const uchar *in = input + frame * stride;
    __global uint *pv = prev + frame * stride;
    __global uint *spv = shortPrev + frame * stride;
    __global uint *head = heads + ((ulong)frame * segsPerFrame + seg) * HASH_SIZE;
    __global uint *shead = shortHeads + ((ulong)frame * segsPerFrame + seg) * SHORT_SIZE;
    for (uint h = 0; h < HASH_SIZE; h++) head[h] = NONE;
    for (uint h = 0; h < SHORT_SIZE; h++) shead[h] = NONE;
    if (n < HASH_BYTES) return;
    const uint end = min(start + SEG, n - HASH_BYTES + 1);
    for (uint p = start; p < end; p++) {
        const ulong v = read64(in + p);
        const uint h = hash8(v), hs = hash5(v);
        pv[p] = head[h];
        head[h] = p;
        spv[p] = shead[hs];
        shead[hs] = p;
    }
}

// Run once per chain kind, `bits` being its table's size.
__kernel void chain_link(__global const uint *lengths, __global uint *heads,
                         const uint frames, const uint segsPerFrame, const uint bits)
{
    const uint gid = get_global_id(0);
    const uint size = 1u << bits;
    const uint frame = gid >> bits, bucket = gid & (size - 1);
    if (frame >= frames) return;
    const uint segs = (lengths[frame] + SEG - 1) / SEG;
    __global uint *head = heads + (ulong)frame * segsPerFrame * size + bucket;
    uint last = NONE;
    for (uint s = 0; s < segs; s++) {
        const uint here = head[(ulong)s * size];
        head[(ulong)s * size] = last;
        if (here != NONE) last = here;
    }
}

__kernel void chain_fix(__global const uchar *input, __global const uint *lengths,
                        __global uint *prev, __global const uint *heads,
                        __global uint *shortPrev, __global const uint *shortHeads,
                        const uint frames, const ulong stride, const uint segsPerFrame)
{
    const ulong gid = get_global_id(0);
    const uint frame = gid / stride;
    const uint p = gid % stride;
    if (frame >= frames) return;
    const uint n = lengths[frame];
    if (n < HASH_BYTES || p > n - HASH_BYTES || p < SEG) return;   // segment 0 has nothing before it
    __global uint *pv = prev + frame * stride;
    __global uint *spv = shortPrev + frame * stride;
    if (pv[p] != NONE && spv[p] != NONE) return;
    const ulong v = read64(input + frame * stride + p);
    const ulong seg = (ulong)frame * segsPerFrame + p / SEG;
    if (pv[p] == NONE) pv[p] = heads[seg * HASH_SIZE + hash8(v)];
    if (spv[p] == NONE) spv[p] = shortHeads[seg * SHORT_SIZE + hash5(v)];
}

typedef struct { uint len, off; } Match;

// Length of the common prefix of a and b, known to be at least `len`, at
// most `maxLen`: eight bytes per step, the first differing byte found from
// the lowest set bit of the xor (loads are little-endian on every device
// OpenCL runs on that we target).
uint match_length(__global const uchar *a, __global const uchar *b, uint len, uint maxLen)
{
    while (len + 8 <= maxLen) {
        const ulong x = as_ulong(vload8(0, a + len)) ^ as_ulong(vload8(0, b + len));
        if (x) return len + (63 - clz(x & (~x + 1))) / 8;
        len += 8;
    }
    while (len < maxLen && a[len] == b[len]) len++;
    return len;
}

// Longest match at p among the first TOPK candidates of its chain that
// share its first 4 bytes (at most MAXSTEPS links walked), no longer than
// `limit - p`; length 0 when none reaches MIN_USEFUL.
Match best_match(__global const uchar *in, __global const uint *pv, __global const uint *spv,
                        uint p, uint limit)
{
    Match m = { 0, 0 };
    const uint maxLen = limit - p;
    if (maxLen < MIN_USEFUL) return m;
    const uint head4 = read32(in + p);
    uint best = MIN_USEFUL - 1;
    uint c = pv[p];
    for (uint step = 0, found = 0; step < MAXSTEPS && found < TOPK && c != NONE; step++, c = pv[c]) {
        if (p - c > MAX_OFFSET) break;   // the chain only gets older
        // Hash collisions do not count as candidates; MAXSTEPS bounds them.
        if (read32(in + c) != head4) continue;
        found++;
        if (in[c + best] != in[p + best]) continue;   // cannot beat the best
        const uint len = match_length(in + c, in + p, 0, maxLen);
        if (len > best) {
            best = len; m.len = len; m.off = p - c;
            if (len >= NICE_LENGTH || len == maxLen) break;
        }
    }
    // The long chain only finds matches of 8 bytes or more; the short
    // chain's latest entry may offer a shorter one.
    c = spv[p];
    if (best < HASH_BYTES && c != NONE && p - c <= MAX_OFFSET && read32(in + c) == head4) {
        const uint len = match_length(in + c, in + p, 0, maxLen);
        if (len > best) { m.len = len; m.off = p - c; }
    }
    return m;
}

uint put_length(__global uchar *o, uint extra)
{
    uint k = 0;
    while (extra >= 255) { o[k++] = 255; extra -= 255; }
    o[k++] = (uchar)extra;
    return k;
}

// Bytes a sequence header adds besides its literals: token, extensions, offset.
uint header_size(uint lit, uint len)
{
    uint size = 1 + 3;
    if (lit >= 15) size += 1 + (lit - 15) / 255;
    if (len - MINMATCH >= 15) size += 1 + (len - MINMATCH - 15) / 255;
    return size;
}

// Writes one sequence; `len` 0 means the literals-only last sequence.
uint put_sequence(__global uchar *o, __global const uchar *lits, uint lit, uint len, uint off)
{
    uint k = 1;
    const uint ml = len ? len - MINMATCH : 0;
    o[0] = (uchar)((min(lit, 15u) << 4) | min(ml, 15u));
    if (lit >= 15) k += put_length(o + k, lit - 15);
    for (uint i = 0; i < lit; i++) o[k + i] = lits[i];
    k += lit;
    if (len == 0) return k;
    o[k] = (uchar)off; o[k + 1] = (uchar)(off >> 8); o[k + 2] = (uchar)(off >> 16);
    k += 3;
    if (ml >= 15) k += put_length(o + k, ml - 15);
    return k;
}

__kernel void parse(__global const uchar *input, __global const uint *lengths,
                    __global const uint *prev, __global const uint *shortPrev,
                    __global uchar *scratch, __global uint *records,
                    const uint frames, const ulong stride, const uint subsPerFrame)
{
    const uint gid = get_global_id(0);
    const uint frame = gid / subsPerFrame, sub = gid % subsPerFrame;
    if (frame >= frames) return;
    const uint n = lengths[frame];
    const uint s0 = sub * SUB;
    if (s0 >= n) return;
    const uint s1 = min(s0 + SUB, n);
    __global const uchar *in = input + frame * stride;
    __global const uint *pv = prev + frame * stride;
    __global const uint *spv = shortPrev + frame * stride;
    __global uchar *o = scratch + ((ulong)frame * subsPerFrame + sub) * SUBCAP;
    __global uint *rec = records + ((ulong)frame * subsPerFrame + sub) * REC;

    // Matches start at most at n - MF_LIMIT and end by n - LAST_LITERALS;
    // inside the frame they end at the sub-block's end.
    const uint startLimit = n >= MF_LIMIT + 1 ? min(s1, n - MF_LIMIT + 1) : s0;
    const uint endLimit = n >= LAST_LITERALS ? min(s1, n - LAST_LITERALS) : s0;
    uint p = s0, anchor = s0, written = 0, sequences = 0, misses = 0;
    while (p < startLimit) {
        Match m = best_match(in, pv, spv, p, endLimit);
        if (m.len < MIN_USEFUL) { misses++; p += 1 + (misses >> SKIP_SHIFT); continue; }
        misses = 0;
        // Lazy matching: a longer match one byte later is worth a literal.
        while (m.len < NICE_LENGTH && p + 1 < startLimit) {
            const Match next = best_match(in, pv, spv, p + 1, endLimit);
            if (next.len <= m.len) break;
            m = next;
            p++;
        }
        // Extend backwards over literals (not past the sub-block start,
        // whose bytes before it belong to the previous work-item).
        while (p > anchor && p > m.off && in[p - 1] == in[p - 1 - m.off]) { p--; m.len++; }
        if (sequences == 0) {
            rec[R_FIRST_LIT] = p - s0; rec[R_FIRST_LEN] = m.len; rec[R_FIRST_OFF] = m.off;
        } else {
            written += put_sequence(o + written, in + anchor, p - anchor, m.len, m.off);
        }
        sequences++;
        p += m.len;
        anchor = p;
    }
    rec[R_HAS_MATCH] = sequences > 0;
    rec[R_TAIL] = anchor;
    rec[R_SCRATCH] = written;
}

// Per-frame results of plan, INFO uints per frame.
#define INFO 3
#define I_TOTAL 0         // block size, or NONE when it exceeds the output capacity
#define I_FINAL_AT 1      // offset of the final literals-only sequence
#define I_FINAL_LIT 2     // its literal count

__kernel void plan(__global const uint *lengths, __global uint *records, __global uint *info,
                   const uint frames, const uint subsPerFrame, const uint outCapacity)
{
    const uint frame = get_global_id(0);
    if (frame >= frames) return;
    const uint n = lengths[frame];
    const uint subs = (n + SUB - 1) / SUB;
    __global uint *recs = records + (ulong)frame * subsPerFrame * REC;
    ulong pos = 0;
    uint carry = 0;   // literals waiting for the next sequence with a match
    for (uint i = 0; i < subs; i++) {
        __global uint *rec = recs + i * REC;
        const uint s0 = i * SUB, s1 = min(s0 + SUB, n);
        if (!rec[R_HAS_MATCH]) { carry += s1 - s0; continue; }
        const uint lit = carry + rec[R_FIRST_LIT];
        rec[R_DST] = (uint)min(pos, (ulong)NONE);
        rec[R_LIT_FROM] = s0 - carry;
        pos += header_size(lit, rec[R_FIRST_LEN]) + lit + rec[R_SCRATCH];
        carry = s1 - rec[R_TAIL];
    }
    const ulong total = pos + 1 + (carry >= 15 ? 1 + (carry - 15) / 255 : 0) + carry;
    __global uint *out = info + frame * INFO;
    out[I_TOTAL] = total <= outCapacity ? (uint)total : NONE;
    out[I_FINAL_AT] = (uint)min(pos, (ulong)NONE);
    out[I_FINAL_LIT] = carry;
}

__kernel void assemble(__global const uchar *input, __global const uint *lengths,
                       __global const uchar *scratch, __global const uint *records,
                       __global const uint *info, __global uchar *output,
                       const uint frames, const ulong stride, const uint subsPerFrame, const ulong outStride)
{
    const uint gid = get_global_id(0);
    const uint frame = gid / (subsPerFrame + 1), sub = gid % (subsPerFrame + 1);
    if (frame >= frames) return;
    __global const uint *fi = info + frame * INFO;
    if (fi[I_TOTAL] == NONE) return;   // did not fit: the caller stores the frame raw
    const uint n = lengths[frame];
    const uint subs = (n + SUB - 1) / SUB;
    __global const uchar *in = input + frame * stride;
    __global uchar *out = output + frame * outStride;
    if (sub == subs) {   // the extra work-item writes the final literals-only sequence
        const uint lit = fi[I_FINAL_LIT];
        put_sequence(out + fi[I_FINAL_AT], in + n - lit, lit, 0, 0);
        return;
    }
    if (sub > subs) return;
    __global const uint *rec = records + ((ulong)frame * subsPerFrame + sub) * REC;
    if (!rec[R_HAS_MATCH]) return;
    const uint from = rec[R_LIT_FROM];
    const uint lit = sub * SUB + rec[R_FIRST_LIT] - from;
    __global uchar *o = out + rec[R_DST];
    const uint k = put_sequence(o, in + from, lit, rec[R_FIRST_LEN], rec[R_FIRST_OFF]);
    __global const uchar *s = scratch + ((ulong)frame * subsPerFrame + sub) * SUBCAP;
    const uint count = rec[R_SCRATCH];
    for (uint i = 0; i < count; i++) o[k + i] = s[i];
}
