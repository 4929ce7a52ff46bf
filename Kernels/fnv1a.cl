// FNV-1a 64 over many byte ranges per launch: one work-item per range.
// FNV-1a is a strict byte-by-byte chain (xor, then multiply), so a single
// range cannot be split; the parallelism is across files, which is what the
// dedup stage has (thousands of same-size survivors).

#define FNV_OFFSET 0xcbf29ce484222325UL
#define FNV_PRIME 0x100000001b3UL

__kernel void fnv1a64(__global const uchar *data,
                      __global const ulong *offsets,
                      __global const ulong *lengths,
                      __global ulong *hashes,
                      const uint count)
{
    const uint i = get_global_id(0);
    if (i >= count) return;
    __global const uchar *p = data + offsets[i];
    const ulong n = lengths[i];
    ulong h = FNV_OFFSET;
    ulong k = 0;
    // Bytes up to 16-byte alignment, then whole 16-byte vectors (one wide
    // load instead of sixteen narrow ones), then the tail.
    while (k < n && (((ulong)(p + k)) & 15) != 0) { h ^= p[k++]; h *= FNV_PRIME; }
    for (; k + 16 <= n; k += 16) {
        const uchar16 v = *(__global const uchar16 *)(p + k);
        h ^= v.s0; h *= FNV_PRIME; h ^= v.s1; h *= FNV_PRIME;
        h ^= v.s2; h *= FNV_PRIME; h ^= v.s3; h *= FNV_PRIME;
        h ^= v.s4; h *= FNV_PRIME; h ^= v.s5; h *= FNV_PRIME;
        h ^= v.s6; h *= FNV_PRIME; h ^= v.s7; h *= FNV_PRIME;
        h ^= v.s8; h *= FNV_PRIME; h ^= v.s9; h *= FNV_PRIME;
        h ^= v.sa; h *= FNV_PRIME; h ^= v.sb; h *= FNV_PRIME;
        h ^= v.sc; h *= FNV_PRIME; h ^= v.sd; h *= FNV_PRIME;
        h ^= v.se; h *= FNV_PRIME; h ^= v.sf; h *= FNV_PRIME;
    }
    while (k < n) { h ^= p[k++]; h *= FNV_PRIME; }
    hashes[i] = h;
}
