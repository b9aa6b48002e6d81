#pragma once
// MIXLAB_HOST_DEVICE marks functions that both backends compile: plain inline
// functions for the CPU, __host__ __device__ under nvcc.
#if defined(__CUDACC__)
#define MIXLAB_HOST_DEVICE __host__ __device__
#else
#define MIXLAB_HOST_DEVICE
#endif
