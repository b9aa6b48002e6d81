// `mamba2`: the Mamba-2 block (Dao & Gu 2024; docs/mixers.md), following
// state-spaces/mamba `mamba_ssm/modules/mamba2.py` (`Mamba2`). Written from
// the equations, no code copied.
//
//   [z, x, B, C, dt] = in_proj(u)            z, x: d_in = expand·D; B, C: G·N; dt: H
//   [x, B, C] = silu(conv1d([x, B, C]))      depthwise causal, width d_conv, with bias
//   dt = softplus(dt + dt_bias);  A_h = −exp(A_log_h)
//   per head h (P = headdim, H = d_in/P; head h reads group g = h / (H/G)):
//     h_t = exp(dt_t·A_h)·h_{t−1} + dt_t·x_t ⊗ B_t      (state N×P)
//     y_t = C_tᵀ h_t + D_h·x_t
//   y = rmsnorm(y ⊙ silu(z)) · w   per group of d_in/G channels, eps 1e-5
//       (norm after the gate, as Mamba2's RMSNormGated(norm_before_gate=False);
//        mamba_split_conv1d_scan_ref normalises over all of d_in instead,
//        which differs when G > 1; docs/mixers.md, mamba2)
//   out = out_proj(y)                          no biases in either projection
//
// Forms (mamba2.form): chunked runs the SSD recurrence through the fused gated
// scan (autograd/ops/gated_scan.h: C as queries, B as keys, dt·x as values,
// log decay dt·A per head; chunk-level GEMMs, decays in log space, hand-written
// backward), which is the four-step SSD algorithm; recurrent runs it token by
// token with ops. Both start from a decode state, so `prefill` is the chunked
// form continuing from the conv tail and the SSM state.
//
// Initialisation as Mamba2: A_log = log U[A_init_min, A_init_max]; dt drawn
// log-uniform in [dt_min, dt_max], floored at dt_floor, dt_bias = its inverse
// softplus; D = 1; conv weight and bias U(±1/√d_conv) (torch's Conv1d); norm
// weight 1; in_proj N(0, init_std), out_proj N(0, out_std) (mixlab's convention
// instead of torch's Linear default).
//
// Defaults: d_state 16, headdim 16, expand 2, ngroups 1, d_conv 4, chunk 64.
// The reference's are d_state 128, headdim 64, chunk 256 (Mamba2Simple: 64 and
// 128), sized for d_model ≥ 768; the small defaults keep every d_model ≥ 8
// valid, and experiments set the reference values where the model is big
// enough (experiments/mqar/mamba2.ini).
//
// Decode state per sequence: the last d_conv−1 conv inputs ((d_conv−1)·(d_in +
// 2GN) values; the reference stores d_conv, one of them always overwritten)
// and the SSM state H·N·P.
#include <cmath>

#include "autograd/ops.h"
#include "layers/causal_conv.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

struct Mamba2Options {
  int64_t d_state = 16, d_conv = 4, expand = 2, headdim = 16, ngroups = 1, chunk_size = 64;
  std::string form = "chunked";
  double dt_min = 1e-3, dt_max = 1e-1, dt_floor = 1e-4, A_init_min = 1.0, A_init_max = 16.0;
};

constexpr double kNormEps = 1e-5;

struct Mamba2State : MixerState {
  Tensor conv;  // (B, d_conv−1, d_in + 2GN): the last conv inputs, oldest first
  Tensor ssm;   // (B, H, N, P)
  std::vector<Tensor> tensors() const override { return {conv, ssm}; }
};

