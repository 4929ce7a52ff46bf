#ifndef GPUARC_CZSTD_SHIM_H
#define GPUARC_CZSTD_SHIM_H
// The advanced parameters (ZSTD_c_format / ZSTD_d_format: delta chunks are
// magicless frames) are named only here; libzstd.so exports the functions
// that take them.
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#endif
