#include "layers/causal_conv.h"

#include <cmath>

#include "autograd/ops.h"
#include "layers/init.h"

namespace mixlab {

CausalConv1d::CausalConv1d(int64_t c, int64_t k, Generator& gen, bool with_bias) : channels(c), kernel_size(k) {
  MIXLAB_CHECK(c > 0 && k > 0, "CausalConv1d: channels and kernel_size must be > 0, got ", c, " and ", k);
  const double bound = 1.0 / std::sqrt(static_cast<double>(k));
  weight = register_parameter("weight", Tensor::empty({c, k}));
  uniform_(weight, -bound, bound, gen);
  if (with_bias) {
    bias = register_parameter("bias", Tensor::empty({c}));
    uniform_(bias, -bound, bound, gen);
  }
}

Tensor CausalConv1d::forward(const Tensor& x) const {
  check_module_input(describe(), x, channels, weight.dtype());
  MIXLAB_CHECK(x.ndim() == 3, describe(), ": input ", x.describe(), " must be (B, T, C)");
  return causal_conv1d(x, weight, bias);
}

Tensor CausalConv1d::step(const Tensor& window) const {
  MIXLAB_CHECK(window.ndim() == 3 && window.size(1) == kernel_size && window.size(2) == channels, describe(),
               ": step window ", window.describe(), " must be (B, ", kernel_size, ", ", channels, ")");
  // out[b, c] = bias[c] + sum_j w[c, j] * window[b, j, c]
  Tensor out = sum(mul(window, transpose(weight, 0, 1)), 1);
  return bias.defined() ? add(out, bias) : out;
}

std::string CausalConv1d::describe() const {
  return "CausalConv1d(channels=" + std::to_string(channels) + ", kernel_size=" + std::to_string(kernel_size) + ")";
}

}  // namespace mixlab
