#include "layers/norms.h"

#include "autograd/ops.h"

namespace mixlab {

RMSNorm::RMSNorm(int64_t dim, double eps) : dim(dim), eps(eps) {
  MIXLAB_CHECK(dim > 0 && eps >= 0, "RMSNorm: dim (", dim, ") must be positive and eps (", eps, ") non-negative");
  weight = register_parameter("weight", Tensor::ones({dim}));
}

std::string RMSNorm::describe() const { return detail::concat("RMSNorm(dim=", dim, ", eps=", eps, ")"); }

Tensor RMSNorm::forward(const Tensor& x) const {
  check_module_input(describe(), x, dim, weight.dtype());
  return rms_norm(x, weight, eps);
}

LayerNorm::LayerNorm(int64_t dim, double eps, bool bias) : dim(dim), eps(eps) {
  MIXLAB_CHECK(dim > 0 && eps >= 0, "LayerNorm: dim (", dim, ") must be positive and eps (", eps, ") non-negative");
  weight = register_parameter("weight", Tensor::ones({dim}));
  if (bias) this->bias = register_parameter("bias", Tensor::zeros({dim}));
}

std::string LayerNorm::describe() const {
  return detail::concat("LayerNorm(dim=", dim, ", eps=", eps, ", bias=", bias.defined() ? "true" : "false", ")");
}

Tensor LayerNorm::forward(const Tensor& x) const {
  check_module_input(describe(), x, dim, weight.dtype());
  return layer_norm(x, weight, bias, eps);
}

}  // namespace mixlab
