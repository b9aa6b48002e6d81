#include "layers/init.h"

#include <cmath>

namespace mixlab {

void normal_(const Tensor& t, double std, Generator& gen, double mean) {
  MIXLAB_CHECK(std >= 0, "normal_: std ", std, " is negative");
  NoGradGuard no_grad;
  t.copy_(Tensor::randn(t.shape(), gen, t.dtype(), t.device(), mean, std));
}

void uniform_(const Tensor& t, double low, double high, Generator& gen) {
  MIXLAB_CHECK(low <= high, "uniform_: low ", low, " is above high ", high);
  NoGradGuard no_grad;
  t.copy_(Tensor::uniform(t.shape(), gen, low, high, t.dtype(), t.device()));
}

void zeros_(const Tensor& t) {
  NoGradGuard no_grad;
  t.zero_();
}

void ones_(const Tensor& t) {
  NoGradGuard no_grad;
  t.copy_(Tensor::ones(t.shape(), t.dtype(), t.device()));
}

double scaled_residual_std(double base_std, int n_layers) {
  MIXLAB_CHECK(n_layers >= 1, "scaled_residual_std: n_layers ", n_layers, " must be at least 1");
  return base_std / std::sqrt(2.0 * n_layers);
}

}  // namespace mixlab
