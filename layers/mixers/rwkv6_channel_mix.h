#pragma once
// Pieces of RWKV-6 shared by the `rwkv6` mixer (layers/mixers/rwkv6.cpp): the
// token shift, and the channel-mix (official RWKV-LM `RWKV_CMix_x060`).
#include <cstdint>
#include <memory>

#include "autograd/rng.h"
#include "layers/linear.h"
#include "layers/module.h"

namespace mixlab {

// x (B, T, C), previous (B, 1, C) or undefined (zeros) -> (B, T, C) holding
// x_{t−1} at t: `previous` at t = 0 (the official ZeroPad2d shift when zero; a
// decode state otherwise).
Tensor rwkv6_token_shift(const Tensor& x, const Tensor& previous);

// The official init of the token-shift mixing coefficients μ:
// 1 − (i / C)^power for channel i of C.
Tensor rwkv6_shift_ramp(int64_t channels, double power);

// Channel-mix: with xx = shift(u) − u,
//   k = relu(W_key (u + xx ⊙ μ_k))²,  out = σ(W_rec (u + xx ⊙ μ_r)) ⊙ W_val k.
// μ_k = μ_r = 1 − (i/C)^(1 − layer/n_layers), as the official init.
// Parameters: time_maa_k, time_maa_r (C), key (C→hidden), receptance (C→C),
// value (hidden→C); the official names, so weights port by name.
class Rwkv6ChannelMix : public Module {
 public:
  Rwkv6ChannelMix(int64_t d_model, int64_t hidden, int layer_index, int n_layers, double init_std, double out_std,
                  Generator& gen);

  // u (B, T, C), previous token's u (B, 1, C) or undefined -> (B, T, C)
  Tensor forward(const Tensor& u, const Tensor& previous) const;

  const int64_t d_model, hidden;
  Tensor time_maa_k, time_maa_r;  // (C)
  std::shared_ptr<Linear> key, receptance, value;
};

}  // namespace mixlab
