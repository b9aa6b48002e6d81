#pragma once
// sin and cos, elementwise: the periodic activations of implicit long-conv
// filters (Hyena's FFN over positions). Unary functions like those of
// elementwise.h, defined beside them in elementwise.cpp on the same kernels.
#include "autograd/tensor.h"

namespace mixlab {

Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);

}  // namespace mixlab
