#pragma once
// Normalisation over the last axis, as torch.nn.RMSNorm / torch.nn.LayerNorm.
#include <string>

#include "layers/module.h"

namespace mixlab {

// x / sqrt(mean(x^2) + eps) * weight; weight starts at 1.
class RMSNorm : public TensorModule {
 public:
  explicit RMSNorm(int64_t dim, double eps = 1e-5);
  Tensor forward(const Tensor& x) const override;  // x (..., dim) -> (..., dim)
  std::string describe() const;

  const int64_t dim;
  const double eps;
  Tensor weight;  // (dim)
};

// (x - mean) / sqrt(var + eps) * weight + bias; weight starts at 1, bias at 0.
class LayerNorm : public TensorModule {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool bias = true);
  Tensor forward(const Tensor& x) const override;  // x (..., dim) -> (..., dim)
  std::string describe() const;

  const int64_t dim;
  const double eps;
  Tensor weight;  // (dim)
  Tensor bias;    // (dim), undefined without bias
};

}  // namespace mixlab
