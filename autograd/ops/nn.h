#pragma once
// Neural-network ops with fused kernels and hand-written backward.
#include <cstdint>

#include "autograd/rng.h"
#include "autograd/tensor.h"

namespace mixlab {

Tensor softmax(const Tensor& x, int axis = -1);
Tensor log_softmax(const Tensor& x, int axis = -1);
// logits (N, V), targets i64 (N) -> mean negative log-likelihood over the rows
// whose target != ignore_index (0 when every row is ignored), shape ().
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index = -100);
// Over the last axis: (x - mean) / sqrt(var + eps) * weight + bias; weight and
// bias (C) may be undefined (no affine).
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);
// Over the last axis: x / sqrt(mean(x^2) + eps) * weight; weight (C) may be undefined.
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps = 1e-5);
// Zeroes each element with probability p and scales survivors by 1/(1-p);
// identity when !training or p == 0. The mask comes from `gen` (counter-based).
Tensor dropout(const Tensor& x, double p, Generator& gen, bool training = true);

}  // namespace mixlab
