#include "kernels/cpu/shape_kernels.h"

#include <algorithm>
#include <vector>

namespace mixlab::cpu {

namespace {
// Below this many elements moved, thread start-up costs more than the copy.
constexpr int64_t kParallelElems = 1 << 15;
// scatter_add splits each row into blocks of this many columns across threads.
constexpr int64_t kScatterColumns = 256;
}  // namespace

// in contiguous -> out (out_shape) with out[i] = in[sum_k i_k * in_strides[k]].
template <typename T>
void permute_copy(const T* in, T* out, const PermuteIndex& ix) {
  const int ndim = ix.ndim;
  const int64_t* out_shape = ix.out_shape;
  const int64_t* in_strides = ix.in_strides;
  // Drop unit extents and merge neighbours that stay adjacent in `in`, so the
  // common permutes ((B,T,H,D) -> (B,H,T,D)) run a contiguous inner copy.
  std::vector<int64_t> shape, stride;
  int64_t n = 1;
  for (int k = 0; k < ndim; ++k) {
    n *= out_shape[k];
    if (out_shape[k] == 1) continue;
    if (!shape.empty() && stride.back() == in_strides[k] * out_shape[k]) {
      shape.back() *= out_shape[k];
      stride.back() = in_strides[k];
    } else {
      shape.push_back(out_shape[k]);
      stride.push_back(in_strides[k]);
    }
  }
  if (n == 0) return;
  if (shape.empty()) {  // a single element
    out[0] = in[0];
    return;
  }
  const int nd = static_cast<int>(shape.size());
  const int64_t inner = shape[nd - 1], inner_stride = stride[nd - 1];
  const int64_t rows = n / inner;
#pragma omp parallel for if (n > kParallelElems)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, base = 0;
    for (int k = nd - 2; k >= 0; --k) {
      base += (rem % shape[k]) * stride[k];
      rem /= shape[k];
    }
    const T* src = in + base;
    T* dst = out + r * inner;
    if (inner_stride == 1) {
      std::copy_n(src, inner, dst);
    } else {
      for (int64_t i = 0; i < inner; ++i) dst[i] = src[i * inner_stride];
    }
  }
}

// src (outer, src_len, inner)[:, src_start:+count] -> dst (outer, dst_len, inner)[:, dst_start:+count].
template <typename T>
void copy_axis_range(const T* src, int64_t src_len, int64_t src_start, T* dst, int64_t dst_len, int64_t dst_start,
                     int64_t outer, int64_t count, int64_t inner) {
  const int64_t chunk = count * inner;  // contiguous in both buffers
  if (chunk == 0) return;
#pragma omp parallel for if (outer * chunk > kParallelElems)
  for (int64_t o = 0; o < outer; ++o)
    std::copy_n(src + (o * src_len + src_start) * inner, chunk, dst + (o * dst_len + dst_start) * inner);
}

// x (outer, len, inner), idx (n) -> out (outer, n, inner).
template <typename T>
void index_select(const T* x, const int64_t* idx, T* out, int64_t outer, int64_t len, int64_t n, int64_t inner) {
  const int64_t rows = outer * n;
#pragma omp parallel for if (rows * inner > kParallelElems)
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t o = r / n, j = r % n;
    std::copy_n(x + (o * len + idx[j]) * inner, inner, out + r * inner);
  }
}

// dst (outer, len, inner) += src (outer, n, inner) scattered by idx (n).
template <typename T>
void scatter_add(T* dst, const int64_t* idx, const T* src, int64_t outer, int64_t len, int64_t n, int64_t inner) {
  const int64_t blocks = (inner + kScatterColumns - 1) / kScatterColumns;
  // Threads own disjoint (o, column block) tiles and walk j in order, so
  // repeated indices accumulate in the same order on any thread count.
#pragma omp parallel for collapse(2) if (outer * n * inner > kParallelElems)
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t b = 0; b < blocks; ++b) {
      const int64_t c0 = b * kScatterColumns, c1 = std::min(inner, c0 + kScatterColumns);
      for (int64_t j = 0; j < n; ++j) {
        T* d = dst + (o * len + idx[j]) * inner;
        const T* s = src + (o * n + j) * inner;
        for (int64_t c = c0; c < c1; ++c) d[c] += s[c];
      }
    }
  }
}

// idx (n) -> first position with idx[j] outside [0, limit), or -1.
int64_t first_index_outside(const int64_t* idx, int64_t n, int64_t limit) {
  for (int64_t j = 0; j < n; ++j)
    if (idx[j] < 0 || idx[j] >= limit) return j;
  return -1;
}

#define MIXLAB_SHAPE_KERNELS(T)                                                                             \
  template void permute_copy<T>(const T*, T*, const PermuteIndex&);                                          \
  template void copy_axis_range<T>(const T*, int64_t, int64_t, T*, int64_t, int64_t, int64_t, int64_t,      \
                                   int64_t);                                                                \
  template void index_select<T>(const T*, const int64_t*, T*, int64_t, int64_t, int64_t, int64_t);         \
  template void scatter_add<T>(T*, const int64_t*, const T*, int64_t, int64_t, int64_t, int64_t);
MIXLAB_SHAPE_KERNELS(float)
MIXLAB_SHAPE_KERNELS(double)
MIXLAB_SHAPE_KERNELS(int64_t)
#undef MIXLAB_SHAPE_KERNELS

}  // namespace mixlab::cpu
