#include "layers/linear.h"

#include "autograd/ops.h"

namespace mixlab {

Linear::Linear(int64_t in_features, int64_t out_features, Generator& gen, bool bias, double init_std)
    : in_features(in_features), out_features(out_features) {
  MIXLAB_CHECK(in_features > 0 && out_features > 0, "Linear: in (", in_features, ") and out (", out_features,
               ") must be positive");
  weight = register_parameter("weight", Tensor::empty({out_features, in_features}));
  normal_(weight, init_std, gen);
  if (bias) this->bias = register_parameter("bias", Tensor::zeros({out_features}));
}

std::string Linear::describe() const {
  return detail::concat("Linear(in=", in_features, ", out=", out_features, ", bias=", bias.defined() ? "true" : "false",
                        ")");
}

Tensor Linear::forward(const Tensor& x) const {
  check_module_input(describe(), x, in_features, weight.dtype());
  // One (N, in) x (in, out)^T GEMM over all leading dims: reshape shares
  // storage, and a single large GEMM beats a batch of small ones.
  Shape out_shape = x.shape();
  out_shape[out_shape.ndim() - 1] = out_features;
  Tensor y = matmul(x.reshape({-1, in_features}), weight, false, true);
  if (bias.defined()) y = add(y, bias);
  return y.reshape(out_shape);
}

}  // namespace mixlab
