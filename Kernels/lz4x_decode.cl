// LZ4X block decoder: one work-group per frame, many frames per launch.
// WG == 1 selects a plain sequential decoder (for CPU drivers); otherwise:
//
// Lane 0 parses up to BATCH sequences into local memory (all bounds checks
// happen there, so a hostile frame can only set an error code). Then every
// lane copies: first all literal bytes of the batch (they come from the
// input, so they are independent of each other), then the matches in
// "waves": consecutive matches whose source bytes were written before the
// wave began, so they can be copied in parallel with one barrier per wave.
// A match shorter than its offset repeats a period: byte k of it equals
// byte (k mod offset) of its source, which lets lanes copy overlapping
// matches without waiting on each other.
//
// Build options: -DWG=<work-group size> -DBATCH=<sequences per round>.

#define ERR_TRUNCATED 1   // the input ends inside a sequence
#define ERR_OVERFLOW 2    // the output would exceed the frame's decoded size
#define ERR_OFFSET 3      // a match reaches before the start of the frame
#define ERR_SIZE 4        // the frame decoded to fewer bytes than expected

// Adds a length's extension bytes (runs of 255 ended by a smaller byte, read
// at in[*ip]) to *n, whose nibble was 15. Stops adding once *n passes `limit`,
// so a hostile run of 255s can neither overflow nor run long; the caller's
// bounds check then refuses it.
int read_length_extension(__global const uchar *in, uint inLen, uint *ip, uint *n, uint limit)
{
    uint b;
    do {
        if (*ip >= inLen) return ERR_TRUNCATED;
        b = in[(*ip)++];
        *n += b;
    } while (b == 255 && *n <= limit);
    return 0;
}

// Reads a sequence's 3-byte offset and match length (after its literals);
// the match must start inside the output written so far (op bytes) and end
// inside the frame (outCap bytes).
int read_match(__global const uchar *in, uint inLen, uint *ip, uint token, uint op, uint outCap,
               uint *off, uint *len)
{
    if (inLen - *ip < 3) return ERR_TRUNCATED;
    *off = in[*ip] | ((uint)in[*ip + 1] << 8) | ((uint)in[*ip + 2] << 16);
    *ip += 3;
    if (*off == 0 || *off > op) return ERR_OFFSET;
    *len = token & 15;
    if (*len == 15) {
        int e = read_length_extension(in, inLen, ip, len, outCap);
        if (e) return e;
    }
    *len += 4;
    if (*len > outCap - op) return ERR_OVERFLOW;
    return 0;
}

#if WG == 1
// Wide copies for the sequential decoder. "Wild" copies move whole 16-byte
// (or 8-byte) chunks and may write up to 15 bytes past the wanted end; the
// caller only uses them where the frame's output has that much room left
// (so a frame never touches its neighbour's bytes) and the input has as
// much left to read. Bytes written past the end are rewritten by what
// follows, as in the CPU decoder.
//
// vload16/vstore16 compile to sixteen byte moves on PoCL 3; a vector type
// with its alignment lowered to 1 gives one unaligned 16-byte move, which is
// what x86 and ARM CPUs do best (this variant only runs on CPU devices).
typedef uchar16 __attribute__((aligned(1))) uchar16_u;
typedef ulong __attribute__((aligned(1))) ulong_u;
typedef uint __attribute__((aligned(1))) uint_u;
#define COPY16(d, s) (*(__global uchar16_u *)(d) = *(__global const uchar16_u *)(s))
#define COPY8(d, s) (*(__global ulong_u *)(d) = *(__global const ulong_u *)(s))

inline __attribute__((always_inline))
void wild_copy16(__global uchar *restrict d, __global const uchar *restrict s, uint n)
{
    uint k = 0;
    do { COPY16(d + k, s + k); k += 16; } while (k < n);
}

