#pragma once
// Elementwise kernels over host buffers. Broadcasting is expressed with
// per-operand strides over the output's dims (stride 0 on broadcast axes).
#include <cstdint>

namespace mixlab::cpu {

constexpr int kMaxBroadcastDims = 5;

struct BroadcastIndex {
  int ndim = 0;
  int64_t dims[kMaxBroadcastDims] = {};
  int64_t stride_a[kMaxBroadcastDims] = {};
  int64_t stride_b[kMaxBroadcastDims] = {};
};

enum class BinaryOp { Add, Sub, Mul, Div };

// out (dims) = a op b, each read through its broadcast strides.
template <typename T>
void binary(BinaryOp op, const BroadcastIndex& ix, const T* a, const T* b, T* out);

// out (dims) = a read through stride_a (stride_b is ignored): broadcasting copy.
template <typename T>
void broadcast_copy(const BroadcastIndex& ix, const T* a, T* out);

// out = a * s + t (scalar affine; covers add-scalar, mul-scalar, neg).
template <typename T>
void affine(const T* a, T* out, int64_t n, double s, double t);

enum class UnaryOp { Exp, Log, Sqrt, Rsqrt, Square, Tanh, Sigmoid, Silu, GeluTanh, GeluErf, Softplus, Elu, Relu };

// Op parameters: softplus (p0 = beta, p1 = threshold), elu (p0 = alpha).
struct UnaryParams {
  double p0 = 0, p1 = 0;
};

// y = f(x)
template <typename T>
void unary_forward(UnaryOp op, UnaryParams p, const T* x, T* y, int64_t n);
// gx = gy * f'(x), given x and y = f(x)
template <typename T>
void unary_backward(UnaryOp op, UnaryParams p, const T* x, const T* y, const T* gy, T* gx, int64_t n);

}  // namespace mixlab::cpu
