#pragma once
// Shared by the fused attention kernels (FP32/FP64 in flash_attention.cu,
// BF16 in flash_attention_bf16.cu): warp reductions, and the mask, ALiBi bias
// and tile ranges with the rules of kernels/cpu/flash_attention.h: query row
// i sits at position i + Tk − Tq; key j is visible iff j <= pos (causal) and
// pos − j < window.
#include <cstdint>

#include "kernels/cuda/cuda_api.h"

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

// The mask and ALiBi bias of query row i against key j (FlashAttentionMask's
// rules): returns false where the key is hidden, else subtracts the bias.
__device__ inline bool visible(const FlashArgs& a, int64_t i, int64_t j) {
  if (i >= a.Tq || j >= a.Tk) return false;
  const int64_t pos = i + a.Tk - a.Tq;
  if (a.causal && j > pos) return false;
  if (a.window > 0 && pos - j >= a.window) return false;
  return true;
}
__device__ inline double alibi(const FlashArgs& a, int64_t h, int64_t i, int64_t j) {
  return a.slopes ? a.slopes[h] * static_cast<double>(i + a.Tk - a.Tq - j) : 0.0;
}

// Keys [lo, hi) any query of rows [i0, i1) may see.
__device__ inline void key_range(const FlashArgs& a, int64_t i0, int64_t i1, int64_t* lo, int64_t* hi) {
  const int64_t offset = a.Tk - a.Tq;
  *hi = a.causal ? min(a.Tk, i1 + offset) : a.Tk;
  *lo = a.window > 0 ? max(int64_t(0), i0 + offset - a.window + 1) : 0;
}

// Queries [lo, hi) that may see any key of [j0, j1).
__device__ inline void query_range(const FlashArgs& a, int64_t j0, int64_t j1, int64_t* lo, int64_t* hi) {
  const int64_t offset = a.Tk - a.Tq;
  *lo = a.causal ? max(int64_t(0), j0 - offset) : 0;
  *hi = a.window > 0 ? min(a.Tq, j1 - 1 + a.window - offset) : a.Tq;
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
