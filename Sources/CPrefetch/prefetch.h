#ifndef GPUARC_CPREFETCH_H
#define GPUARC_CPREFETCH_H
// Software prefetch, which Swift does not expose: a hint that never faults, so any address will
// do. Static inline, so the Swift optimizer inlines it to the one instruction.
static inline __attribute__((always_inline)) void gpuarc_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}
#endif