class Mamba2 : public SequenceMixer {
 public:
  Mamba2(const MixerContext& ctx, const Mamba2Options& o, Generator& gen)
      : d_model_(ctx.d_model), d_in_(o.expand * ctx.d_model), N_(o.d_state), P_(o.headdim), G_(o.ngroups),
        K_(o.d_conv), chunk_(o.chunk_size), recurrent_(o.form == "recurrent") {
    const std::string& section = ctx.section;
    MIXLAB_CHECK(d_in_ % o.headdim == 0, section, ".headdim = ", o.headdim, " must divide d_in = expand·d_model = ",
                 d_in_);
    H_ = d_in_ / P_;
    MIXLAB_CHECK(H_ % o.ngroups == 0, section, ".ngroups = ", o.ngroups, " must divide the ", H_,
                 " heads (d_in / headdim)");
    MIXLAB_CHECK(o.dt_min <= o.dt_max, section, ".dt_min/dt_max = ", o.dt_min, "/", o.dt_max,
                 ": need dt_min <= dt_max");
    MIXLAB_CHECK(o.A_init_min <= o.A_init_max, section, ".A_init_min/A_init_max = ", o.A_init_min, "/",
                 o.A_init_max, ": need min <= max");
    conv_dim_ = d_in_ + 2 * G_ * N_;
    in_proj_ = register_module(
        "in_proj", std::make_shared<Linear>(d_model_, 2 * d_in_ + 2 * G_ * N_ + H_, gen, false, ctx.init_std));
    conv_ = register_module("conv1d", std::make_shared<CausalConv1d>(conv_dim_, K_, gen));
    // dt: log-uniform in [dt_min, dt_max], floored; dt_bias = softplus⁻¹(dt).
    Tensor u = Tensor::uniform({H_}, gen, 0.0, 1.0, DType::F64);
    std::vector<double> dt_bias(H_), A_log(H_), D(H_, 1.0);
    const std::vector<double> uv = u.to_vector();
    for (int64_t h = 0; h < H_; ++h) {
      const double dt = std::max(
          o.dt_floor, std::exp(uv[h] * (std::log(o.dt_max) - std::log(o.dt_min)) + std::log(o.dt_min)));
      dt_bias[h] = dt + std::log(-std::expm1(-dt));
    }
    const std::vector<double> a = Tensor::uniform({H_}, gen, o.A_init_min, o.A_init_max, DType::F64).to_vector();
    for (int64_t h = 0; h < H_; ++h) A_log[h] = std::log(a[h]);
    dt_bias_ = register_parameter("dt_bias", Tensor::from_vector(dt_bias, {H_}));
    A_log_ = register_parameter("A_log", Tensor::from_vector(A_log, {H_}));
    D_ = register_parameter("D", Tensor::from_vector(D, {H_}));
    norm_weight_ = register_parameter("norm_weight", Tensor::ones({d_in_}));
    out_proj_ = register_module("out_proj", std::make_shared<Linear>(d_in_, d_model_, gen, false, ctx.out_std));
  }

  std::string name() const override { return "mamba2"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  Tensor forward(const Tensor& u) override { return run(u, nullptr); }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    auto s = std::make_unique<Mamba2State>();
    const DType dt = in_proj_->weight.dtype();
    s->conv = Tensor::zeros({batch, K_ - 1, conv_dim_}, dt, in_proj_->weight.device());
    s->ssm = Tensor::zeros({batch, H_, N_, P_}, dt, in_proj_->weight.device());
    return s;
  }

  Tensor prefill(const Tensor& u, MixerState& state) override {
    auto& s = dynamic_cast<Mamba2State&>(state);
    Tensor y = run(u, &s);
    s.position += u.size(1);
    return y;
  }

  Tensor step(const Tensor& u_t, MixerState& state) override { return step_through_prefill(u_t, state); }

  int64_t state_bytes(int64_t) const override { return ((K_ - 1) * conv_dim_ + H_ * N_ * P_) * 4; }

  Tensor reference_forward(const Tensor& u) const override;

