#pragma once
// Optimizer ops: in-place updates of parameters and their gradients. They
// record nothing on the tape (an optimizer step is not differentiated); the
// optimizers in train/ call these, never a kernel.
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

// One parameter of an AdamW step: param, grad, m, v of one shape, dtype and
// device; weight_decay already chosen for this parameter (0: not decayed).
struct AdamWParameter {
  Tensor param, grad, m, v;
  double weight_decay;
};

struct AdamWHyperparameters {
  double lr, beta1, beta2, eps;
  double bias_correction1, bias_correction2;  // 1 - beta^t
};

// One AdamW update of every listed parameter, in place (PyTorch semantics:
// decoupled decay p -= lr·wd·p, then the bias-corrected Adam step). All on one
// device and dtype; on a GPU in one launch.
void adamw_step_(const std::vector<AdamWParameter>& params, const AdamWHyperparameters& h);

// x (any shape) -> sum of x², accumulated in double in a fixed order
// (deterministic on each device).
double sum_of_squares(const Tensor& x);

// x (any shape) *= factor, in place.
void scale_(const Tensor& x, double factor);

// Throws, naming `op`, when x lives on a GPU whose optimizer kernels are not
// verified yet (docs/cuda.md): lets an optimizer refuse at construction
// rather than at its first step.
void require_optimizer_kernels(const char* op, const Tensor& x);

}  // namespace mixlab
