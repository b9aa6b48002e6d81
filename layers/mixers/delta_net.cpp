// `deltanet` and `gated_deltanet`: the delta-rule layers of Yang et al. 2024,
// "Parallelizing Linear Transformers with the Delta Rule over Sequence Length"
// (arXiv:2406.06484), and Yang, Kautz, Hatamizadeh 2024, "Gated Delta
// Networks: Improving Mamba2 with Delta Rule" (arXiv:2412.06464), following
// flash-linear-attention's `fla/layers/delta_net.py` (`DeltaNet`) and
// `fla/layers/gated_deltanet.py` (`GatedDeltaNet`) as the fact source for the
// layer around the recurrence (docs/mixers.md, deltanet). Written from the
// equations, no code copied.
//
// Per token x (H heads, key width dk, value width dv per head):
//   q, k, v = W_q x, W_k x, W_v x                       (no biases)
//   [q, k, v] = silu(conv([q, k, v]))                    depthwise causal, width conv_size
//                                                        (short_conv = false: silu without the conv)
//   q̂ = q / √(‖q‖² + 1e-6), k̂ likewise, per head      (fla's l2norm)
//   β = sigmoid(W_β x) per head (×2 with allow_neg_eigval; 1 without use_beta)
//   gated: α = exp(g), g = −exp(A_log) · softplus(W_a x + dt_bias) per head
//   per head, state S (dk × dv), read as o = Sᵀ q (mixlab's gated_scan convention):
//     S_t = α_t (I − β_t k̂_t k̂_tᵀ) S_{t−1} + β_t k̂_t v_tᵀ      (α = 1 for deltanet)
//     o_t = S_tᵀ q̂_t / √dk
//   o = rmsnorm(o) · w per head (eps 1e-5, w of width dv shared by the heads)
//       use_gate: rmsnorm(o) · w ⊙ silu(W_g x)  (norm before the gate, fla's
//       FusedRMSNormGated; Mamba-2 gates before its norm)
//   y = W_o o
// The recurrence runs in delta_scan (autograd/ops/delta_scan.h) as
// a = −α β k̂, b = k̂, key k̂, value β v, log decay g.
//
// Forms (form = chunked | recurrent | composed): chunked passes the per-head
// decay (or none), which runs the fused chunked WY/UT form; recurrent passes
// the same decay spelt per key channel (zeros for deltanet), which runs the
// fused token-by-token recurrence; composed runs the chunked form built from
// plain ops (layers/delta_scan_composed.h), the baseline the fused kernel is
// benchmarked against. Decode (step) is a one-token prefill; prefill
// continues from the conv tail and S.
//
// Inits: projections N(0, init_std), W_o N(0, out_std) (mixlab's convention);
// conv U(±1/√conv_size) as torch's Conv1d (fla's ShortConvolution); norm weight
// 1; gated: A = U(A_init_min, A_init_max) (fla: U(0, 16)), A_log = log A; dt
// log-uniform in [dt_min, dt_max] floored at dt_floor, dt_bias = softplus⁻¹(dt)
// (fla's hard-coded 1e-3, 1e-1, 1e-4, as Mamba-2).
//
// Defaults: deltanet as fla's DeltaNet (4 heads, head width d_model / heads,
// expand_v 1, short conv 4 without bias, β on, no gate); gated_deltanet
// as Zoology's GatedDeltaNet sizing (4 heads of d_model / heads, expand_v 2,
// gate on) — fla sizes it as 0.75·d_model of keys (head_dim 256, 6 heads at
// 2048).
//
// Decode state per sequence: the last conv_size − 1 conv inputs
// ((conv_size − 1)·(2 H dk + H dv) values) and S (H dk dv).
#include <cmath>

#include "autograd/ops.h"
#include "layers/causal_conv.h"
#include "layers/delta_scan_composed.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

// One struct per layer (the tables read their defaults from it): they differ
// in expand_v and use_gate.
template <bool Gated>
struct DeltaNetOptions {
  int64_t n_heads = 4, head_dim = 0, expand_v = Gated ? 2 : 1, conv_size = 4, chunk_size = 64;
  bool short_conv = true, conv_bias = false, use_beta = true, allow_neg_eigval = false, use_gate = Gated;
  std::string form = "chunked";
  // gated_deltanet only
  double dt_min = 1e-3, dt_max = 1e-1, dt_floor = 1e-4, A_init_min = 0.0, A_init_max = 16.0;
};

constexpr double kNormEps = 1e-5;  // the output RMSNorm (fla's norm_eps)
constexpr double kL2Eps = 1e-6;    // inside the q/k L2 normalisation (fla's l2norm)

