#pragma once
// Elementwise kernels over host buffers. Broadcasting is expressed with
// per-operand strides over the output's dims (stride 0 on broadcast axes);
// the formulas are kernels/elementwise_math.h's, shared with CUDA.
#include <cstdint>

#include "kernels/elementwise_math.h"

namespace mixlab::cpu {

using kernels::BinaryOp;
using kernels::BroadcastIndex;
using kernels::kMaxBroadcastDims;
using kernels::UnaryOp;
using kernels::UnaryParams;

// out (dims) = a op b, each read through its broadcast strides.
template <typename T>
void binary(BinaryOp op, const BroadcastIndex& ix, const T* a, const T* b, T* out);

// out (dims) = a read through stride_a (stride_b is ignored): broadcasting copy.
template <typename T>
void broadcast_copy(const BroadcastIndex& ix, const T* a, T* out);

// out = a * s + t (scalar affine; covers add-scalar, mul-scalar, neg).
template <typename T>
void affine(const T* a, T* out, int64_t n, double s, double t);

// y = f(x)
template <typename T>
void unary_forward(UnaryOp op, UnaryParams p, const T* x, T* y, int64_t n);
// gx = gy * f'(x), given x and y = f(x)
template <typename T>
void unary_backward(UnaryOp op, UnaryParams p, const T* x, const T* y, const T* gy, T* gx, int64_t n);

}  // namespace mixlab::cpu