 private:
  // u (B,T,D) -> (B,T,D), continuing from `state` (conv tail and SSM state)
  // when given and leaving the updated state there; from zeros otherwise.
  Tensor run(const Tensor& u, Mamba2State* state) const {
    const int64_t B = u.size(0), T = u.size(1), GN = G_ * N_;
    Tensor zxbcdt = in_proj_->forward(u);
    Tensor z = slice(zxbcdt, -1, 0, d_in_);
    Tensor xbc = slice(zxbcdt, -1, d_in_, d_in_ + conv_dim_);
    Tensor dt_raw = slice(zxbcdt, -1, d_in_ + conv_dim_, d_in_ + conv_dim_ + H_);
    // The conv sees the cached inputs before this piece (zeros at the start).
    if (state && K_ > 1) {
      Tensor joined = concat({state->conv, xbc}, 1);
      state->conv = slice(joined, 1, T, T + K_ - 1);
      xbc = slice(conv_->forward(joined), 1, K_ - 1, K_ - 1 + T);
    } else {
      xbc = conv_->forward(xbc);
    }
    xbc = silu(xbc);
    Tensor x = slice(xbc, -1, 0, d_in_);
    Tensor Bm = slice(xbc, -1, d_in_, d_in_ + GN), Cm = slice(xbc, -1, d_in_ + GN, d_in_ + 2 * GN);
    Tensor dt = softplus(add(dt_raw, dt_bias_));                    // (B,T,H)
    Tensor log_decay = mul(dt, neg(exp(A_log_)));                   // dt·A ≤ 0
    Tensor xh = permute(x.reshape({B, T, H_, P_}), {0, 2, 1, 3});    // (B,H,T,P)
    Tensor dth = permute(dt, {0, 2, 1}).reshape({B, H_, T, 1});
    Tensor q = permute(Cm.reshape({B, T, G_, N_}), {0, 2, 1, 3});   // (B,G,T,N)
    Tensor k = permute(Bm.reshape({B, T, G_, N_}), {0, 2, 1, 3});
    Tensor v = mul(xh, dth);                                         // dt·x
    Tensor g = permute(log_decay, {0, 2, 1}).reshape({B, H_, T, 1});
    Tensor initial = state ? state->ssm : Tensor();
    Tensor y = recurrent_ ? recurrence(q, k, v, g, initial, state ? &state->ssm : nullptr)
                          : gated_scan(q, k, v, g, Tensor(), initial, {.chunk = chunk_}, state ? &state->ssm : nullptr);
    y = add(y, mul(xh, D_.reshape({1, H_, 1, 1})));                  // D skip
    y = permute(y, {0, 2, 1, 3}).reshape({B, T, d_in_});
    // Gated RMSNorm per group: rmsnorm(y ⊙ silu(z)) · w.
    Tensor gated = mul(y, silu(z)).reshape({B, T, G_, d_in_ / G_});
    Tensor normed = mul(rms_norm(gated, Tensor(), kNormEps).reshape({B, T, d_in_}), norm_weight_);
    return out_proj_->forward(normed);
  }

  // The recurrence token by token: S_t = exp(g_t) S_{t−1} + k_t v_tᵀ,
  // y_t = S_tᵀ q_t; head h reads group h / (H/G).
  Tensor recurrence(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& g, const Tensor& initial,
                    Tensor* final_state) const {
    const int64_t B = v.size(0), T = v.size(2);
    std::vector<int64_t> group(H_);
    for (int64_t h = 0; h < H_; ++h) group[h] = h / (H_ / G_);
    const Tensor idx = Tensor::from_indices(group, {H_}, v.device());
    Tensor qh = index_select(q, 1, idx), kh = index_select(k, 1, idx);  // (B,H,T,N)
    Tensor S = initial.defined() ? initial : Tensor::zeros({B, H_, N_, P_}, v.dtype(), v.device());
    std::vector<Tensor> ys;
    for (int64_t t = 0; t < T; ++t) {
      Tensor decay = exp(slice(g, 2, t, t + 1));  // (B,H,1,1)
      S = add(mul(S, decay), matmul(slice(kh, 2, t, t + 1), slice(v, 2, t, t + 1), true, false));
      ys.push_back(matmul(slice(qh, 2, t, t + 1), S));
    }
    if (final_state) *final_state = S.detach();
    return concat(ys, 2);
  }

  int64_t d_model_, d_in_, N_, P_, G_, K_, chunk_;
  bool recurrent_;
  int64_t H_ = 0, conv_dim_ = 0;
  std::shared_ptr<Linear> in_proj_, out_proj_;
  std::shared_ptr<CausalConv1d> conv_;
  Tensor dt_bias_, A_log_, D_, norm_weight_;
};

