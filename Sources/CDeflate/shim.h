#ifndef GPUARC_CDEFLATE_SHIM_H
#define GPUARC_CDEFLATE_SHIM_H
#include <libdeflate.h>
#endif
