#pragma once
#include "autograd/tensor.h"

namespace mixlab {

// a (..., M, K) or (..., K, M) when trans_a; b (..., K, N) or (..., N, K) when
// trans_b -> out (..., M, N). Batch dims of a and b must be equal, or b is 2-D
// and shared by every batch (a weight), or a is 2-D and shared.
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a = false, bool trans_b = false);

}  // namespace mixlab
