#pragma once
// The attention visibility rule: which key j query i may see. Defined once
// for both devices (as kernels/reduce_math.h does for the reductions) and
// used by the CPU flash kernel (kernels/cpu/flash_attention.cpp), the CUDA
// kernels' mask and tile ranges (kernels/cuda/flash_mask.h), the op's FLOP
// count (autograd/ops/attention.cpp) and the mixers' plain-path masks (mha's
// T×T mask, Longformer's causal band and global-token masks, linear
// attention's causal multiplier), so every path applies one mask. What checks
// the rule itself is independent of it: the masks drawn by hand in
// tests/kernels/test_attention_visibility.cpp and the mixers' F64
// reference_forward loops.
//
// Query row i of Tq sits at position pos(i) = i + (Tk − Tq) among the Tk
// keys (bottom-right alignment: a decode step with Tq = 1 sits at the last
// cached key and sees all of them). Key j is visible iff
//   0 <= i < Tq and 0 <= j < Tk,
//   j <= pos(i)             when causal,
//   pos(i) − j < window     when window > 0 (itself and the window − 1 keys
//                           before it; without causal, later keys stay visible).
#include <cstdint>

#include "kernels/host_device.h"

namespace mixlab::kernels {

struct AttentionVisibility {
  int64_t Tq, Tk;   // query rows, keys
  bool causal;
  int64_t window;   // 0: none

  MIXLAB_HOST_DEVICE int64_t position(int64_t i) const { return i + Tk - Tq; }

  // The rule for a query already placed at `pos` (callers that number
  // queries and keys on one axis, as Longformer's band does).
  MIXLAB_HOST_DEVICE bool sees(int64_t pos, int64_t j) const {
    if (causal && j > pos) return false;
    if (window > 0 && pos - j >= window) return false;
    return true;
  }

  MIXLAB_HOST_DEVICE bool visible(int64_t i, int64_t j) const {
    return i >= 0 && i < Tq && j >= 0 && j < Tk && sees(position(i), j);
  }

  // Keys [lo, hi) any query of rows [i0, i1) may see: a query tile's key loop.
  // Tight: lo and hi are the first and one past the last visible key; lo >= hi
  // when none is (tests/kernels/test_attention_visibility.cpp checks this pair by pair).
  MIXLAB_HOST_DEVICE void key_range(int64_t i0, int64_t i1, int64_t* lo, int64_t* hi) const {
    const int64_t last = position(i1 - 1) + 1, first = position(i0) - window + 1;
    *hi = causal && last < Tk ? last : Tk;
    *lo = window > 0 && first > 0 ? first : 0;
  }

  // Queries [lo, hi) that may see any key of [j0, j1): a key tile's query loop.
  MIXLAB_HOST_DEVICE void query_range(int64_t j0, int64_t j1, int64_t* lo, int64_t* hi) const {
    const int64_t offset = Tk - Tq, first = j0 - offset, last = j1 - 1 + window - offset;
    *lo = causal && first > 0 ? first : 0;
    *hi = window > 0 && last < Tq ? last : Tq;
  }

  // Whether every key of [j0, j1) is visible to every query of [i0, i1)
  // (both non-empty): such a tile needs no mask. Two corners decide it: the
  // causal limit binds hardest on the first query and the last key, the
  // window on the last query and the first key (and the two cover all four
  // bounds).
  MIXLAB_HOST_DEVICE bool all_visible(int64_t i0, int64_t i1, int64_t j0, int64_t j1) const {
    return visible(i0, j1 - 1) && visible(i1 - 1, j0);
  }
};

}  // namespace mixlab::kernels
