#pragma once
// Ops that run along the sequence axis.
#include "autograd/tensor.h"

namespace mixlab {

// Inclusive cumulative sum along `axis`; reverse sums from the end.
Tensor cumsum(const Tensor& x, int axis, bool reverse = false);
// x (B, T, C), weight (C, K), bias (C) or undefined -> (B, T, C):
// out[b,t,c] = bias[c] + sum_j weight[c,j] * x[b, t-K+1+j, c] (zero before t=0),
// i.e. torch Conv1d(groups=C, padding=K-1) truncated to the first T outputs.
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias);

}  // namespace mixlab
