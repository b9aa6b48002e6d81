#pragma once
// The mask, ALiBi bias and tile ranges of the CUDA fused attention kernels,
// as plain host/device functions so the CPU tests check them
// (tests/kernels/test_flash_mask.cpp). Visibility and the tile ranges are
// kernels/attention_visibility.h's rule, the one the CPU kernel uses; ALiBi
// subtracts slope_h · (pos(i) − j).
#include <cmath>
#include <cstdint>

#include "kernels/attention_visibility.h"
#include "kernels/cuda/cuda_api.h"
#include "kernels/host_device.h"

namespace mixlab::cuda::flash {

MIXLAB_HOST_DEVICE inline kernels::AttentionVisibility visibility(const FlashArgs& a) {
  return {a.Tq, a.Tk, a.causal, a.window};
}

MIXLAB_HOST_DEVICE inline bool visible(const FlashArgs& a, int64_t i, int64_t j) { return visibility(a).visible(i, j); }

MIXLAB_HOST_DEVICE inline double alibi(const FlashArgs& a, int64_t h, int64_t i, int64_t j) {
  return a.slopes ? a.slopes[h] * static_cast<double>(visibility(a).position(i) - j) : 0.0;
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
  visibility(a).key_range(i0, i1, lo, hi);
}

// Queries [lo, hi) that may see any key of [j0, j1): a key tile's query loop.
MIXLAB_HOST_DEVICE inline void query_range(const FlashArgs& a, int64_t j0, int64_t j1, int64_t* lo, int64_t* hi) {
  visibility(a).query_range(j0, j1, lo, hi);
}

}  // namespace mixlab::cuda::flash
