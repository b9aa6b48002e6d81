// `rwkv6`: RWKV-6 "Finch" (Peng et al. 2024), the official BlinkDL RWKV-LM
// `RWKV-v5/src/model.py::RWKV_Tmix_x060` time-mix, optionally followed by its
// channel-mix `RWKV_CMix_x060`. Written from the equations, no code copied.
//
// Time-mix, C = d_model channels, H = C / S heads of head size S:
//   xx = shift(x) − x, shift(x)_t = x_{t−1} (0 at t = 0)
//   ddlerp: xxx = x + xx ⊙ μ_x;  [m_w, m_k, m_v, m_r, m_g] = tanh(xxx W1) W2
//           (W1: C × 5r, W2: 5 × r × C, r = rwkv6.mix_lora);  x_* = x + xx ⊙ (μ_* + m_*)
//   r = W_r x_r, k = W_k x_k, v = W_v x_v, g = silu(W_g x_g)   (no biases)
//   w_raw = time_decay + tanh(x_w Wd1) Wd2   (Wd1: C × d, Wd2: d × C, d = rwkv6.decay_lora)
//   log decay lw = −exp(w_raw), passed to the WKV as is (decay = e^{lw}; never
//   log(exp(−exp(w))), docs/mixers.md numerical trap 4)
//   WKV per head (layers/mixers/wkv6.h): o_t = r_tᵀ(S_{t−1} + diag(u) k_t⊗v_t),
//   S_t = diag(e^{lw_t}) S_{t−1} + k_t⊗v_t, u = time_faaaa (H × S); no 1/√S scale.
//   y = W_o (GroupNorm_H(o) ⊙ g), GroupNorm eps rwkv6.norm_eps (official
//   1e-5·head_size_divisor² = 6.4e-4), affine per channel.
// Inits (official): with r0 = layer/(L−1) (0 when L = 1) and r1 = 1 − layer/L,
//   μ_x, μ_w, μ_k = 1 − (i/C)^r1;  μ_v = 1 − ((i/C)^r1 + 0.3 r0);  μ_r, μ_g = 1 − (i/C)^(r1/2)
//   W1, Wd1 = 0;  W2, Wd2 ~ U(±0.01)
//   time_decay_n = −6 + 5 (n/(C−1))^(0.7 + 1.3 r0)
//   time_faaaa_n = r0 (1 − n/(C−1)) + 0.1·((n+1) mod 3 − 1)   (n over all C channels)
//   GroupNorm weight ((1 + layer)/L)^0.7, bias 0.
//
// Channel-mix (rwkv6.channel_mix = true, the default). The official block is
//   x ← x + tmix(ln1(x));  x ← x + cmix(ln2(x)),
// while a mixlab block is x ← x + mixer(norm(x)); x ← x + ffn(norm(x)). The
// mixer only sees n = norm(x), never the residual x, so the official ln2(x + tm)
// cannot be formed inside it. This mixer returns
//   y = tm + cmix(LN(n + tm)),  tm = tmix(n),
// with its own LayerNorm (eps 1e-5, affine; `ln2`) and the channel-mix of
// layers/mixers/rwkv6_channel_mix.h. With model.ffn = none the block becomes
//   x ← x + tm + cmix(LN(norm(x) + tm)),
// which differs from the official block only in that LN sees norm(x) + tm
// instead of x + tm (the residual stream before the block's norm); everything
// else (both token shifts, the squared-ReLU key, the sigmoid receptance) is the
// official computation. With rwkv6.channel_mix = false the mixer is the pure
// time-mix, to pair with model.ffn = mlp/swiglu. Channel-mix hidden width
// rwkv6.ffn_hidden, 0 = the official int(3.5·C) rounded down to a multiple of
// 32 (at least 32, so small test widths work).
//
// Conventions of this implementation:
//   - dim_att = C (the official default); head size rwkv6.head_size, 0 = the
//     official 64 capped at d_model: one head of 64 at the quick setting's
//     d_model 64 (state 64×64), one head of d_model at smaller widths.
//   - Projections r, k, v, g and the channel-mix key/receptance are
//     N(0, ctx.init_std); W_o and the channel-mix value N(0, ctx.out_std)
//     (mixlab's convention) instead of the official orthogonal / zero inits.
//   - LoRA ranks are options (the official doubles both at n_embd 4096).
//   - The WKV state has the dtype of the run (F32 in training, F64 in tests);
//     the official CUDA kernel keeps an fp32 state under bf16 activations.
//   - Parameter names follow the official ones (time_maa_x, time_decay_w1,
//     receptance.weight, ln_x.weight, ffn.key.weight, ln2.weight, ...), under
//     blocks.{i}.mixer instead of blocks.{i}.att / .ffn / .ln2; μ and
//     time_decay are stored as (C) instead of (1, 1, C).
//
// Where flash-linear-attention's `fla/layers/rwkv6.py::RWKV6Attention` differs
// (mixlab follows the official model, docs/mixers.md convention 4):
//   - Widths: fla has expand_k = 0.5 (r, k and the decay are C/2 wide, so its
//     state per head is (C/2H) × (C/H)), expand_v = 1 and num_heads = 4 at any
//     width; here r, k, v, g and the decay are all C wide, in heads of S.
//   - LoRA ranks: the same numbers (fla proj_low_rank_dim 32 for ddlerp,
//     gate_low_rank_dim 64 for the decay), but fla's ddlerp LoRA adds a learned
//     bias per target and is packaged as LerpLinear/DDLerpLinear modules (other
//     parameter names); r, k, v, g are full projections in both.
//   - GroupNorm eps: fla 1e-5 (norm_eps); official and here 6.4e-4.
//   - Scale: fla's layer calls its kernels with scale 1 like the official model
//     and this mixer, but fla's naive recurrent reference defaults to K^(−½)
//     while its chunk_naive has none (docs/mixers.md, rwkv6); nothing here
//     scales r.
//   - Init: fla uses xavier_uniform (gain 2^−2.5) for every Linear and a zero
//     bonus u; here the official ramps (above) and mixlab's normal init.
//   - fla's attention layer has no channel-mix (its RWKV6Block adds one as the
//     ffn with its own norm, as the official block).
//
// Forms (rwkv6.form): fused (default; the gated-scan kernel of
// autograd/ops/gated_scan.h in its bonus form, rwkv6.chunk_size tokens per
// chunk), chunked (the same algorithm from ops, rwkv6.chunk_size = 64 tokens
// per chunk, sub-chunks of rwkv6.sub_chunk = 8, see wkv6.cpp) or recurrent
// (token by token). Sub-chunk 8 rather than fla's 16: on the CPU, WKV forward+backward
// at B 4, T 1024, S 64 took 38 ms with 64/8, 53 ms with 64/16, 98 ms with 64/32
// (recurrent: ~590 ms).
// Decoding keeps the time-mix x_{t−1} (C), the channel-mix input u_{t−1} (C, with
// the channel-mix) and the WKV state (H·S·S); prefill runs the configured form
// from that state.
#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"
#include "layers/mixers/rwkv6_channel_mix.h"
#include "layers/mixers/wkv6.h"
#include "layers/norms.h"

