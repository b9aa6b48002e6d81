#pragma once
// Linear: y = x W^T + b, as torch.nn.Linear (weight stored (out, in), so
// checkpoints load without transposing).
#include <string>

#include "autograd/rng.h"
#include "layers/init.h"
#include "layers/module.h"

namespace mixlab {

class Linear : public TensorModule {
 public:
  // weight ~ N(0, init_std), bias zeros.
  Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias = true,
         double init_std = kDefaultInitStd);

  // x (..., in) -> (..., out)
  Tensor forward(const Tensor& x) const override;
  std::string describe() const;  // "Linear(in=4, out=8, bias=true)"

  const int64_t in_features, out_features;
  Tensor weight;  // (out, in)
  Tensor bias;    // (out), undefined without bias
};

}  // namespace mixlab
