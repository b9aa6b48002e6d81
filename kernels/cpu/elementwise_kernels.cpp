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

template <typename T>
T sigmoid(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
constexpr double kInvSqrt2 = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;

}  // namespace

template <typename T>
void binary(BinaryOp op, const BroadcastIndex& ix, const T* a, const T* b, T* out) {
  switch (op) {
    case BinaryOp::Add: return binary_loop(ix, a, b, out, [](T x, T y) { return x + y; });
    case BinaryOp::Sub: return binary_loop(ix, a, b, out, [](T x, T y) { return x - y; });
    case BinaryOp::Mul: return binary_loop(ix, a, b, out, [](T x, T y) { return x * y; });
    case BinaryOp::Div: return binary_loop(ix, a, b, out, [](T x, T y) { return x / y; });
  }
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
  auto run = [&](auto f) {
#pragma omp parallel for if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  };
  const T p0 = static_cast<T>(p.p0), p1 = static_cast<T>(p.p1);
  switch (op) {
    case UnaryOp::Exp: return run([](T v) { return std::exp(v); });
    case UnaryOp::Log: return run([](T v) { return std::log(v); });
    case UnaryOp::Sqrt: return run([](T v) { return std::sqrt(v); });
    case UnaryOp::Rsqrt: return run([](T v) { return T(1) / std::sqrt(v); });
    case UnaryOp::Square: return run([](T v) { return v * v; });
    case UnaryOp::Tanh: return run([](T v) { return std::tanh(v); });
    case UnaryOp::Sigmoid: return run([](T v) { return sigmoid(v); });
    case UnaryOp::Silu: return run([](T v) { return v * sigmoid(v); });
    case UnaryOp::GeluTanh:
      return run([](T v) { return T(0.5) * v * (T(1) + std::tanh(T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v))); });
    case UnaryOp::GeluErf: return run([](T v) { return T(0.5) * v * (T(1) + std::erf(v * T(kInvSqrt2))); });
    case UnaryOp::Softplus:  // p0 = beta, p1 = threshold (linear above it, as torch)
      return run([=](T v) { return p0 * v > p1 ? v : std::log1p(std::exp(p0 * v)) / p0; });
    case UnaryOp::Elu: return run([=](T v) { return v > T(0) ? v : p0 * std::expm1(v); });
    case UnaryOp::Relu: return run([](T v) { return v > T(0) ? v : T(0); });
  }
}

template <typename T>
void unary_backward(UnaryOp op, UnaryParams p, const T* x, const T* y, const T* gy, T* gx, int64_t n) {
  auto run = [&](auto dfdx) {
#pragma omp parallel for if (n > kParallelThreshold)
    for (int64_t i = 0; i < n; ++i) gx[i] = gy[i] * dfdx(x[i], y[i]);
  };
  const T p0 = static_cast<T>(p.p0), p1 = static_cast<T>(p.p1);
  switch (op) {
    case UnaryOp::Exp: return run([](T, T f) { return f; });
    case UnaryOp::Log: return run([](T v, T) { return T(1) / v; });
    case UnaryOp::Sqrt: return run([](T, T f) { return T(0.5) / f; });
    case UnaryOp::Rsqrt: return run([](T v, T f) { return T(-0.5) * f / v; });
    case UnaryOp::Square: return run([](T v, T) { return T(2) * v; });
    case UnaryOp::Tanh: return run([](T, T f) { return T(1) - f * f; });
    case UnaryOp::Sigmoid: return run([](T, T f) { return f * (T(1) - f); });
    case UnaryOp::Silu:
      return run([](T v, T) {
        T s = sigmoid(v);
        return s * (T(1) + v * (T(1) - s));
      });
    case UnaryOp::GeluTanh:
      return run([](T v, T) {
        T u = T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v);
        T t = std::tanh(u);
        T du = T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * v * v);
        return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * du;
      });
    case UnaryOp::GeluErf:
      return run([](T v, T) {
        return T(0.5) * (T(1) + std::erf(v * T(kInvSqrt2))) + v * T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v);
      });
    case UnaryOp::Softplus: return run([=](T v, T) { return p0 * v > p1 ? T(1) : sigmoid(p0 * v); });
    case UnaryOp::Elu: return run([=](T v, T f) { return v > T(0) ? T(1) : f + p0; });
    case UnaryOp::Relu: return run([](T v, T) { return v > T(0) ? T(1) : T(0); });
  }
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
