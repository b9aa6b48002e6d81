// `gla`: Gated Linear Attention (Yang, Wang, Shen, Panda, Kim 2023, "Gated
// Linear Attention Transformers with Hardware-Efficient Training", §4.4 the
// GLA layer), with the defaults of flash-linear-attention's layer
// `fla/layers/gla.py::GatedLinearAttention`. Written from the equations, no
// code copied.
//
// Widths: key width Dk = ⌊expand_k·D⌋, value width Dv = ⌊expand_v·D⌋, H heads
// of dk = Dk/H and dv = Dv/H (paper and fla: expand_k 0.5, expand_v 1, H 4).
//   q = W_q x, k = W_k x (D → Dk), v = W_v x (D → Dv); no biases.
//   Gate (low rank r = gla.gate_low_rank_dim, 16; τ = gla.gate_logit_normalizer, 16):
//     z = W_α2 (W_α1 x) + b_α        (W_α1: D → r without bias, W_α2: r → Dk with bias b_α)
//     log α_t = logsigmoid(z) / τ     i.e. α_t = sigmoid(z)^(1/τ) ∈ (0, 1), per key channel
//   Feature map φ on q and k (gla.feature_map: none as the paper and fla's
//   default, relu, swish).
//   Per head:  S_t = diag(α_t) S_{t−1} + k_t v_tᵀ     (S: dk × dv)
//              o_t = dk^(−½) · S_tᵀ q_t                (fla's kernels default to
//              scale dk^(−½); the paper writes o_t = q_t S_t)
//   Normaliser per head over its dv channels (gla.norm): rms (fla's RMSNorm)
//   or layer (the paper's LayerNorm of each head's output, a GroupNorm with one
//   group per head); eps gla.norm_eps (1e-5), one affine weight (and bias for
//   layer) of dv shared by the heads when gla.norm_affine (fla's
//   elementwise_affine; the norm module is dv wide).
//   Output gate (gla.output_gate, default on): r = swish(W_r x + b_r), b_r only
//   with gla.gate_bias (the paper has it, fla's g_proj has none);
//   y = W_o (norm(o) ⊙ r); without the gate y = W_o norm(o).
//
// Forms (gla.form): chunked (the fused gated scan of autograd/ops/gated_scan.h
// with per-key-channel log decay: chunk-level GEMMs, 16-token sub-chunks
// around a reference point, hand-written backward; gla.chunk_size tokens per
// chunk) or recurrent (token by token from ops, the same arithmetic as step()).
// Both continue from a decode state, so prefill is the configured form from
// the state; step is one token of the recurrence.
// Decode state per sequence: S, H·dk·dv values (no shift or conv state).
//
// Where this departs from fla (docs/mixers.md, gla):
//   - Init: projections N(0, ctx.init_std), o_proj N(0, ctx.out_std), biases 0
//     (mixlab's convention) instead of fla's xavier_uniform with gain 2^−2.5.
//   - Not here: fla's optional short convolutions on q/k/v (use_short_conv,
//     off by default; mixlab models put a shortconv layer in the pattern),
//     num_kv_heads, clamp_min on the log gate (None by default), gate_fn other
//     than swish.
//   - Parameter names follow fla (q_proj, k_proj, v_proj, g_proj, gk_proj.0,
//     gk_proj.1, o_proj, g_norm), except that fla's fused norm-and-gate module
//     is g_norm_swish_gate; here the norm is always g_norm.
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

enum class GlaForm { Chunked, Recurrent };
enum class GlaFeatureMap { None, Relu, Swish };
enum class GlaNorm { Rms, Layer };

struct GlaOptions {
  int64_t n_heads = 4, gate_low_rank_dim = 16, chunk_size = 64;
  double expand_k = 0.5, expand_v = 1.0, gate_logit_normalizer = 16.0, norm_eps = 1e-5;
  GlaFeatureMap feature_map = GlaFeatureMap::None;
  GlaNorm norm = GlaNorm::Rms;
  bool norm_affine = true, output_gate = true, gate_bias = false;
  GlaForm form = GlaForm::Chunked;
};

struct GlaState : MixerState {
  Tensor S;  // (B, H, dk, dv)
  std::vector<Tensor> tensors() const override { return {S}; }
};

