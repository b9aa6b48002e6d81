#pragma once
// The mask, ALiBi bias and tile ranges of the CUDA fused attention kernels,
// as plain host/device functions so the CPU tests check them
// (tests/kernels/test_flash_mask.cpp). The rules are
// kernels/cpu/flash_attention.h's: query row i sits at position
// pos = i + Tk − Tq; key j is visible iff j < Tk, j <= pos (causal) and
// pos − j < window (window > 0); ALiBi subtracts slope_h · (pos − j).
#include <cmath>
#include <cstdint>

#include "kernels/cuda/cuda_api.h"
#include "kernels/host_device.h"

namespace mixlab::cuda::flash {

MIXLAB_HOST_DEVICE inline bool visible(const FlashArgs& a, int64_t i, int64_t j) {
  if (i >= a.Tq || j >= a.Tk) return false;
  const int64_t pos = i + a.Tk - a.Tq;
  if (a.causal && j > pos) return false;
  if (a.window > 0 && pos - j >= a.window) return false;
  return true;
}

MIXLAB_HOST_DEVICE inline double alibi(const FlashArgs& a, int64_t h, int64_t i, int64_t j) {
  return a.slopes ? a.slopes[h] * static_cast<double>(i + a.Tk - a.Tq - j) : 0.0;
}

// The score of query i (of head h) against key j from their dot product:
// scaled, minus the ALiBi bias; -inf where the key is hidden.
template <typename T>
MIXLAB_HOST_DEVICE inline T masked_score(const FlashArgs& a, int64_t h, int64_t i, int64_t j, T dot) {
  return visible(a, i, j) ? dot * static_cast<T>(a.scale) - static_cast<T>(alibi(a, h, i, j))
                          : -static_cast<T>(INFINITY);
}

// The softmax probability of a masked score given its row's log-sum-exp:
// 0 for a hidden key, without evaluating exp(-inf - lse).
template <typename T>
MIXLAB_HOST_DEVICE inline T probability(T score, T lse) {
  return score == -static_cast<T>(INFINITY) ? T(0) : std::exp(score - lse);
}

// Keys [lo, hi) any query of rows [i0, i1) may see: a query tile's key loop.
MIXLAB_HOST_DEVICE inline void key_range(const FlashArgs& a, int64_t i0, int64_t i1, int64_t* lo, int64_t* hi) {
  const int64_t offset = a.Tk - a.Tq, last = i1 + offset, first = i0 + offset - a.window + 1;
  *hi = a.causal && last < a.Tk ? last : a.Tk;
  *lo = a.window > 0 && first > 0 ? first : 0;
}

// Queries [lo, hi) that may see any key of [j0, j1): a key tile's query loop.
MIXLAB_HOST_DEVICE inline void query_range(const FlashArgs& a, int64_t j0, int64_t j1, int64_t* lo, int64_t* hi) {
  const int64_t offset = a.Tk - a.Tq, first = j0 - offset, last = j1 - 1 + a.window - offset;
  *lo = a.causal && first > 0 ? first : 0;
  *hi = a.window > 0 && last < a.Tq ? last : a.Tq;
}

}  // namespace mixlab::cuda::flash
