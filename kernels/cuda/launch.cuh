#pragma once
// Launch helpers shared by the kernels: the block size, grid sizes for
// grid-stride loops and for one block per row, the dynamic shared memory
// limit, and the launch check.
#include <algorithm>
#include <cstdint>
#include <string>

#include "kernels/cuda/check.h"

namespace mixlab::cuda {

constexpr int kThreads = 256;

// Enough blocks to fill the device several times over; grid-stride loops cover the rest.
inline int blocks_for(int64_t n) {
  return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 65535));
}
// One block per row, up to the grid limit; the kernels stride over the rest.
inline int row_blocks(int64_t rows) { return static_cast<int>(std::min<int64_t>(rows, 65535)); }

// Raises `kernel`'s dynamic shared memory limit to `bytes`, or, when the GPU
// allows less per block, says so with the op and what needs the memory
// (`what`, e.g. "a (64, 64) state").
template <typename Kernel>
void allow_smem(Kernel kernel, size_t bytes, int device, const std::string& what, const char* op) {
  int limit = 0;
  MIXLAB_CUDA_CHECK(cudaDeviceGetAttribute(&limit, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  if (bytes > static_cast<size_t>(limit))
    throw Error(detail::concat("cuda::", op, ": ", what, " needs ", bytes,
                               " bytes of shared memory per block, the GPU allows ", limit, " (run on the CPU)"));
  MIXLAB_CUDA_CHECK(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes)));
}

// Launch errors (bad configuration, no kernel image for this GPU) surface here,
// named with the op; faults inside a kernel surface at the next synchronising call.
inline void check_launch(const char* op) {
  const cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess)
    throw Error(detail::concat("cuda::", op, ": kernel launch failed: ", cudaGetErrorString(err)));
}

}  // namespace mixlab::cuda

// for (i = this thread's first index; i < n; i += all threads of the grid)
#define MIXLAB_GRID_STRIDE(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)