class Gla : public SequenceMixer {
 public:
  Gla(const MixerContext& ctx, const GlaOptions& o, Generator& gen)
      : d_model_(ctx.d_model), n_heads_(o.n_heads), rank_(o.gate_low_rank_dim), chunk_(o.chunk_size),
        tau_(o.gate_logit_normalizer), eps_(o.norm_eps), feature_map_(o.feature_map), norm_(o.norm),
        output_gate_(o.output_gate), form_(o.form) {
    const std::string& section = ctx.section;
    key_dim_ = static_cast<int64_t>(o.expand_k * static_cast<double>(d_model_));
    value_dim_ = static_cast<int64_t>(o.expand_v * static_cast<double>(d_model_));
    MIXLAB_CHECK(key_dim_ >= n_heads_ && key_dim_ % n_heads_ == 0, section, ".expand_k: the key width ⌊",
                 o.expand_k, "·", d_model_, "⌋ = ", key_dim_, " must be a positive multiple of ", section,
                 ".n_heads = ", n_heads_);
    MIXLAB_CHECK(value_dim_ >= n_heads_ && value_dim_ % n_heads_ == 0, section, ".expand_v: the value width ⌊",
                 o.expand_v, "·", d_model_, "⌋ = ", value_dim_, " must be a positive multiple of ", section,
                 ".n_heads = ", n_heads_);
    dk_ = key_dim_ / n_heads_;
    dv_ = value_dim_ / n_heads_;
    scale_ = 1.0 / std::sqrt(static_cast<double>(dk_));
    const double std = ctx.init_std;
    q_proj_ = register_module("q_proj", std::make_shared<Linear>(d_model_, key_dim_, gen, false, std));
    k_proj_ = register_module("k_proj", std::make_shared<Linear>(d_model_, key_dim_, gen, false, std));
    v_proj_ = register_module("v_proj", std::make_shared<Linear>(d_model_, value_dim_, gen, false, std));
    if (output_gate_)
      g_proj_ = register_module("g_proj", std::make_shared<Linear>(d_model_, value_dim_, gen, o.gate_bias, std));
    auto gk = register_module("gk_proj", std::make_shared<ModuleList>());
    gk_down_ = gk->push_back(std::make_shared<Linear>(d_model_, rank_, gen, false, std));
    gk_up_ = gk->push_back(std::make_shared<Linear>(rank_, key_dim_, gen, true, std));
    o_proj_ = register_module("o_proj", std::make_shared<Linear>(value_dim_, d_model_, gen, false, ctx.out_std));
    if (o.norm_affine) {
      auto norm = register_module("g_norm", std::make_shared<Module>());
      norm_weight_ = norm->register_parameter("weight", Tensor::ones({dv_}));
      if (norm_ == GlaNorm::Layer) norm_bias_ = norm->register_parameter("bias", Tensor::zeros({dv_}));
    }
  }

  std::string name() const override { return "gla"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // x (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& x) override { return run(x, nullptr, form_); }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    auto s = std::make_unique<GlaState>();
    s->S = Tensor::zeros({batch, n_heads_, dk_, dv_}, q_proj_->weight.dtype(), q_proj_->weight.device());
    return s;
  }

  // x_t (B,D) -> (B,D): one token of the recurrence.
  Tensor step(const Tensor& x_t, MixerState& state) override {
    const int64_t B = x_t.size(0);
    Tensor y = run(x_t.reshape({B, 1, d_model_}), &dynamic_cast<GlaState&>(state), GlaForm::Recurrent);
    state.position++;
    return y.reshape({B, d_model_});
  }

  // x (B,T,D) -> (B,T,D): the configured form continuing from `state`.
  Tensor prefill(const Tensor& x, MixerState& state) override {
    MIXLAB_CHECK(x.ndim() == 3 && x.size(2) == d_model_, "gla.prefill: x must be (B, T, ", d_model_, "), got ",
                 x.describe());
    Tensor y = run(x, &dynamic_cast<GlaState&>(state), form_);
    state.position += x.size(1);
    return y;
  }

  // S per head: H·dk·dv values at F32, constant in the context.
  int64_t state_bytes(int64_t) const override { return n_heads_ * dk_ * dv_ * 4; }

  Tensor reference_forward(const Tensor& x) const override;

 private:
  // (B,T,H·d) -> (B,H,T,d)
  Tensor heads(const Tensor& y, int64_t B, int64_t T, int64_t d) const {
    return permute(y.reshape({B, T, n_heads_, d}), {0, 2, 1, 3});
  }

  Tensor feature(const Tensor& t) const {
    switch (feature_map_) {
      case GlaFeatureMap::Relu: return relu(t);
      case GlaFeatureMap::Swish: return silu(t);
      case GlaFeatureMap::None: break;
    }
    return t;
  }

  // Token by token from ops: S = diag(α_t) S + k_t v_tᵀ, o_t = scale·S_tᵀ q_t.
  // q, k, log_alpha (B,H,T,dk); v (B,H,T,dv); S (B,H,dk,dv) -> o (B,H,T,dv).
  Tensor recurrent(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& log_alpha, Tensor& S) const {
    const int64_t B = q.size(0), T = q.size(2);
    std::vector<Tensor> outs;
    for (int64_t t = 0; t < T; ++t) {
      Tensor alpha = exp(slice(log_alpha, 2, t, t + 1)).reshape({B, n_heads_, dk_, 1});
      S = add(mul(S, alpha), matmul(slice(k, 2, t, t + 1), slice(v, 2, t, t + 1), true, false));
      outs.push_back(mul(matmul(slice(q, 2, t, t + 1), S), scale_));
    }
    return concat(outs, 2);
  }