namespace mixlab {

namespace {

enum class WkvForm { Fused, Chunked, Recurrent };

struct Rwkv6Options {
  int64_t head_size = 0, mix_lora = 32, decay_lora = 64, ffn_hidden = 0, chunk_size = 64, sub_chunk = 8;
  bool channel_mix = true;
  std::string form = "fused";
  double norm_eps = 6.4e-4;
};

constexpr double kChannelMixNormEps = 1e-5;  // torch.nn.LayerNorm's default, as the official ln2
constexpr int kMixes = 5;                    // ddlerp targets, in the official order w, k, v, r, g

struct Rwkv6State : MixerState {
  Tensor tmix_prev;  // (B, 1, C): the time-mix input of the last token
  Tensor cmix_prev;  // (B, 1, C): the channel-mix input of the last token (channel_mix only)
  Tensor wkv;        // (B, H, S, S)
  std::vector<Tensor> tensors() const override { return {tmix_prev, cmix_prev, wkv}; }
};

// GroupNorm with one group per head over (..., C) laid out as heads of S
// channels, affine per channel (official `ln_x`).
class HeadGroupNorm : public Module {
 public:
  HeadGroupNorm(int64_t channels, double init_weight) {
    weight = register_parameter("weight", Tensor::full({channels}, init_weight));
    bias = register_parameter("bias", Tensor::zeros({channels}));
  }
  // o (B, H, T, S) -> (B, T, H·S)
  Tensor forward(const Tensor& o, double eps) const {
    const int64_t B = o.size(0), H = o.size(1), T = o.size(2), S = o.size(3);
    Tensor normed = layer_norm(permute(o, {0, 2, 1, 3}), Tensor(), Tensor(), eps);
    return add(mul(normed.reshape({B, T, H * S}), weight), bias);
  }
  Tensor weight, bias;
};

class Rwkv6 : public SequenceMixer {
 public:
  Rwkv6(const MixerContext& ctx, const Rwkv6Options& o, Generator& gen)
      : d_model_(ctx.d_model), mix_lora_(o.mix_lora), decay_lora_(o.decay_lora), chunk_(o.chunk_size),
        sub_chunk_(o.sub_chunk), channel_mix_(o.channel_mix), eps_(o.norm_eps) {
    const std::string& section = ctx.section;
    head_size_ = o.head_size > 0 ? o.head_size : std::min<int64_t>(64, d_model_);
    MIXLAB_CHECK(d_model_ % head_size_ == 0, section, ".head_size: d_model ", d_model_,
                 " is not divisible by head size ", head_size_, o.head_size == 0 ? " (0 = min(64, d_model))" : "");
    n_heads_ = d_model_ / head_size_;
    MIXLAB_CHECK(o.chunk_size % o.sub_chunk == 0, section, ".chunk_size: ", o.chunk_size,
                 " must be a positive multiple of ", section, ".sub_chunk = ", o.sub_chunk);
    form_ = o.form == "fused" ? WkvForm::Fused : o.form == "chunked" ? WkvForm::Chunked : WkvForm::Recurrent;

    const int64_t C = d_model_;
    const double layer = ctx.layer_index, L = ctx.n_layers;
    const double r0 = ctx.n_layers > 1 ? layer / (L - 1) : 0.0;  // ratio_0_to_1
    const double r1 = 1.0 - layer / L;                          // ratio_1_to_almost0
    NoGradGuard no_grad;
    time_maa_x_ = register_parameter("time_maa_x", rwkv6_shift_ramp(C, r1));
    time_maa_[0] = register_parameter("time_maa_w", rwkv6_shift_ramp(C, r1));
    time_maa_[1] = register_parameter("time_maa_k", rwkv6_shift_ramp(C, r1));
    time_maa_[2] = register_parameter("time_maa_v", add(rwkv6_shift_ramp(C, r1), -0.3 * r0));
    time_maa_[3] = register_parameter("time_maa_r", rwkv6_shift_ramp(C, 0.5 * r1));
    time_maa_[4] = register_parameter("time_maa_g", rwkv6_shift_ramp(C, 0.5 * r1));
    time_maa_w1_ = register_parameter("time_maa_w1", Tensor::zeros({C, kMixes * mix_lora_}));
    time_maa_w2_ = register_parameter("time_maa_w2", Tensor::zeros({kMixes, mix_lora_, C}));
    uniform_(time_maa_w2_, -0.01, 0.01, gen);
    std::vector<double> decay(C), bonus(C);
    const double last = std::max<double>(C - 1, 1);
    for (int64_t n = 0; n < C; ++n) {
      decay[n] = -6.0 + 5.0 * std::pow(n / last, 0.7 + 1.3 * r0);
      bonus[n] = r0 * (1.0 - n / last) + 0.1 * static_cast<double>((n + 1) % 3 - 1);
    }
    time_decay_ = register_parameter("time_decay", Tensor::from_vector(decay, {C}));
    time_decay_w1_ = register_parameter("time_decay_w1", Tensor::zeros({C, decay_lora_}));
    time_decay_w2_ = register_parameter("time_decay_w2", Tensor::zeros({decay_lora_, C}));
    uniform_(time_decay_w2_, -0.01, 0.01, gen);
    time_faaaa_ = register_parameter("time_faaaa", Tensor::from_vector(bonus, {n_heads_, head_size_}));
    receptance_ = register_module("receptance", std::make_shared<Linear>(C, C, gen, false, ctx.init_std));
    key_ = register_module("key", std::make_shared<Linear>(C, C, gen, false, ctx.init_std));
    value_ = register_module("value", std::make_shared<Linear>(C, C, gen, false, ctx.init_std));
    gate_ = register_module("gate", std::make_shared<Linear>(C, C, gen, false, ctx.init_std));
    output_ = register_module("output", std::make_shared<Linear>(C, C, gen, false, ctx.out_std));
    ln_x_ = register_module("ln_x", std::make_shared<HeadGroupNorm>(C, std::pow((1.0 + layer) / L, 0.7)));
    if (channel_mix_) {
      const int64_t hidden = o.ffn_hidden > 0 ? o.ffn_hidden : std::max<int64_t>(32, static_cast<int64_t>(3.5 * C) / 32 * 32);
      ln2_ = register_module("ln2", std::make_shared<LayerNorm>(C, kChannelMixNormEps));
      ffn_ = register_module("ffn", std::make_shared<Rwkv6ChannelMix>(C, hidden, ctx.layer_index, ctx.n_layers,
                                                                     ctx.init_std, ctx.out_std, gen));
    }
  }

