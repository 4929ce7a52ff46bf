// FNV-1a 64 over many byte ranges per launch.
// FNV-1a is a strict byte-by-byte chain (xor, then multiply), so a single
// range cannot be split; the parallelism is across files, which is what the
// dedup stage has (thousands of same-size survivors).
//
// LANES (a build option) ranges per work-item: 1 on GPUs, where thousands of
// work-items hide the multiply latency; 4 on CPU devices, where one core runs
// a work-item at a time and a single chain leaves the multiplier idle three
// cycles in four; four chains side by side keep it busy (as the CPU hasher,
// FNV1a64.hash4, does). Range starts are 16-byte aligned (the host packs them).

#define FNV_OFFSET 0xcbf29ce484222325UL
#define FNV_PRIME 0x100000001b3UL
#ifndef LANES
#define LANES 1
#endif

// A CPU driver's compiler packs the four chains into SIMD registers, where
// a 64-bit multiply is emulated with three 32-bit ones (AVX2 has none):
// slower than four scalar multiplies. An empty asm statement that keeps a
// chain in a general register stops that. Only CPU devices get LANES > 1.
#if defined(__x86_64__) || defined(__i386__)
#define SCALAR(h) __asm__ volatile("" : "+r"(h))
#else
#define SCALAR(h) do { } while (0)
#endif
#define STEP(h, b) do { (h) ^= (b); (h) *= FNV_PRIME; } while (0)
#define STEP16(h, v) do { \
    STEP(h, (v).s0); STEP(h, (v).s1); STEP(h, (v).s2); STEP(h, (v).s3); \
    STEP(h, (v).s4); STEP(h, (v).s5); STEP(h, (v).s6); STEP(h, (v).s7); \
    STEP(h, (v).s8); STEP(h, (v).s9); STEP(h, (v).sa); STEP(h, (v).sb); \
    STEP(h, (v).sc); STEP(h, (v).sd); STEP(h, (v).se); STEP(h, (v).sf); } while (0)

#if LANES > 1
__attribute__((reqd_work_group_size(1, 1, 1)))
#endif
__kernel void fnv1a64(__global const uchar *data,
                      __global const ulong *offsets,
                      __global const ulong *lengths,
                      __global ulong *hashes,
                      const uint count)
{
    const uint first = get_global_id(0) * LANES;
    if (first >= count) return;
    const uint lanes = min((uint)LANES, count - first);
    __global const uchar *p[LANES];
    ulong n[LANES], h[LANES];
    ulong common = ULONG_MAX;
    for (uint l = 0; l < LANES; l++) {
        // Lanes past the last range repeat it; their results are dropped.
        const uint i = first + min(l, lanes - 1);
        p[l] = data + offsets[i];
        n[l] = lengths[i];
        h[l] = FNV_OFFSET;
        common = min(common, n[l]);
    }
    // The part every lane has, in whole 16-byte blocks; then each lane's tail.
    const ulong vectors = common & ~(ulong)15;
#if LANES == 4
    // The CPU-device shape: plain byte loads, the four chains interleaved
    // step by step so the core overlaps their multiplies, each kept scalar.
    ulong h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3];
    __global const uchar *q0 = p[0], *q1 = p[1], *q2 = p[2], *q3 = p[3];
    for (ulong k = 0; k < vectors; k += 8) {
        #pragma unroll
        for (uint j = 0; j < 8; j++) {
            STEP(h0, q0[k + j]); STEP(h1, q1[k + j]); STEP(h2, q2[k + j]); STEP(h3, q3[k + j]);
            SCALAR(h0); SCALAR(h1); SCALAR(h2); SCALAR(h3);
        }
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3;
#else
    // GPUs (LANES 1): one wide load instead of sixteen narrow ones.
    for (ulong k = 0; k < vectors; k += 16) {
        for (uint l = 0; l < LANES; l++) {
            const uchar16 v = *(__global const uchar16 *)(p[l] + k);
            STEP16(h[l], v);
        }
    }
#endif
    for (uint l = 0; l < lanes; l++) {
        for (ulong k = vectors; k < n[l]; k++) STEP(h[l], p[l][k]);
        hashes[first + l] = h[l];
    }
}