struct DeltaNetState : MixerState {
  Tensor conv;  // (B, conv_size − 1, 2 H dk + H dv): the last conv inputs, oldest first
  Tensor S;     // (B, H, dk, dv)
  std::vector<Tensor> tensors() const override {
    return conv.defined() ? std::vector<Tensor>{conv, S} : std::vector<Tensor>{S};
  }
};

class DeltaNet : public SequenceMixer {
 public:
  template <bool Gated>
  DeltaNet(const MixerContext& ctx, const DeltaNetOptions<Gated>& o, bool gated, Generator& gen)
      : gated_(gated), d_model_(ctx.d_model), H_(o.n_heads), K_(o.conv_size), chunk_(o.chunk_size),
        short_conv_(o.short_conv && o.conv_size > 1), use_beta_(o.use_beta), neg_eig_(o.allow_neg_eigval),
        use_gate_(o.use_gate), recurrent_(o.form == "recurrent"), composed_(o.form == "composed") {
    const std::string& section = ctx.section;
    MIXLAB_CHECK(o.head_dim > 0 || ctx.d_model % o.n_heads == 0, section, ".n_heads = ", o.n_heads,
                 " must divide d_model = ", ctx.d_model, " (or set ", section, ".head_dim)");
    dk_ = o.head_dim > 0 ? o.head_dim : ctx.d_model / o.n_heads;
    dv_ = dk_ * o.expand_v;
    if (gated) {
      MIXLAB_CHECK(o.dt_min <= o.dt_max, section, ".dt_min/dt_max = ", o.dt_min, "/", o.dt_max,
                   ": need dt_min <= dt_max");
      MIXLAB_CHECK(o.A_init_min < o.A_init_max, section, ".A_init_min/A_init_max = ", o.A_init_min, "/",
                   o.A_init_max, ": need min < max");
    }
    const int64_t key = H_ * dk_, value = H_ * dv_;
    conv_dim_ = 2 * key + value;
    q_proj_ = register_module("q_proj", std::make_shared<Linear>(d_model_, key, gen, false, ctx.init_std));
    k_proj_ = register_module("k_proj", std::make_shared<Linear>(d_model_, key, gen, false, ctx.init_std));
    v_proj_ = register_module("v_proj", std::make_shared<Linear>(d_model_, value, gen, false, ctx.init_std));
    if (use_beta_ || gated)
      b_proj_ = register_module("b_proj", std::make_shared<Linear>(d_model_, H_, gen, false, ctx.init_std));
    if (short_conv_) conv_ = register_module("conv1d", std::make_shared<CausalConv1d>(conv_dim_, K_, gen, o.conv_bias));
    if (gated) {
      a_proj_ = register_module("a_proj", std::make_shared<Linear>(d_model_, H_, gen, false, ctx.init_std));
      const std::vector<double> A = Tensor::uniform({H_}, gen, o.A_init_min, o.A_init_max, DType::F64).to_vector();
      const std::vector<double> u = Tensor::uniform({H_}, gen, 0.0, 1.0, DType::F64).to_vector();
      std::vector<double> A_log(H_), dt_bias(H_);
      for (int64_t h = 0; h < H_; ++h) {
        A_log[h] = std::log(std::max(A[h], 1e-12));  // U(0, 16) reaching 0 exactly would give −inf
        const double dt = std::max(
            o.dt_floor, std::exp(u[h] * (std::log(o.dt_max) - std::log(o.dt_min)) + std::log(o.dt_min)));
        dt_bias[h] = dt + std::log(-std::expm1(-dt));
      }
      A_log_ = register_parameter("A_log", Tensor::from_vector(A_log, {H_}));
      dt_bias_ = register_parameter("dt_bias", Tensor::from_vector(dt_bias, {H_}));
    }
    if (use_gate_) g_proj_ = register_module("g_proj", std::make_shared<Linear>(d_model_, value, gen, false, ctx.init_std));
    norm_weight_ = register_parameter("o_norm_weight", Tensor::ones({dv_}));
    o_proj_ = register_module("o_proj", std::make_shared<Linear>(value, d_model_, gen, false, ctx.out_std));
  }

  std::string name() const override { return gated_ ? "gated_deltanet" : "deltanet"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  Tensor forward(const Tensor& x) override { return run(x, nullptr); }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    auto s = std::make_unique<DeltaNetState>();
    const DType dt = q_proj_->weight.dtype();
    const Device dev = q_proj_->weight.device();
    if (short_conv_) s->conv = Tensor::zeros({batch, K_ - 1, conv_dim_}, dt, dev);
    s->S = Tensor::zeros({batch, H_, dk_, dv_}, dt, dev);
    return s;
  }