  // The mixer on x (B,T,D), from `state` (advanced past x) or from zeros.
  Tensor run(const Tensor& x, GlaState* state, GlaForm form) const {
    const int64_t B = x.size(0), T = x.size(1);
    Tensor q = feature(heads(q_proj_->forward(x), B, T, dk_));
    Tensor k = feature(heads(k_proj_->forward(x), B, T, dk_));
    Tensor v = heads(v_proj_->forward(x), B, T, dv_);
    // log α = logsigmoid(z)/τ = −softplus(−z)/τ, kept in log space for the scan.
    Tensor z = gk_up_->forward(gk_down_->forward(x));
    Tensor log_alpha = heads(mul(softplus(neg(z)), -1.0 / tau_), B, T, dk_);
    Tensor o;  // (B,H,T,dv)
    if (form == GlaForm::Chunked) {
      Tensor S0 = state ? state->S : Tensor();
      o = gated_scan(q, k, v, log_alpha, Tensor(), S0, {.chunk = chunk_, .scale = scale_}, state ? &state->S : nullptr);
    } else {
      Tensor S = state ? state->S : Tensor::zeros({B, n_heads_, dk_, dv_}, x.dtype(), x.device());
      o = recurrent(q, k, v, log_alpha, S);
      if (state) state->S = S;
    }
    Tensor normed = norm_ == GlaNorm::Rms ? rms_norm(o, norm_weight_, eps_) : layer_norm(o, norm_weight_, norm_bias_, eps_);
    Tensor merged = permute(normed, {0, 2, 1, 3}).reshape({B, T, value_dim_});
    if (output_gate_) merged = mul(merged, silu(g_proj_->forward(x)));
    return o_proj_->forward(merged);
  }

  int64_t d_model_, n_heads_, rank_, chunk_;
  double tau_, eps_;
  GlaFeatureMap feature_map_;
  GlaNorm norm_;
  bool output_gate_;
  GlaForm form_;
  int64_t key_dim_ = 0, value_dim_ = 0, dk_ = 0, dv_ = 0;
  double scale_ = 1.0;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, g_proj_, gk_down_, gk_up_, o_proj_;
  Tensor norm_weight_, norm_bias_;  // (dv) each, undefined without norm_affine (bias: layer norm only)
};

// Plain F64 loops of the equations at the top of this file, token by token:
// the projections, α = sigmoid(z)^(1/τ) as a number, the recurrence
// S ← diag(α) S + k vᵀ, o = S ᵀq / √dk, the per-head norm, gate and W_o.
Tensor Gla::reference_forward(const Tensor& x) const {
  using namespace reference;
  const int64_t B = x.size(0), T = x.size(1), D = d_model_, H = n_heads_, dk = dk_, dv = dv_;
  const std::vector<double> xs = x.to_vector();
  const Matrix Wq = host(q_proj_->weight), Wk = host(k_proj_->weight), Wv = host(v_proj_->weight),
               W1 = host(gk_down_->weight), W2 = host(gk_up_->weight), Wo = host(o_proj_->weight);
  const Matrix Wg = output_gate_ ? host(g_proj_->weight) : Matrix{};
  const std::vector<double> b2 = values(gk_up_->bias), bg = output_gate_ ? values(g_proj_->bias) : std::vector<double>{},
                            nw = values(norm_weight_), nb = values(norm_bias_), none;
  auto phi = [&](double e) {
    switch (feature_map_) {
      case GlaFeatureMap::Relu: return e > 0 ? e : 0.0;
      case GlaFeatureMap::Swish: return e / (1.0 + std::exp(-e));
      case GlaFeatureMap::None: break;
    }
    return e;
  };
  std::vector<double> out(B * T * D);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> S(H * dk * dv, 0.0);
    for (int64_t t = 0; t < T; ++t) {
      const double* row = &xs[(b * T + t) * D];
      std::vector<double> q = linear(Wq, none, row), k = linear(Wk, none, row), v = linear(Wv, none, row);
      for (double& e : q) e = phi(e);
      for (double& e : k) e = phi(e);
      const std::vector<double> low = linear(W1, none, row), z = linear(W2, b2, low.data());
      std::vector<double> o(H * dv);
      for (int64_t h = 0; h < H; ++h) {
        double* Sh = &S[h * dk * dv];
        for (int64_t a = 0; a < dk; ++a) {
          const double alpha = std::pow(1.0 / (1.0 + std::exp(-z[h * dk + a])), 1.0 / tau_);
          for (int64_t c = 0; c < dv; ++c) Sh[a * dv + c] = alpha * Sh[a * dv + c] + k[h * dk + a] * v[h * dv + c];
        }
        for (int64_t c = 0; c < dv; ++c) {
          double acc = 0;
          for (int64_t a = 0; a < dk; ++a) acc += q[h * dk + a] * Sh[a * dv + c];
          o[h * dv + c] = acc / std::sqrt(static_cast<double>(dk));
        }
        double mean = 0, sq = 0;
        for (int64_t c = 0; c < dv; ++c) mean += o[h * dv + c] / dv;
        if (norm_ == GlaNorm::Rms) mean = 0;  // RMSNorm: no centring
        for (int64_t c = 0; c < dv; ++c) sq += (o[h * dv + c] - mean) * (o[h * dv + c] - mean) / dv;
        for (int64_t c = 0; c < dv; ++c) {
          double& e = o[h * dv + c];
          e = (e - mean) / std::sqrt(sq + eps_);
          if (!nw.empty()) e = e * nw[c] + (nb.empty() ? 0.0 : nb[c]);
        }
      }
      if (output_gate_) {
        const std::vector<double> g = linear(Wg, bg, row);
        for (int64_t c = 0; c < H * dv; ++c) o[c] *= g[c] / (1.0 + std::exp(-g[c]));
      }
      const std::vector<double> y = linear(Wo, none, o.data());
      std::copy(y.begin(), y.end(), out.begin() + (b * T + t) * D);
    }
  }
  return Tensor::from_vector(out, {B, T, D}, DType::F64);
}

}  // namespace

