#pragma once
// Reductions over one axis (negative axes count from the end) or all elements.
#include "autograd/tensor.h"

namespace mixlab {

Tensor sum(const Tensor& x);  // all elements -> shape ()
Tensor sum(const Tensor& x, int axis, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, int axis, bool keepdim = false);
// Maximum over an axis; the gradient goes to the first maximal element.
Tensor max(const Tensor& x, int axis, bool keepdim = false);
// Index (i64) of the first maximal element along an axis; not differentiable.
Tensor argmax(const Tensor& x, int axis, bool keepdim = false);

}  // namespace mixlab