  Tensor prefill(const Tensor& x, MixerState& state) override {
    auto& s = dynamic_cast<DeltaNetState&>(state);
    Tensor y = run(x, &s);
    s.position += x.size(1);
    return y;
  }

  Tensor step(const Tensor& x_t, MixerState& state) override { return step_through_prefill(x_t, state); }

  int64_t state_bytes(int64_t) const override {
    return ((short_conv_ ? (K_ - 1) * conv_dim_ : 0) + H_ * dk_ * dv_) * 4;
  }

  Tensor reference_forward(const Tensor& x) const override;

 private:
  // (B, T, H·d) -> (B, H, T, d)
  Tensor heads(const Tensor& t, int64_t d) const {
    return permute(t.reshape({t.size(0), t.size(1), H_, d}), {0, 2, 1, 3});
  }
  // (B, T, H) -> (B, H, T, 1)
  Tensor per_head(const Tensor& t) const { return permute(t, {0, 2, 1}).reshape({t.size(0), H_, t.size(1), 1}); }

  static Tensor l2_normalize(const Tensor& t) { return mul(t, rsqrt(add(sum(square(t), -1, true), kL2Eps))); }

  // x (B,T,D) -> (B,T,D), continuing from `state` (conv tail and S) when
  // given and leaving the updated state there; from zeros otherwise.
  Tensor run(const Tensor& x, DeltaNetState* state) const {
    const int64_t B = x.size(0), T = x.size(1), key = H_ * dk_;
    Tensor qkv = concat({q_proj_->forward(x), k_proj_->forward(x), v_proj_->forward(x)}, -1);
    if (short_conv_) {
      if (state) {  // the conv sees the cached inputs before this piece
        Tensor joined = concat({state->conv, qkv}, 1);
        state->conv = slice(joined, 1, T, T + K_ - 1);
        qkv = slice(conv_->forward(joined), 1, K_ - 1, K_ - 1 + T);
      } else {
        qkv = conv_->forward(qkv);
      }
    }
    qkv = silu(qkv);
    Tensor q = l2_normalize(heads(slice(qkv, -1, 0, key), dk_));
    Tensor k = l2_normalize(heads(slice(qkv, -1, key, 2 * key), dk_));
    Tensor v = heads(slice(qkv, -1, 2 * key, conv_dim_), dv_);
    Tensor beta = b_proj_ ? per_head(sigmoid(b_proj_->forward(x))) : Tensor::ones({B, H_, T, 1}, x.dtype(), x.device());
    if (neg_eig_) beta = mul(beta, 2.0);
    Tensor g, a = mul(k, neg(beta));  // a = −β k̂
    if (gated_) {
      g = per_head(mul(softplus(add(a_proj_->forward(x), dt_bias_)), neg(exp(A_log_))));  // (B,H,T,1), <= 0
      a = mul(a, exp(g));                                                                // a = −α β k̂
    }
    if (recurrent_) {  // the same decay per key channel: the op's token-by-token form
      g = g.defined() ? expand(g, {B, H_, T, dk_}) : Tensor::zeros({B, H_, T, dk_}, x.dtype(), x.device());
    }
    Tensor initial = state ? state->S : Tensor();
    const DeltaScanOptions opts{.chunk = chunk_, .scale = 1.0 / std::sqrt(static_cast<double>(dk_))};
    Tensor o = composed_ ? delta_scan_composed(q, k, mul(v, beta), g, a, k, initial, opts, state ? &state->S : nullptr)
                         : delta_scan(q, k, mul(v, beta), g, a, k, initial, opts, state ? &state->S : nullptr);
    o = rms_norm(permute(o, {0, 2, 1, 3}), norm_weight_, kNormEps);  // (B,T,H,dv)
    if (use_gate_) o = mul(o, silu(g_proj_->forward(x).reshape({B, T, H_, dv_})));
    return o_proj_->forward(o.reshape({B, T, H_ * dv_}));
  }

  bool gated_;
  int64_t d_model_, H_, K_, chunk_;
  bool short_conv_, use_beta_, neg_eig_, use_gate_, recurrent_, composed_;
  int64_t dk_ = 0, dv_ = 0, conv_dim_ = 0;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, b_proj_, a_proj_, g_proj_, o_proj_;
  std::shared_ptr<CausalConv1d> conv_;
  Tensor A_log_, dt_bias_, norm_weight_;
};