// Plain F64 loops of the block, from the equations above.
Tensor Mamba2::reference_forward(const Tensor& u) const {
  using namespace reference;
  const int64_t B = u.size(0), T = u.size(1), D = d_model_, GN = G_ * N_, Cc = conv_dim_;
  const std::vector<double> us = u.to_vector(), none;
  const Matrix Win = host(in_proj_->weight), Wout = host(out_proj_->weight), Wc = host(conv_->weight);
  const std::vector<double> bc = values(conv_->bias), dt_bias = dt_bias_.to_vector(), A_log = A_log_.to_vector(),
                            Dskip = D_.to_vector(), w = norm_weight_.to_vector();
  auto silu = [](double a) { return a / (1.0 + std::exp(-a)); };
  auto softplus = [](double a) { return a > 20.0 ? a : std::log1p(std::exp(a)); };
  std::vector<double> out(B * T * D);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<std::vector<double>> proj(T);
    for (int64_t t = 0; t < T; ++t) proj[t] = linear(Win, none, &us[(b * T + t) * D]);
    std::vector<std::vector<double>> S(H_, std::vector<double>(N_ * P_, 0.0));  // S[h][n*P + p]
    for (int64_t t = 0; t < T; ++t) {
      std::vector<double> xbc(Cc);  // conv over the inputs t−K+1..t, then silu
      for (int64_t c = 0; c < Cc; ++c) {
        double acc = bc.empty() ? 0.0 : bc[c];
        for (int64_t j = 0; j < K_; ++j) {
          const int64_t src = t - K_ + 1 + j;
          if (src >= 0) acc += Wc(c, j) * proj[src][d_in_ + c];
        }
        xbc[c] = silu(acc);
      }
      std::vector<double> y(d_in_);
      for (int64_t h = 0; h < H_; ++h) {
        const int64_t grp = h / (H_ / G_);
        const double dt = softplus(proj[t][d_in_ + Cc + h] + dt_bias[h]);
        const double decay = std::exp(-dt * std::exp(A_log[h]));
        for (int64_t n = 0; n < N_; ++n)
          for (int64_t p = 0; p < P_; ++p) {
            double& s = S[h][n * P_ + p];
            s = decay * s + dt * xbc[h * P_ + p] * xbc[d_in_ + grp * N_ + n];
          }
        for (int64_t p = 0; p < P_; ++p) {
          double acc = 0;
          for (int64_t n = 0; n < N_; ++n) acc += xbc[d_in_ + GN + grp * N_ + n] * S[h][n * P_ + p];
          y[h * P_ + p] = acc + Dskip[h] * xbc[h * P_ + p];
        }
      }
      const int64_t gs = d_in_ / G_;
      for (int64_t grp = 0; grp < G_; ++grp) {
        double ms = 0;
        for (int64_t i = grp * gs; i < (grp + 1) * gs; ++i) {
          y[i] *= silu(proj[t][i]);
          ms += y[i] * y[i];
        }
        const double inv = 1.0 / std::sqrt(ms / static_cast<double>(gs) + kNormEps);
        for (int64_t i = grp * gs; i < (grp + 1) * gs; ++i) y[i] *= inv * w[i];
      }
      const std::vector<double> o = linear(Wout, none, y.data());
      std::copy(o.begin(), o.end(), out.begin() + (b * T + t) * D);
    }
  }
  return Tensor::from_vector(out, {B, T, D}, DType::F64);
}

}  // namespace

MixerSpec mamba2_mixer_spec() {
  using O = Mamba2Options;
  return define_mixer<O>(
      "mamba2",
      "Mamba-2 block (SSD): in_proj, causal conv, selective scan with per-head decay, gated RMSNorm; chunked/recurrent",
      OptionTable<O>()
          .add("d_state", &O::d_state, "SSM state size N per head (reference: 128)", at_least(int64_t{1}))
          .add("d_conv", &O::d_conv, "causal conv width", at_least(int64_t{1}))
          .add("expand", &O::expand, "d_in = expand · d_model", at_least(int64_t{1}))
          .add("headdim", &O::headdim, "channels P per head; heads H = d_in / P (reference: 64)", at_least(int64_t{1}))
          .add("ngroups", &O::ngroups, "groups of B/C shared by H/G heads", at_least(int64_t{1}))
          .add("chunk_size", &O::chunk_size, "tokens per chunk of the chunked scan (reference: 256)",
               at_least(int64_t{1}))
          .add("form", &O::form, "chunked (fused SSD scan) | recurrent (token by token); equal up to rounding",
               one_of({"chunked", "recurrent"}))
          .add("dt_min", &O::dt_min, "dt init range, low", greater_than(0.0))
          .add("dt_max", &O::dt_max, "dt init range, high", greater_than(0.0))
          .add("dt_floor", &O::dt_floor, "dt init floor", greater_than(0.0))
          .add("A_init_min", &O::A_init_min, "A = -U[min, max] at init", greater_than(0.0))
          .add("A_init_max", &O::A_init_max, "A = -U[min, max] at init", greater_than(0.0)),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<Mamba2>(ctx, o, gen);
      },
      {{"d_state=3", "headdim=4", "ngroups=2", "chunk_size=3"},
       {"d_state=2", "headdim=4", "form=recurrent", "d_conv=2"},
       {"d_state=4", "headdim=2", "ngroups=4", "expand=1", "chunk_size=2"}});
}

}  // namespace mixlab
