#pragma once
// Elementwise ops. Binary ops broadcast NumPy-style (shapes aligned from the
// right, extents equal or 1); their backward sums the gradient back to each
// input's shape.
#include "autograd/tensor.h"

namespace mixlab {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, double s);
Tensor mul(const Tensor& a, double s);
Tensor neg(const Tensor& a);

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, double s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, double s) { return add(a, -s); }
inline Tensor operator*(const Tensor& a, double s) { return mul(a, s); }
inline Tensor operator*(double s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, double s) { return mul(a, 1.0 / s); }
inline Tensor operator-(const Tensor& a) { return neg(a); }

Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor square(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);  // x * sigmoid(x)
enum class GeluForm { Tanh, Erf };
Tensor gelu(const Tensor& x, GeluForm form = GeluForm::Tanh);
// log(1 + exp(beta x)) / beta, linear above `threshold` (as torch.nn.functional.softplus).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
Tensor elu(const Tensor& x, double alpha = 1.0);
Tensor relu(const Tensor& x);

// Broadcasts x to `shape` (a materialised copy); backward is sum_to.
Tensor expand(const Tensor& x, const Shape& shape);
// Sums `g` over broadcast axes so it has `shape` (the backward of broadcasting).
Tensor sum_to(const Tensor& g, const Shape& shape);
// The shape two broadcast operands produce; throws naming `op` when incompatible.
Shape broadcast_shape(const char* op, const Shape& a, const Shape& b);

}  // namespace mixlab
