#pragma once
// In-place parameter initialisers. Each overwrites the tensor's elements under
// NoGradGuard, keeping its handle, dtype, device and requires_grad flag, so it
// can run on a registered parameter. Random fills use the counter-based
// Generator: the same seed gives the same weights on any thread count.
#include "autograd/rng.h"
#include "autograd/tensor.h"

namespace mixlab {

// The default std of Linear and Embedding weights (GPT-2's 0.02).
constexpr double kDefaultInitStd = 0.02;

void normal_(const Tensor& t, double std, Generator& gen, double mean = 0.0);
void uniform_(const Tensor& t, double low, double high, Generator& gen);
void zeros_(const Tensor& t);
void ones_(const Tensor& t);

// GPT-2's std for projections that write into the residual stream: each block
// adds two such outputs, so the residual's variance stays O(1) in depth when
// each is scaled by 1/sqrt(2 n_layers).
double scaled_residual_std(double base_std, int n_layers);

}  // namespace mixlab
