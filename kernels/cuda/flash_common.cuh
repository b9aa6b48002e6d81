#pragma once
// Shared by the fused attention kernels (FP32/FP64 in flash_attention.cu,
// BF16 in flash_attention_bf16.cu): warp reductions, the backward's row dot
// product and row statistics; the mask and tile ranges are in flash_mask.h.
#include <cstdint>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/flash_mask.h"

namespace mixlab::cuda::flash {

template <typename T>
__device__ inline T warp_max(T x) {
  for (int o = 16; o > 0; o >>= 1) x = max(x, __shfl_xor_sync(0xffffffffu, x, o));
  return x;
}
template <typename T>
__device__ inline T warp_sum(T x) {
  for (int o = 16; o > 0; o >>= 1) x += __shfl_xor_sync(0xffffffffu, x, o);
  return x;
}

// The backward's per-query statistics of rows i0 .. i0 + rows − 1 of one
// head (lse and D = <dO, O>) into shared memory, 0 past Tq.
template <typename T>
__device__ inline void load_row_stats(T* lse_s, T* D_s, const T* lse, const T* Drow, int64_t head, int64_t i0,
                                      int64_t Tq, int rows) {
  for (int r = threadIdx.x; r < rows; r += blockDim.x) {
    lse_s[r] = i0 + r < Tq ? lse[head + i0 + r] : T(0);
    D_s[r] = i0 + r < Tq ? Drow[head + i0 + r] : T(0);
  }
}

// D_i = <dO_i, O_i>, one warp per row.
template <typename T>
__global__ void row_dot_kernel(const T* dout, const T* o, T* D, int64_t rows, int64_t d) {
  const int lane = threadIdx.x % 32;
  for (int64_t r = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; r < rows;
       r += int64_t(gridDim.x) * blockDim.x / 32) {
    T acc = T(0);
    for (int64_t x = lane; x < d; x += 32) acc += dout[r * d + x] * o[r * d + x];
    acc = warp_sum(acc);
    if (lane == 0) D[r] = acc;
  }
}

}  // namespace mixlab::cuda::flash
