#pragma once
// The elementwise ops' formulas, defined once for both devices: the CPU loops
// (kernels/cpu/elementwise_kernels.cpp) and the CUDA kernels
// (kernels/cuda/elementwise.cu) call the same functions, so a CUDA result can
// differ from the CPU's only by the device's rounding of exp, tanh and erf.
// Plain C++ (host and device) with no dependency on either backend.
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/host_device.h"

namespace mixlab::kernels {

constexpr int kMaxBroadcastDims = 5;

// Broadcasting as per-operand strides over the output's dims (0 on
// broadcast axes).
struct BroadcastIndex {
  int ndim = 0;
  int64_t dims[kMaxBroadcastDims] = {};
  int64_t stride_a[kMaxBroadcastDims] = {};
  int64_t stride_b[kMaxBroadcastDims] = {};
};

enum class BinaryOp { Add, Sub, Mul, Div };

enum class UnaryOp { Exp, Log, Sqrt, Rsqrt, Square, Tanh, Sigmoid, Silu, GeluTanh, GeluErf, Softplus, Elu, Relu, Sin, Cos };

// Op parameters: softplus (p0 = beta, p1 = threshold), elu (p0 = alpha).
struct UnaryParams {
  double p0 = 0, p1 = 0;
};

template <BinaryOp op, typename T>
MIXLAB_HOST_DEVICE inline T binary_value(T x, T y) {
  if constexpr (op == BinaryOp::Add) return x + y;
  if constexpr (op == BinaryOp::Sub) return x - y;
  if constexpr (op == BinaryOp::Mul) return x * y;
  if constexpr (op == BinaryOp::Div) return x / y;
}

template <typename T>
MIXLAB_HOST_DEVICE inline T sigmoid_value(T x) {
  return T(1) / (T(1) + std::exp(-x));
}

constexpr double kSqrt2OverPi = 0.79788456080286535587989211986876;
constexpr double kInvSqrt2 = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;

// y = f(x)
template <UnaryOp op, typename T>
MIXLAB_HOST_DEVICE inline T unary_value(T v, T p0, T p1) {
  if constexpr (op == UnaryOp::Exp) return std::exp(v);
  if constexpr (op == UnaryOp::Log) return std::log(v);
  if constexpr (op == UnaryOp::Sqrt) return std::sqrt(v);
  if constexpr (op == UnaryOp::Rsqrt) return T(1) / std::sqrt(v);
  if constexpr (op == UnaryOp::Square) return v * v;
  if constexpr (op == UnaryOp::Tanh) return std::tanh(v);
  if constexpr (op == UnaryOp::Sigmoid) return sigmoid_value(v);
  if constexpr (op == UnaryOp::Silu) return v * sigmoid_value(v);
  if constexpr (op == UnaryOp::GeluTanh)
    return T(0.5) * v * (T(1) + std::tanh(T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v)));
  if constexpr (op == UnaryOp::GeluErf) return T(0.5) * v * (T(1) + std::erf(v * T(kInvSqrt2)));
  // Linear above the threshold, as torch.
  if constexpr (op == UnaryOp::Softplus) return p0 * v > p1 ? v : std::log1p(std::exp(p0 * v)) / p0;
  if constexpr (op == UnaryOp::Elu) return v > T(0) ? v : p0 * std::expm1(v);
  if constexpr (op == UnaryOp::Relu) return v > T(0) ? v : T(0);
  if constexpr (op == UnaryOp::Sin) return std::sin(v);
  if constexpr (op == UnaryOp::Cos) return std::cos(v);
}

// f'(x), given x and y = f(x)
template <UnaryOp op, typename T>
MIXLAB_HOST_DEVICE inline T unary_derivative(T v, T f, T p0, T p1) {
  if constexpr (op == UnaryOp::Exp) return f;
  if constexpr (op == UnaryOp::Log) return T(1) / v;
  if constexpr (op == UnaryOp::Sqrt) return T(0.5) / f;
  if constexpr (op == UnaryOp::Rsqrt) return T(-0.5) * f / v;
  if constexpr (op == UnaryOp::Square) return T(2) * v;
  if constexpr (op == UnaryOp::Tanh) return T(1) - f * f;
  if constexpr (op == UnaryOp::Sigmoid) return f * (T(1) - f);
  if constexpr (op == UnaryOp::Silu) {
    const T s = sigmoid_value(v);
    return s * (T(1) + v * (T(1) - s));
  }
  if constexpr (op == UnaryOp::GeluTanh) {
    const T u = T(kSqrt2OverPi) * (v + T(0.044715) * v * v * v);
    const T t = std::tanh(u);
    const T du = T(kSqrt2OverPi) * (T(1) + T(3 * 0.044715) * v * v);
    return T(0.5) * (T(1) + t) + T(0.5) * v * (T(1) - t * t) * du;
  }
  if constexpr (op == UnaryOp::GeluErf)
    return T(0.5) * (T(1) + std::erf(v * T(kInvSqrt2))) + v * T(kInvSqrt2Pi) * std::exp(T(-0.5) * v * v);
  if constexpr (op == UnaryOp::Softplus) return p0 * v > p1 ? T(1) : sigmoid_value(p0 * v);
  if constexpr (op == UnaryOp::Elu) return v > T(0) ? T(1) : f + p0;
  if constexpr (op == UnaryOp::Relu) return v > T(0) ? T(1) : T(0);
  if constexpr (op == UnaryOp::Sin) return std::cos(v);
  if constexpr (op == UnaryOp::Cos) return -std::sin(v);
}

// Calls body(std::integral_constant<Op, op>{}) for the run-time `op`, so the
// loop inside body is compiled once per op with the formula inlined.
template <typename Body>
void dispatch_binary(BinaryOp op, Body&& body) {
  switch (op) {
    case BinaryOp::Add: return body(std::integral_constant<BinaryOp, BinaryOp::Add>{});
    case BinaryOp::Sub: return body(std::integral_constant<BinaryOp, BinaryOp::Sub>{});
    case BinaryOp::Mul: return body(std::integral_constant<BinaryOp, BinaryOp::Mul>{});
    case BinaryOp::Div: return body(std::integral_constant<BinaryOp, BinaryOp::Div>{});
  }
}

template <typename Body>
void dispatch_unary(UnaryOp op, Body&& body) {
  switch (op) {
#define MIXLAB_UNARY_CASE(NAME) \
  case UnaryOp::NAME: return body(std::integral_constant<UnaryOp, UnaryOp::NAME>{});
    MIXLAB_UNARY_CASE(Exp)
    MIXLAB_UNARY_CASE(Log)
    MIXLAB_UNARY_CASE(Sqrt)
    MIXLAB_UNARY_CASE(Rsqrt)
    MIXLAB_UNARY_CASE(Square)
    MIXLAB_UNARY_CASE(Tanh)
    MIXLAB_UNARY_CASE(Sigmoid)
    MIXLAB_UNARY_CASE(Silu)
    MIXLAB_UNARY_CASE(GeluTanh)
    MIXLAB_UNARY_CASE(GeluErf)
    MIXLAB_UNARY_CASE(Softplus)
    MIXLAB_UNARY_CASE(Elu)
    MIXLAB_UNARY_CASE(Relu)
    MIXLAB_UNARY_CASE(Sin)
    MIXLAB_UNARY_CASE(Cos)
#undef MIXLAB_UNARY_CASE
  }
}

}  // namespace mixlab::kernels
