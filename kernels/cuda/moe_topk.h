#pragma once
// The MoE top-k rule of the CUDA routing kernel, as a plain host/device
// function so the CPU tests check it against a sort
// (tests/kernels/test_flash_mask.cpp): experts ranked by probability, highest
// first, ties to the lower index; each call finds the next one after `last`.
#include <cstdint>

#include "kernels/host_device.h"

namespace mixlab::cuda::moe {

// The best of the E experts ranked after `last` (-1: the first choice).
template <typename T>
MIXLAB_HOST_DEVICE int64_t next_choice(const T* p, int64_t E, int64_t last) {
  int64_t best = -1;
  for (int64_t e = 0; e < E; ++e) {
    const bool after_last = last < 0 || p[e] < p[last] || (p[e] == p[last] && e > last);
    if (after_last && (best < 0 || p[e] > p[best])) best = e;
  }
  return best;
}

}  // namespace mixlab::cuda::moe
