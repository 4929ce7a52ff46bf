#ifndef GPUARC_CZLIB_SHIM_H
#define GPUARC_CZLIB_SHIM_H
#include <zlib.h>
#endif
