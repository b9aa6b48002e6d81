#include "kernels/cpu/elementwise_kernels.h"

#include <cmath>

namespace mixlab::cpu {

namespace {

constexpr int64_t kParallelThreshold = 1 << 15;

template <typename T, typename F>
void binary_loop(const BroadcastIndex& ix, const T* a, const T* b, T* out, F f) {
  const int nd = ix.ndim;
  int64_t n = 1;
  for (int d = 0; d < nd; ++d) n *= ix.dims[d];
  if (n == 0) return;
  // Fast path: both operands dense over the output.
  bool dense = true;
  for (int64_t d = nd - 1, expect = 1; d >= 0; --d) {
    if (ix.dims[d] != 1 && (ix.stride_a[d] != expect || ix.stride_b[d] != expect)) dense = false;
    expect *= ix.dims[d];
  }
  if (dense) {
#pragma omp parallel for if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) out[i] = f(a[i], b[i]);
    return;
  }
  // General path: the innermost axis is a strided loop; outer index decomposed per row.
  const int64_t inner = nd ? ix.dims[nd - 1] : 1;
  const int64_t sa_in = nd ? ix.stride_a[nd - 1] : 0, sb_in = nd ? ix.stride_b[nd - 1] : 0;
  const int64_t rows = n / inner;
#pragma omp parallel for if (n > kParallelThreshold)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t rem = r, oa = 0, ob = 0;
    for (int d = nd - 2; d >= 0; --d) {
      int64_t i = rem % ix.dims[d];
      rem /= ix.dims[d];
      oa += i * ix.stride_a[d];
      ob += i * ix.stride_b[d];
    }
    T* o = out + r * inner;
    for (int64_t j = 0; j < inner; ++j) o[j] = f(a[oa + j * sa_in], b[ob + j * sb_in]);
  }
}

}  // namespace

template <typename T>
void binary(BinaryOp op, const BroadcastIndex& ix, const T* a, const T* b, T* out) {
  kernels::dispatch_binary(op, [&](auto k) {
    binary_loop(ix, a, b, out, [](T x, T y) { return kernels::binary_value<decltype(k)::value>(x, y); });
  });
}

template <typename T>
void broadcast_copy(const BroadcastIndex& ix, const T* a, T* out) {
  BroadcastIndex same = ix;
  for (int d = 0; d < ix.ndim; ++d) same.stride_b[d] = ix.stride_a[d];
  binary_loop(same, a, a, out, [](T x, T) { return x; });
}

template <typename T>
void affine(const T* a, T* out, int64_t n, double s, double t) {
  const T ss = static_cast<T>(s), tt = static_cast<T>(t);
#pragma omp parallel for if (n > kParallelThreshold)
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * ss + tt;
}

template <typename T>
void unary_forward(UnaryOp op, UnaryParams p, const T* x, T* y, int64_t n) {
  const T p0 = static_cast<T>(p.p0), p1 = static_cast<T>(p.p1);
  kernels::dispatch_unary(op, [&](auto k) {
#pragma omp parallel for if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) y[i] = kernels::unary_value<decltype(k)::value>(x[i], p0, p1);
  });
}

template <typename T>
void unary_backward(UnaryOp op, UnaryParams p, const T* x, const T* y, const T* gy, T* gx, int64_t n) {
  const T p0 = static_cast<T>(p.p0), p1 = static_cast<T>(p.p1);
  kernels::dispatch_unary(op, [&](auto k) {
#pragma omp parallel for if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * kernels::unary_derivative<decltype(k)::value>(x[i], y[i], p0, p1);
  });
}

#define MIXLAB_ELEMENTWISE(T)                                                                   \
  template void binary<T>(BinaryOp, const BroadcastIndex&, const T*, const T*, T*);             \
  template void broadcast_copy<T>(const BroadcastIndex&, const T*, T*);                         \
  template void affine<T>(const T*, T*, int64_t, double, double);                               \
  template void unary_forward<T>(UnaryOp, UnaryParams, const T*, T*, int64_t);                  \
  template void unary_backward<T>(UnaryOp, UnaryParams, const T*, const T*, const T*, T*, int64_t);
MIXLAB_ELEMENTWISE(float)
MIXLAB_ELEMENTWISE(double)
#undef MIXLAB_ELEMENTWISE

}  // namespace mixlab::cpu