// A match of `len` bytes from `off` back, LZ4 semantics (an overlapping
// match repeats its period). `room` is the output space after the match:
// with 16 or more, wide copies may overshoot; otherwise exact bytes.
inline __attribute__((always_inline))
void copy_match(__global uchar *out, uint op, uint off, uint len, uint room)
{
    __global uchar *d = out + op;
    __global const uchar *s = d - off;
    if (room < 16) {
        for (uint k = 0; k < len; k++) d[k] = s[k];
        return;
    }
    if (off >= 16) {
        // Each 16-byte read ends at or before the byte the same step writes
        // first, so it only reads bytes already final.
        uint k = 0;
        do { COPY16(d + k, s + k); k += 16; } while (k < len);
    } else if (off >= 8) {
        uint k = 0;
        do { COPY8(d + k, s + k); k += 8; } while (k < len);
    } else {
        // Short period: the first 8 bytes one at a time, then 8-byte steps
        // from the smallest multiple of the period that is >= 8 back, which
        // repeats the same pattern and reads only bytes already written.
        for (uint k = 0; k < 8; k++) d[k] = s[k];
        const uint stride = (7 / off + 1) * off;
        for (uint k = 8; k < len; k += 8) COPY8(d + k, d + k - stride);
    }
}

// One lane per frame (what a CPU driver runs best: its lanes are loop
// iterations on one core, so cooperation only adds barriers): decode
// straight through with the same checks as the cooperative version, and
// the CPU decoder's shape: a fast path for short sequences far from both
// ends, wide copies elsewhere, exact copies near the ends.
__kernel __attribute__((reqd_work_group_size(1, 1, 1)))
void lz4x_decode(__global const uchar *restrict src,
                 __global const ulong *restrict srcOffsets,
                 __global const uint *restrict srcLengths,
                 __global uchar *restrict dst,
                 __global const ulong *restrict dstOffsets,
                 __global const uint *restrict dstLengths,
                 __global int *restrict status,
                 __global uint *restrict produced,
                 const uint frames)
{
    const uint frame = get_group_id(0);
    if (frame >= frames) return;
    __global const uchar *restrict in = src + srcOffsets[frame];
    const uint inLen = srcLengths[frame];
    __global uchar *restrict out = dst + dstOffsets[frame];
    const uint outCap = dstLengths[frame];
    uint ip = 0, op = 0;
    int err = 0;
    for (;;) {
        if (ip >= inLen) { err = ERR_TRUNCATED; break; }
        const uint token = in[ip++];
        uint lit = token >> 4;
        if (lit < 15 && inLen - ip >= 32 && outCap - op >= 64) {
            // Up to 14 literals far from both ends: one 16-byte copy. The
            // block cannot end here (32 bytes are left), so a match follows.
            COPY16(out + op, in + ip);
            ip += lit; op += lit;
            const uint off = *(__global const uint_u *)(in + ip) & 0xFFFFFF;
            ip += 3;
            if (off == 0 || off > op) { err = ERR_OFFSET; break; }
            uint len = token & 15;
            if (len < 15 && off >= 16) {
                // A match of at most 18 bytes (room for 32 is left): two
                // 16-byte copies, each reading only bytes already final.
                __global uchar *d = out + op;
                COPY16(d, d - off);
                COPY16(d + 16, d + 16 - off);
                op += len + 4;
                continue;
            }
            if (len == 15 && (err = read_length_extension(in, inLen, &ip, &len, outCap))) break;
            len += 4;
            if (len > outCap - op) { err = ERR_OVERFLOW; break; }
            copy_match(out, op, off, len, outCap - op - len);
            op += len;
            continue;
        }
        if (lit == 15 && (err = read_length_extension(in, inLen, &ip, &lit, inLen))) break;
        if (lit > inLen - ip) { err = ERR_TRUNCATED; break; }
        if (lit > outCap - op) { err = ERR_OVERFLOW; break; }
        if (lit <= inLen - ip - 16 && lit <= outCap - op - 16 && inLen - ip >= 16 && outCap - op >= 16) {
            wild_copy16(out + op, in + ip, lit);
        } else {
            for (uint k = 0; k < lit; k++) out[op + k] = in[ip + k];
        }
        ip += lit; op += lit;
        if (ip == inLen) break;   // the last sequence carries literals only
        uint off, len;
        if ((err = read_match(in, inLen, &ip, token, op, outCap, &off, &len))) break;
        copy_match(out, op, off, len, outCap - op - len);
        op += len;
    }
    status[frame] = err ? err : (op != outCap ? ERR_SIZE : 0);
    produced[frame] = op;
}
#else
__kernel __attribute__((reqd_work_group_size(WG, 1, 1)))
void lz4x_decode(__global const uchar *src,
                 __global const ulong *srcOffsets,
                 __global const uint *srcLengths,
                 __global uchar *dst,
                 __global const ulong *dstOffsets,
                 __global const uint *dstLengths,
                 __global int *status,
                 __global uint *produced,
                 const uint frames)
{
    const uint frame = get_group_id(0);
    if (frame >= frames) return;   // uniform across the group
    const uint lane = get_local_id(0);
    __global const uchar *in = src + srcOffsets[frame];
    const uint inLen = srcLengths[frame];
    __global uchar *out = dst + dstOffsets[frame];
    const uint outCap = dstLengths[frame];

    __local uint litSrc[BATCH], litDst[BATCH], litPrefix[BATCH + 1];
    __local uint matchDst[BATCH], matchOff[BATCH], matchPrefix[BATCH + 1];
    __local uint waveStart[BATCH + 1];
    __local uint count, waves, ipShared, opShared;
    __local int err, done;

    if (lane == 0) { ipShared = 0; opShared = 0; err = 0; done = 0; }
    barrier(CLK_LOCAL_MEM_FENCE);

    for (;;) {
        if (lane == 0) {
            uint ip = ipShared, op = opShared, n = 0, w = 0;
            uint waveFirstDst = 0xFFFFFFFFu;   // dst of the first match of the open wave
            litPrefix[0] = 0; matchPrefix[0] = 0;
            while (n < BATCH && !done && !err) {
                if (ip >= inLen) { err = ERR_TRUNCATED; break; }
                const uint token = in[ip++];
                uint lit = token >> 4;
                if (lit == 15 && (err = read_length_extension(in, inLen, &ip, &lit, inLen))) break;
                if (lit > inLen - ip) { err = ERR_TRUNCATED; break; }
                if (lit > outCap - op) { err = ERR_OVERFLOW; break; }
                litSrc[n] = ip; litDst[n] = op;
                litPrefix[n + 1] = litPrefix[n] + lit;
                ip += lit; op += lit;
                if (ip == inLen) {   // the last sequence carries literals only
                    matchDst[n] = op; matchOff[n] = 1; matchPrefix[n + 1] = matchPrefix[n];
                    n++; done = 1;
                    break;
                }
                uint off, len;
                if ((err = read_match(in, inLen, &ip, token, op, outCap, &off, &len))) break;
                // A new wave starts when this match reads bytes that an
                // earlier match of the open wave writes.
                const uint from = op - off;
                const uint need = min(len, off);
                if (w == 0 || from + need > waveFirstDst) { waveStart[w++] = n; waveFirstDst = op; }
                matchDst[n] = op; matchOff[n] = off; matchPrefix[n + 1] = matchPrefix[n] + len;
                op += len;
                n++;
            }
            if (w == 0) waveStart[w++] = 0;
            waveStart[w] = n;
            count = n; waves = w; ipShared = ip; opShared = op;
        }
        barrier(CLK_LOCAL_MEM_FENCE);

        const uint n = count;
        // Literals: the batch's literal bytes dealt round-robin to lanes; each
        // lane walks the sequences forward as its byte index grows.
        {
            uint s = 0;
            const uint total = litPrefix[n];
            for (uint k = lane; k < total; k += WG) {
                while (litPrefix[s + 1] <= k) s++;
                const uint j = k - litPrefix[s];
                out[litDst[s] + j] = in[litSrc[s] + j];
            }
        }
        barrier(CLK_GLOBAL_MEM_FENCE);
        // Matches, one wave at a time.
        const uint waveCount = waves;
        for (uint v = 0; v < waveCount; v++) {
            const uint first = waveStart[v], last = waveStart[v + 1];
            uint s = first;
            const uint base = matchPrefix[first];
            const uint total = matchPrefix[last] - base;
            for (uint k = lane; k < total; k += WG) {
                while (matchPrefix[s + 1] - base <= k) s++;
                const uint j = k - (matchPrefix[s] - base);
                const uint off = matchOff[s];
                out[matchDst[s] + j] = out[matchDst[s] - off + (j < off ? j : j % off)];
            }
            barrier(CLK_GLOBAL_MEM_FENCE);
        }
        const int stop = err | done;
        barrier(CLK_LOCAL_MEM_FENCE);   // everyone has read the flags before lane 0 parses again
        if (stop) break;
    }
    if (lane == 0) {
        status[frame] = err ? err : (opShared != outCap ? ERR_SIZE : 0);
        produced[frame] = opShared;
    }
}
#endif
