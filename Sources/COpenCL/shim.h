// OpenCL 1.2 is the common ground of NVIDIA's driver and PoCL; the 1.2 calls
// we use (clCreateCommandQueue) are deprecated in 2.0 headers, hence the flag.
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
