// Intel ISA-L's Reed-Solomon erasure code (Debian libisal-dev): SIMD
// multiply-accumulate over GF(2^8) at GB/s, for parity volumes.
#ifndef GPUARC_CISAL_SHIM_H
#define GPUARC_CISAL_SHIM_H
#include <isa-l/erasure_code.h>
#endif