// Plain F64 loops from the equations above, with the state kept in the
// papers' orientation M (dv × dk), o = M q:
//   M_t = α_t M_{t−1} (I − β_t k_t k_tᵀ) + β_t v_t k_tᵀ.
Tensor DeltaNet::reference_forward(const Tensor& x) const {
  using namespace reference;
  const int64_t B = x.size(0), T = x.size(1), D = d_model_, key = H_ * dk_, value = H_ * dv_;
  const std::vector<double> xs = x.to_vector(), none;
  const Matrix Wq = host(q_proj_->weight), Wk = host(k_proj_->weight), Wv = host(v_proj_->weight),
               Wo = host(o_proj_->weight);
  const Matrix Wb = b_proj_ ? host(b_proj_->weight) : Matrix{}, Wa = a_proj_ ? host(a_proj_->weight) : Matrix{},
               Wg = g_proj_ ? host(g_proj_->weight) : Matrix{}, Wc = conv_ ? host(conv_->weight) : Matrix{};
  const std::vector<double> bc = conv_ ? values(conv_->bias) : none, w = norm_weight_.to_vector();
  const std::vector<double> A_log = gated_ ? A_log_.to_vector() : none, dt_bias = gated_ ? dt_bias_.to_vector() : none;
  auto silu = [](double a) { return a / (1.0 + std::exp(-a)); };
  auto sigmoid = [](double a) { return 1.0 / (1.0 + std::exp(-a)); };
  auto softplus = [](double a) { return a > 20.0 ? a : std::log1p(std::exp(a)); };
  std::vector<double> out(B * T * D);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<std::vector<double>> raw(T);  // [q, k, v] before the conv
    for (int64_t t = 0; t < T; ++t) {
      const double* xt = &xs[(b * T + t) * D];
      std::vector<double> q = linear(Wq, none, xt), k = linear(Wk, none, xt), v = linear(Wv, none, xt);
      raw[t] = q;
      raw[t].insert(raw[t].end(), k.begin(), k.end());
      raw[t].insert(raw[t].end(), v.begin(), v.end());
    }
    std::vector<std::vector<double>> M(H_, std::vector<double>(dv_ * dk_, 0.0));  // M[h][i*dk + j]
    for (int64_t t = 0; t < T; ++t) {
      const double* xt = &xs[(b * T + t) * D];
      std::vector<double> c(conv_dim_);
      for (int64_t ch = 0; ch < conv_dim_; ++ch) {
        double acc = raw[t][ch];
        if (conv_) {
          acc = bc.empty() ? 0.0 : bc[ch];
          for (int64_t j = 0; j < K_; ++j) {
            const int64_t src = t - K_ + 1 + j;
            if (src >= 0) acc += Wc(ch, j) * raw[src][ch];
          }
        }
        c[ch] = silu(acc);
      }
      const std::vector<double> bproj = b_proj_ ? linear(Wb, none, xt) : none;
      const std::vector<double> aproj = a_proj_ ? linear(Wa, none, xt) : none;
      const std::vector<double> gate = g_proj_ ? linear(Wg, none, xt) : none;
      std::vector<double> o(value);
      for (int64_t h = 0; h < H_; ++h) {
        std::vector<double> qh(&c[h * dk_], &c[(h + 1) * dk_]), kh(&c[key + h * dk_], &c[key + (h + 1) * dk_]);
        const double* vh = &c[2 * key + h * dv_];
        for (std::vector<double>* u : {&qh, &kh}) {
          double ss = 0;
          for (double e : *u) ss += e * e;
          for (double& e : *u) e /= std::sqrt(ss + kL2Eps);
        }
        double beta = use_beta_ || gated_ ? sigmoid(bproj[h]) : 1.0;
        if (neg_eig_) beta *= 2.0;
        const double alpha = gated_ ? std::exp(-std::exp(A_log[h]) * softplus(aproj[h] + dt_bias[h])) : 1.0;
        std::vector<double>& Mh = M[h];
        std::vector<double> Mk(dv_, 0.0);  // M k
        for (int64_t i = 0; i < dv_; ++i)
          for (int64_t j = 0; j < dk_; ++j) Mk[i] += Mh[i * dk_ + j] * kh[j];
        for (int64_t i = 0; i < dv_; ++i)
          for (int64_t j = 0; j < dk_; ++j)
            Mh[i * dk_ + j] = alpha * (Mh[i * dk_ + j] - beta * Mk[i] * kh[j]) + beta * vh[i] * kh[j];
        double ms = 0;
        for (int64_t i = 0; i < dv_; ++i) {
          double acc = 0;
          for (int64_t j = 0; j < dk_; ++j) acc += Mh[i * dk_ + j] * qh[j];
          o[h * dv_ + i] = acc / std::sqrt(static_cast<double>(dk_));
          ms += o[h * dv_ + i] * o[h * dv_ + i];
        }
        const double inv = 1.0 / std::sqrt(ms / static_cast<double>(dv_) + kNormEps);
        for (int64_t i = 0; i < dv_; ++i) {
          o[h * dv_ + i] *= inv * w[i];
          if (g_proj_) o[h * dv_ + i] *= silu(gate[h * dv_ + i]);
        }
      }
      const std::vector<double> y = linear(Wo, none, o.data());
      std::copy(y.begin(), y.end(), out.begin() + (b * T + t) * D);
    }
  }
  return Tensor::from_vector(out, {B, T, D}, DType::F64);
}

