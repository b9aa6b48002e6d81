#include "kernels/cpu/reduce_kernels.h"

#include <cstring>

#include "kernels/reduce_math.h"

namespace mixlab::cpu {

template <typename T>
void sum_axis(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, double scale) {
  const T s = static_cast<T>(scale);
  if (inner == 1) {
#pragma omp parallel for if (outer * n > (1 << 15))
    for (int64_t o = 0; o < outer; ++o) {
      const T* row = x + o * n;
      T acc = T(0);
      for (int64_t j = 0; j < n; ++j) acc += row[j];
      out[o] = acc * s;
    }
    return;
  }
  // Accumulate row by row so the inner loop runs over contiguous memory.
#pragma omp parallel for if (outer * n * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o) {
    T* dst = out + o * inner;
    for (int64_t i = 0; i < inner; ++i) dst[i] = T(0);
    for (int64_t j = 0; j < n; ++j) {
      const T* src = x + (o * n + j) * inner;
      for (int64_t i = 0; i < inner; ++i) dst[i] += src[i];
    }
    for (int64_t i = 0; i < inner; ++i) dst[i] *= s;
  }
}

template <typename T>
void max_axis(const T* x, T* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner) {
#pragma omp parallel for if (outer * n * inner > (1 << 15))
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t i = 0; i < inner; ++i)
      kernels::column_max(x + o * n * inner + i, n, inner, &out[o * inner + i], &argmax[o * inner + i]);
  }
}

template <typename T>
void max_axis_backward(const T* g, const int64_t* argmax, T* gx, int64_t outer, int64_t n, int64_t inner) {
  std::memset(gx, 0, sizeof(T) * outer * n * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) gx[(o * n + argmax[o * inner + i]) * inner + i] = g[o * inner + i];
}

#define MIXLAB_REDUCE(T)                                                                \
  template void sum_axis<T>(const T*, T*, int64_t, int64_t, int64_t, double);           \
  template void max_axis<T>(const T*, T*, int64_t*, int64_t, int64_t, int64_t);         \
  template void max_axis_backward<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t);
MIXLAB_REDUCE(float)
MIXLAB_REDUCE(double)
#undef MIXLAB_REDUCE

}  // namespace mixlab::cpu