  std::string name() const override { return "rwkv6"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // x (B,T,C) -> (B,T,C)
  Tensor forward(const Tensor& x) override { return run(x, nullptr, form_); }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    auto s = std::make_unique<Rwkv6State>();
    const DType dt = output_->weight.dtype();
    const Device dev = output_->weight.device();
    s->tmix_prev = Tensor::zeros({batch, 1, d_model_}, dt, dev);
    if (channel_mix_) s->cmix_prev = Tensor::zeros({batch, 1, d_model_}, dt, dev);
    s->wkv = Tensor::zeros({batch, n_heads_, head_size_, head_size_}, dt, dev);
    return s;
  }

  // x_t (B,C) -> (B,C): one step of the recurrence.
  Tensor step(const Tensor& x_t, MixerState& state) override {
    const int64_t B = x_t.size(0);
    Tensor y = run(x_t.reshape({B, 1, d_model_}), &dynamic_cast<Rwkv6State&>(state), WkvForm::Recurrent);
    state.position++;
    return y.reshape({B, d_model_});
  }

  // x (B,T,C) -> (B,T,C) through the configured form, continuing from `state`.
  Tensor prefill(const Tensor& x, MixerState& state) override {
    MIXLAB_CHECK(x.ndim() == 3 && x.size(2) == d_model_, "rwkv6.prefill: x must be (B, T, ", d_model_, "), got ",
                 x.describe());
    Tensor y = run(x, &dynamic_cast<Rwkv6State&>(state), form_);
    state.position += x.size(1);
    return y;
  }

