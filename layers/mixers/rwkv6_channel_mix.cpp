#include "layers/mixers/rwkv6_channel_mix.h"

#include <cmath>
#include <vector>

#include "autograd/ops.h"

namespace mixlab {

Tensor rwkv6_token_shift(const Tensor& x, const Tensor& previous) {
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  const Tensor first = previous.defined() ? previous : Tensor::zeros({B, 1, C}, x.dtype(), x.device());
  return T == 1 ? first : concat({first, slice(x, 1, 0, T - 1)}, 1);
}

Tensor rwkv6_shift_ramp(int64_t channels, double power) {
  std::vector<double> mu(channels);
  for (int64_t i = 0; i < channels; ++i)
    mu[i] = 1.0 - std::pow(static_cast<double>(i) / static_cast<double>(channels), power);
  return Tensor::from_vector(mu, {channels});
}

Rwkv6ChannelMix::Rwkv6ChannelMix(int64_t d_model_, int64_t hidden_, int layer_index, int n_layers, double init_std,
                                 double out_std, Generator& gen)
    : d_model(d_model_), hidden(hidden_) {
  const double ratio_1_to_almost0 = 1.0 - static_cast<double>(layer_index) / static_cast<double>(n_layers);
  time_maa_k = register_parameter("time_maa_k", rwkv6_shift_ramp(d_model, ratio_1_to_almost0));
  time_maa_r = register_parameter("time_maa_r", rwkv6_shift_ramp(d_model, ratio_1_to_almost0));
  key = register_module("key", std::make_shared<Linear>(d_model, hidden, gen, false, init_std));
  receptance = register_module("receptance", std::make_shared<Linear>(d_model, d_model, gen, false, init_std));
  value = register_module("value", std::make_shared<Linear>(hidden, d_model, gen, false, out_std));
}

Tensor Rwkv6ChannelMix::forward(const Tensor& u, const Tensor& previous) const {
  const Tensor xx = sub(rwkv6_token_shift(u, previous), u);
  const Tensor k = square(relu(key->forward(add(u, mul(xx, time_maa_k)))));
  return mul(sigmoid(receptance->forward(add(u, mul(xx, time_maa_r)))), value->forward(k));
}

}  // namespace mixlab