// The options both layers share.
template <typename O>
OptionTable<O> shared_options() {
  return OptionTable<O>()
      .add("n_heads", &O::n_heads, "heads H", at_least(int64_t{1}))
      .add("head_dim", &O::head_dim, "key width dk per head; 0 = d_model / n_heads", at_least(int64_t{0}))
      .add("expand_v", &O::expand_v, "value width per head dv = expand_v · dk", at_least(int64_t{1}))
      .add("short_conv", &O::short_conv, "depthwise causal conv + SiLU on q, k, v (else SiLU only)")
      .add("conv_size", &O::conv_size, "width of the short conv (1: none)", at_least(int64_t{1}))
      .add("conv_bias", &O::conv_bias, "bias in the short conv")
      .add("allow_neg_eigval", &O::allow_neg_eigval, "β ∈ (0, 2) instead of (0, 1) (Grazzi et al. 2024)")
      .add("chunk_size", &O::chunk_size, "tokens per chunk of the chunked form", at_least(int64_t{1}))
      .add("form", &O::form,
           "chunked (fused WY/UT chunks) | recurrent (fused token loop) | composed (WY/UT chunks from plain ops, "
           "the benchmark's baseline); equal up to rounding",
           one_of({"chunked", "recurrent", "composed"}));
}

}  // namespace

MixerSpec deltanet_mixer_spec() {
  using O = DeltaNetOptions<false>;
  return define_mixer<O>(
      "deltanet",
      "DeltaNet: L2-normed q/k with short convs, delta-rule state S ← (I − βkkᵀ)S + βkvᵀ, RMSNorm; chunked/recurrent",
      shared_options<O>()
          .add("use_beta", &O::use_beta, "learned β = sigmoid(W_β x) per head (else β = 1)")
          .add("use_gate", &O::use_gate, "output gate: rmsnorm(o) ⊙ silu(W_g x)"),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<DeltaNet>(ctx, o, false, gen);
      },
      {{"form=recurrent", "use_gate=true", "conv_size=2", "conv_bias=true"},
       {"short_conv=false", "use_beta=false", "allow_neg_eigval=true", "n_heads=2", "expand_v=2", "chunk_size=3"},
       {"head_dim=3", "n_heads=2", "chunk_size=2", "conv_size=1", "form=composed"}});
}

MixerSpec gated_deltanet_mixer_spec() {
  using O = DeltaNetOptions<true>;
  return define_mixer<O>(
      "gated_deltanet",
      "Gated DeltaNet: DeltaNet with a Mamba-2-style per-head decay α, S ← α(I − βkkᵀ)S + βkvᵀ, gated RMSNorm",
      shared_options<O>()
          .add("use_gate", &O::use_gate, "output gate: rmsnorm(o) ⊙ silu(W_g x)")
          .add("dt_min", &O::dt_min, "dt init range, low", greater_than(0.0))
          .add("dt_max", &O::dt_max, "dt init range, high", greater_than(0.0))
          .add("dt_floor", &O::dt_floor, "dt init floor", greater_than(0.0))
          .add("A_init_min", &O::A_init_min, "A = U[min, max] at init, decay −A·dt", at_least(0.0))
          .add("A_init_max", &O::A_init_max, "A = U[min, max] at init", greater_than(0.0)),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<DeltaNet>(ctx, o, true, gen);
      },
      {{"form=recurrent", "use_gate=false", "short_conv=false"},
       {"form=composed", "chunk_size=4"},
       {"n_heads=2", "chunk_size=3", "allow_neg_eigval=true", "conv_bias=true", "conv_size=3"},
       {"head_dim=3", "expand_v=1", "chunk_size=2", "form=recurrent", "A_init_min=1", "A_init_max=2"}});
}

}  // namespace mixlab