  // Shift state(s) and the WKV state, constant in the context.
  int64_t state_bytes(int64_t) const override {
    return ((channel_mix_ ? 2 : 1) * d_model_ + n_heads_ * head_size_ * head_size_) * 4;
  }

  Tensor reference_forward(const Tensor& x) const override;

 private:
  // (B,T,C) -> (B,H,T,S)
  Tensor heads(const Tensor& y, int64_t B, int64_t T) const {
    return permute(y.reshape({B, T, n_heads_, head_size_}), {0, 2, 1, 3});
  }

  // The mixer on x (B,T,C), from `state` (advanced past x) or from zeros.
  Tensor run(const Tensor& x, Rwkv6State* state, WkvForm form) const {
    const int64_t B = x.size(0), T = x.size(1), C = d_model_;
    const Tensor xx = sub(rwkv6_token_shift(x, state ? state->tmix_prev : Tensor()), x);
    // ddlerp: five data-dependent mixing offsets from one low-rank projection.
    Tensor hidden = tanh(matmul(add(x, mul(xx, time_maa_x_)), time_maa_w1_));                   // (B,T,5r)
    Tensor offsets = matmul(permute(hidden.reshape({B * T, kMixes, mix_lora_}), {1, 0, 2}), time_maa_w2_);  // (5,BT,C)
    Tensor mixed[kMixes];
    for (int j = 0; j < kMixes; ++j)
      mixed[j] = add(x, mul(xx, add(time_maa_[j], slice(offsets, 0, j, j + 1).reshape({B, T, C}))));
    const Tensor& xw = mixed[0];
    Tensor r = heads(receptance_->forward(mixed[3]), B, T);
    Tensor k = heads(key_->forward(mixed[1]), B, T);
    Tensor v = heads(value_->forward(mixed[2]), B, T);
    Tensor g = silu(gate_->forward(mixed[4]));
    Tensor w_raw = add(time_decay_, matmul(tanh(matmul(xw, time_decay_w1_)), time_decay_w2_));
    Tensor log_decay = heads(neg(exp(w_raw)), B, T);  // −exp(w_raw), carried in log space
    Tensor wkv_in = state ? state->wkv : Tensor();
    WkvResult wkv = form == WkvForm::Fused     ? wkv6_fused(r, k, v, log_decay, time_faaaa_, wkv_in, chunk_)
                    : form == WkvForm::Chunked ? wkv6_chunked(r, k, v, log_decay, time_faaaa_, wkv_in, chunk_, sub_chunk_)
                                               : wkv6_recurrent(r, k, v, log_decay, time_faaaa_, wkv_in);
    Tensor tm = output_->forward(mul(ln_x_->forward(wkv.out, eps_), g));
    if (state) {
      state->tmix_prev = slice(x, 1, T - 1, T);
      state->wkv = wkv.state;
    }
    if (!channel_mix_) return tm;
    Tensor u = ln2_->forward(add(x, tm));
    Tensor y = add(tm, ffn_->forward(u, state ? state->cmix_prev : Tensor()));
    if (state) state->cmix_prev = slice(u, 1, T - 1, T);
    return y;
  }