MixerSpec gla_mixer_spec() {
  using O = GlaOptions;
  return define_mixer<O>(
      "gla",
      "Gated Linear Attention (Yang et al. 2023; fla GatedLinearAttention): low-rank data-dependent key-channel "
      "gates, per-head RMS/LayerNorm, swish output gate; chunked (fused gated scan) or recurrent, O(1) decode state",
      OptionTable<O>()
          .add("n_heads", &O::n_heads, "heads; must divide the key and value widths (paper and fla: 4)",
               at_least(int64_t{1}))
          .add("expand_k", &O::expand_k, "key width = floor(expand_k * d_model) (paper and fla: 0.5)", greater_than(0.0))
          .add("expand_v", &O::expand_v, "value width = floor(expand_v * d_model) (paper and fla: 1)", greater_than(0.0))
          .add("gate_low_rank_dim", &O::gate_low_rank_dim, "rank of the gate projection W_a1 W_a2 (paper and fla: 16)",
               at_least(int64_t{1}))
          .add("gate_logit_normalizer", &O::gate_logit_normalizer,
               "tau in alpha = sigmoid(z)^(1/tau), i.e. log alpha = logsigmoid(z)/tau (paper and fla: 16)",
               greater_than(0.0))
          .add("feature_map", &O::feature_map, "feature map on q and k (paper and fla default: none)",
               named<GlaFeatureMap>(
                   {{"none", GlaFeatureMap::None}, {"relu", GlaFeatureMap::Relu}, {"swish", GlaFeatureMap::Swish}}))
          .add("norm", &O::norm,
               "normaliser of each head's output: rms (fla's RMSNorm) | layer (the paper's per-head LayerNorm)",
               named<GlaNorm>({{"rms", GlaNorm::Rms}, {"layer", GlaNorm::Layer}}))
          .add("norm_affine", &O::norm_affine, "learned weight (and bias for layer) of the norm, dv wide (fla: true)")
          .add("norm_eps", &O::norm_eps, "eps of the per-head norm (fla: 1e-5)", greater_than(0.0))
          .add("output_gate", &O::output_gate, "multiply by swish(W_r x) before o_proj (paper and fla: true)")
          .add("gate_bias", &O::gate_bias, "bias b_r in the output gate (the paper has it; fla: none)")
          .add("form", &O::form, "chunked (the fused gated scan) | recurrent (token by token); equal up to rounding",
               named<GlaForm>({{"chunked", GlaForm::Chunked}, {"recurrent", GlaForm::Recurrent}}))
          .add("chunk_size", &O::chunk_size, "tokens per chunk of the chunked form", at_least(int64_t{1})),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<Gla>(ctx, o, gen);
      },
      {{"feature_map=relu", "norm=layer", "form=recurrent", "gate_bias=true", "n_heads=2", "expand_k=1"},
       {"feature_map=swish", "output_gate=false", "norm_affine=false", "chunk_size=3", "n_heads=2", "expand_k=1"},
       {"n_heads=1", "expand_v=2", "gate_low_rank_dim=3", "chunk_size=5", "norm=layer", "norm_affine=false",
        "gate_logit_normalizer=2"}});
}

}  // namespace mixlab
