#pragma once
// Reductions over the middle axis of x viewed as (outer, n, inner) -> (outer, inner).
// Each output element is summed in a fixed order, so results are deterministic.
#include <cstdint>

namespace mixlab::cpu {

template <typename T>
void sum_axis(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, double scale);

// out = max over the axis, argmax = index of the first maximal element.
template <typename T>
void max_axis(const T* x, T* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner);

// gx (outer, n, inner) = 0 except gx[o, argmax[o,i], i] = g[o, i].
template <typename T>
void max_axis_backward(const T* g, const int64_t* argmax, T* gx, int64_t outer, int64_t n, int64_t inner);

}  // namespace mixlab::cpu