  int64_t d_model_, mix_lora_, decay_lora_, chunk_, sub_chunk_;
  bool channel_mix_;
  double eps_;
  int64_t head_size_ = 0, n_heads_ = 0;
  WkvForm form_ = WkvForm::Fused;
  Tensor time_maa_x_, time_maa_[kMixes], time_maa_w1_, time_maa_w2_;
  Tensor time_decay_, time_decay_w1_, time_decay_w2_, time_faaaa_;
  std::shared_ptr<Linear> receptance_, key_, value_, gate_, output_;
  std::shared_ptr<HeadGroupNorm> ln_x_;
  std::shared_ptr<LayerNorm> ln2_;
  std::shared_ptr<Rwkv6ChannelMix> ffn_;
};

// Plain F64 loops over the equations at the top of this file: per token the
// shift, ddlerp, projections, decay exp(−exp(w_raw)) as a number, the WKV
// recurrence with the bonus, GroupNorm, gate and W_o; then the channel-mix.
Tensor Rwkv6::reference_forward(const Tensor& x) const {
  using namespace reference;
  const int64_t B = x.size(0), T = x.size(1), C = d_model_, H = n_heads_, S = head_size_, R = mix_lora_,
                DL = decay_lora_;
  const std::vector<double> xs = x.to_vector();
  const std::vector<double> mu_x = time_maa_x_.to_vector(), W1 = time_maa_w1_.to_vector(),
                            W2 = time_maa_w2_.to_vector(), td = time_decay_.to_vector(),
                            Wd1 = time_decay_w1_.to_vector(), Wd2 = time_decay_w2_.to_vector(),
                            u = time_faaaa_.to_vector(), gn_w = ln_x_->weight.to_vector(),
                            gn_b = ln_x_->bias.to_vector();
  std::vector<std::vector<double>> mu(kMixes);
  for (int j = 0; j < kMixes; ++j) mu[j] = time_maa_[j].to_vector();
  const Matrix Wr = host(receptance_->weight), Wk = host(key_->weight), Wv = host(value_->weight),
               Wg = host(gate_->weight), Wo = host(output_->weight);
  const std::vector<double> none;
  std::vector<double> out(B * T * C);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> prev(C, 0.0), prev_u(C, 0.0), state(H * S * S, 0.0);
    for (int64_t t = 0; t < T; ++t) {
      const double* xt = &xs[(b * T + t) * C];
      std::vector<double> xx(C), xxx(C);
      for (int64_t c = 0; c < C; ++c) {
        xx[c] = prev[c] - xt[c];
        xxx[c] = xt[c] + xx[c] * mu_x[c];
      }
      std::vector<double> lora(kMixes * R);
      for (int64_t a = 0; a < kMixes * R; ++a) {
        double acc = 0;
        for (int64_t c = 0; c < C; ++c) acc += xxx[c] * W1[c * kMixes * R + a];
        lora[a] = std::tanh(acc);
      }
      std::vector<std::vector<double>> xm(kMixes, std::vector<double>(C));  // x_w, x_k, x_v, x_r, x_g
      for (int j = 0; j < kMixes; ++j)
        for (int64_t c = 0; c < C; ++c) {
          double m = 0;
          for (int64_t a = 0; a < R; ++a) m += lora[j * R + a] * W2[(j * R + a) * C + c];
          xm[j][c] = xt[c] + xx[c] * (mu[j][c] + m);
        }
      const std::vector<double> r = linear(Wr, none, xm[3].data()), k = linear(Wk, none, xm[1].data()),
                                v = linear(Wv, none, xm[2].data()), gl = linear(Wg, none, xm[4].data());
      std::vector<double> dh(DL), decay(C);
      for (int64_t a = 0; a < DL; ++a) {
        double acc = 0;
        for (int64_t c = 0; c < C; ++c) acc += xm[0][c] * Wd1[c * DL + a];
        dh[a] = std::tanh(acc);
      }
      for (int64_t c = 0; c < C; ++c) {
        double w = td[c];
        for (int64_t a = 0; a < DL; ++a) w += dh[a] * Wd2[a * C + c];
        decay[c] = std::exp(-std::exp(w));
      }
      std::vector<double> o(C, 0.0);
      for (int64_t h = 0; h < H; ++h) {
        double* Sh = &state[h * S * S];
        for (int64_t j = 0; j < S; ++j) {
          double acc = 0;
          for (int64_t i = 0; i < S; ++i)
            acc += r[h * S + i] * (Sh[i * S + j] + u[h * S + i] * k[h * S + i] * v[h * S + j]);
          o[h * S + j] = acc;
        }
        for (int64_t i = 0; i < S; ++i)
          for (int64_t j = 0; j < S; ++j)
            Sh[i * S + j] = decay[h * S + i] * Sh[i * S + j] + k[h * S + i] * v[h * S + j];
        double mean = 0, var = 0;
        for (int64_t j = 0; j < S; ++j) mean += o[h * S + j] / S;
        for (int64_t j = 0; j < S; ++j) var += (o[h * S + j] - mean) * (o[h * S + j] - mean) / S;
        for (int64_t j = 0; j < S; ++j) {
          const int64_t c = h * S + j;
          const double gate = gl[c] / (1.0 + std::exp(-gl[c]));
          o[c] = ((o[c] - mean) / std::sqrt(var + eps_) * gn_w[c] + gn_b[c]) * gate;
        }
      }
      std::vector<double> y = linear(Wo, none, o.data());
      std::copy(xt, xt + C, prev.begin());
      if (channel_mix_) {
        const std::vector<double> lw = ln2_->weight.to_vector(), lb = ln2_->bias.to_vector(),
                                  mk = ffn_->time_maa_k.to_vector(), mr = ffn_->time_maa_r.to_vector();
        const Matrix Kw = host(ffn_->key->weight), Rw = host(ffn_->receptance->weight), Vw = host(ffn_->value->weight);
        std::vector<double> un(C);
        double mean = 0, var = 0;
        for (int64_t c = 0; c < C; ++c) mean += (xt[c] + y[c]) / C;
        for (int64_t c = 0; c < C; ++c) var += (xt[c] + y[c] - mean) * (xt[c] + y[c] - mean) / C;
        for (int64_t c = 0; c < C; ++c) un[c] = (xt[c] + y[c] - mean) / std::sqrt(var + kChannelMixNormEps) * lw[c] + lb[c];
        std::vector<double> xk(C), xr(C);
        for (int64_t c = 0; c < C; ++c) {
          xk[c] = un[c] + (prev_u[c] - un[c]) * mk[c];
          xr[c] = un[c] + (prev_u[c] - un[c]) * mr[c];
        }
        std::vector<double> kk = linear(Kw, none, xk.data());
        for (double& e : kk) e = e > 0 ? e * e : 0.0;
        const std::vector<double> kv = linear(Vw, none, kk.data()), rr = linear(Rw, none, xr.data());
        for (int64_t c = 0; c < C; ++c) y[c] += kv[c] / (1.0 + std::exp(-rr[c]));
        prev_u = un;
      }
      std::copy(y.begin(), y.end(), out.begin() + (b * T + t) * C);
    }
  }
  return Tensor::from_vector(out, {B, T, C}, DType::F64);
}

}  // namespace

MixerSpec rwkv6_mixer_spec() {
  using O = Rwkv6Options;
  return define_mixer<O>(
      "rwkv6",
      "RWKV-6 Finch (official RWKV-LM x060): ddlerp token shift, data-dependent decay, WKV with bonus, "
      "GroupNorm + silu gate, optional channel-mix; chunked/recurrent forms, O(1) decode state",
      OptionTable<O>()
          .add("head_size", &O::head_size, "WKV head size S (state S x S per head); 0 = min(64, d_model) (official 64)",
               at_least(int64_t{0}))
          .add("mix_lora", &O::mix_lora, "rank of the ddlerp LoRA (official 32)", at_least(int64_t{1}))
          .add("decay_lora", &O::decay_lora, "rank of the decay LoRA (official 64)", at_least(int64_t{1}))
          .add("channel_mix", &O::channel_mix,
               "follow the time-mix with the RWKV channel-mix: y = tm + cmix(LN(x + tm)); false = pure time-mix "
               "(pair with model.ffn)")
          .add("ffn_hidden", &O::ffn_hidden,
               "channel-mix hidden width; 0 = int(3.5 d_model) down to a multiple of 32, at least 32 (official)",
               at_least(int64_t{0}))
          .add("form", &O::form,
               "fused (the gated-scan kernel, hand-written backward) | chunked (batched chunk matmuls of ops) | "
               "recurrent (token by token); equal up to rounding",
               one_of({"fused", "chunked", "recurrent"}))
          .add("chunk_size", &O::chunk_size, "tokens per chunk of the fused and chunked forms (a multiple of sub_chunk)",
               at_least(int64_t{1}))
          .add("sub_chunk", &O::sub_chunk,
               "sub-chunk of the chunked form: matmuls between sub-chunks, element-wise inside one (fla 16; 8 "
               "measured fastest on CPU)",
               at_least(int64_t{1}))
          .add("norm_eps", &O::norm_eps, "GroupNorm eps (official 1e-5 * head_size_divisor^2 = 6.4e-4; fla 1e-5)",
               greater_than(0.0)),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<Rwkv6>(ctx, o, gen);
      },
      {{"head_size=2", "mix_lora=2", "decay_lora=3", "ffn_hidden=6", "chunk_size=4", "sub_chunk=2", "form=chunked"},
       {"channel_mix=false", "head_size=4", "mix_lora=2", "decay_lora=2", "chunk_size=3", "sub_chunk=1"},
       {"form=recurrent", "mix_lora=3", "decay_lora=4", "ffn_hidden=5"}});
}

}  // namespace mixlab
