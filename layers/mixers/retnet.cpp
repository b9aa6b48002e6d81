// `retnet`: multi-scale retention (RetNet, Sun et al. 2023), following torchscale's
// `torchscale/component/multiscale_retention.py` and `RetNetRelPos`
// (`torchscale/architecture/retnet.py`). Written from the equations, no code
// copied.
//
// Per head h = 0..H−1 (d_k = D/H, d_v = D_v/H, D_v = retnet.value_factor·D):
//   q = W_q x, k = W_k x (D → D), v = W_v x, g = W_g x (D → D_v); no biases.
//   k is scaled by d_k^(−½) (torchscale scales k, not q).
//   xPos-style rotation without the decay scaling (torchscale's theta_shift) on
//   q and k, interleaved pairs (2i, 2i+1), angle pos·θ_i with
//   θ_i = 1 / 10000^(linspace(0, 1, d_k/2)_i)  (not the usual RoPE base^(−2i/d)).
//   γ_h = 1 − 2^(−e−h), e = retnet.decay_exponent (torchscale: e = 5).
//   Retention (unnormalised): o_n = q_n·S_n, S_n = γ S_{n−1} + k_nᵀ v_n.
//   torchscale's decay normalisation: row n is divided by √s_n,
//   s_n = Σ_{m≤n} γ^(n−m) (= D̃ = D/√rowsum(D) in the parallel form, the
//   √(s_{n−1}/s_n) rescaling in its recurrent form). Every form here applies it.
//   Output: per-head RMSNorm over d_v, no affine, eps retnet.norm_eps (1e-6 as
//   torchscale's layernorm_eps), then swish(g) ⊙ o, then out_proj (D_v → D).
//
// Forms of forward (retnet.form), equal up to rounding:
//   parallel  : A = (Q Kᵀ) ⊙ D̃ with D_nm = γ^(n−m) for n ≥ m, 0 otherwise —
//               built in log space, the upper triangle set to −∞ before exp —
//               and D̃ = D / √(Σ_m D_nm); O = A V (T×T memory).
//   recurrent : S_n = γ S_{n−1} + k_nᵀ v_n, o_n = q_n S_n / √s_n, token by token
//               (the same arithmetic as step()).
//   chunked   : chunks of C = retnet.chunk_size tokens through the fused
//               gated scan (autograd/ops/gated_scan.h, hand-written backward):
//               O_[i] = (Q_[i] K_[i]ᵀ ⊙ D) V_[i] + (Q_[i] R_{i−1}) ⊙ ξ, ξ_j = γ^(j+1),
//               R_i = K_[i]ᵀ (V_[i] ⊙ ζ) + γ^L R_{i−1}, ζ_j = γ^(L−1−j) (L = chunk
//               length), then rows scaled by 1/√s_n. prefill runs it from the
//               decode state.
// Decoding keeps S per head: H·d_k·d_v values, constant in the context.
//
// Where this simplifies torchscale:
//   - torchscale's parallel form also divides A by clamp(Σ_m |A_nm|, 1, 5e4)
//     (detached). That row scale depends on |q·k| and cannot be carried by the
//     d_k×d_v recurrent state, and torchscale's own recurrent and chunkwise
//     forms do not apply it; the scale-invariant RMSNorm after it removes it up
//     to eps. It is omitted here so that all three forms (and decoding) agree
//     to rounding, eps included. Likewise torchscale's chunkwise form uses its
//     own per-chunk normalisation; here every form uses the 1/√s_n row scale.
//   - Initialisation: N(0, ctx.init_std) for q/k/v/g and N(0, ctx.out_std) for
//     out_proj (mixlab's convention) instead of torchscale's xavier_uniform
//     with gain 2^(−2.5).
//   - No multiway wrapper, no dropout, no incremental "scale" in the state (the
//     row scale s_n is a function of the position).
#include <cmath>
#include <limits>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

enum class RetForm { Chunked, Parallel, Recurrent };

struct RetNetOptions {
  int64_t n_heads = 2, value_factor = 2, chunk_size = 64;
  RetForm form = RetForm::Chunked;
  double norm_eps = 1e-6, decay_exponent = 5.0;
};

struct RetentionState : MixerState {
  Tensor S;  // (B, H, d_k, d_v), unnormalised
  std::vector<Tensor> tensors() const override { return {S}; }
};

class RetNet : public SequenceMixer {
 public:
  RetNet(const MixerContext& ctx, const RetNetOptions& o, Generator& gen)
      : d_model_(ctx.d_model), n_heads_(o.n_heads), chunk_(o.chunk_size), eps_(o.norm_eps),
        decay_exponent_(o.decay_exponent) {
    const std::string& section = ctx.section;
    MIXLAB_CHECK(ctx.d_model % o.n_heads == 0, section, ".n_heads: d_model ", ctx.d_model, " is not divisible by ",
                 o.n_heads, " heads");
    d_k_ = d_model_ / n_heads_;
    MIXLAB_CHECK(d_k_ % 2 == 0, section, ".n_heads: the key head dim d_model / n_heads = ", d_k_,
                 " must be even for the xPos rotation (n_heads = ", o.n_heads, ")");
    form_ = o.form;
    d_value_ = o.value_factor * d_model_;
    d_v_ = d_value_ / n_heads_;
    for (int64_t h = 0; h < n_heads_; ++h)  // log γ_h = log(1 − 2^(−e−h)), kept in log space
      log_gamma_.push_back(std::log1p(-std::exp2(-o.decay_exponent - static_cast<double>(h))));
    const int64_t half = d_k_ / 2;
    for (int64_t i = 0; i < half; ++i) {  // torch.linspace(0, 1, half): [0] when half = 1
      const double lin = half > 1 ? static_cast<double>(i) / static_cast<double>(half - 1) : 0.0;
      theta_.push_back(1.0 / std::pow(10000.0, lin));
    }
    q_proj_ = register_module("q_proj", std::make_shared<Linear>(d_model_, d_model_, gen, false, ctx.init_std));
    k_proj_ = register_module("k_proj", std::make_shared<Linear>(d_model_, d_model_, gen, false, ctx.init_std));
    v_proj_ = register_module("v_proj", std::make_shared<Linear>(d_model_, d_value_, gen, false, ctx.init_std));
    g_proj_ = register_module("g_proj", std::make_shared<Linear>(d_model_, d_value_, gen, false, ctx.init_std));
    out_proj_ = register_module("out_proj", std::make_shared<Linear>(d_value_, d_model_, gen, false, ctx.out_std));
  }

  std::string name() const override { return "retnet"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // x (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& x) override {
    const int64_t B = x.size(0), T = x.size(1);
    Tensor q = rotate(heads(q_proj_->forward(x), B, T, d_k_), 0);
    Tensor k = rotate(mul(heads(k_proj_->forward(x), B, T, d_k_), 1.0 / std::sqrt(static_cast<double>(d_k_))), 0);
    Tensor v = heads(v_proj_->forward(x), B, T, d_v_);
    Tensor o;  // (B,H,T,d_v), rows already divided by √s_n
    switch (form_) {
      case RetForm::Parallel: o = parallel(q, k, v); break;
      case RetForm::Recurrent: o = mul(recurrent(q, k, v), row_scale(0, T, x)); break;
      case RetForm::Chunked: o = mul(chunked(q, k, v), row_scale(0, T, x)); break;
    }
    return finish(o, x, B, T);
  }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    auto s = std::make_unique<RetentionState>();
    s->S = Tensor::zeros({batch, n_heads_, d_k_, d_v_}, q_proj_->weight.dtype(), q_proj_->weight.device());
    return s;
  }

  // x_t (B,D) -> (B,D)
  Tensor step(const Tensor& x_t, MixerState& state) override {
    auto& s = dynamic_cast<RetentionState&>(state);
    const int64_t B = x_t.size(0), pos = s.position;
    Tensor x = x_t.reshape({B, 1, d_model_});
    Tensor q = rotate(heads(q_proj_->forward(x), B, 1, d_k_), pos);
    Tensor k = rotate(mul(heads(k_proj_->forward(x), B, 1, d_k_), 1.0 / std::sqrt(static_cast<double>(d_k_))), pos);
    Tensor v = heads(v_proj_->forward(x), B, 1, d_v_);
    s.S = add(mul(s.S, gamma_power(1, x)), matmul(k, v, true, false));
    s.position++;
    Tensor o = mul(matmul(q, s.S), row_scale(pos, 1, x));  // (B,H,1,d_v)
    return finish(o, x, B, 1).reshape({B, d_model_});
  }

  // x (B,T,D) at positions pos.. -> (B,T,D): the chunked scan from the state.
  Tensor prefill(const Tensor& x, MixerState& state) override {
    auto& s = dynamic_cast<RetentionState&>(state);
    const int64_t B = x.size(0), T = x.size(1), pos = s.position;
    Tensor q = rotate(heads(q_proj_->forward(x), B, T, d_k_), pos);
    Tensor k = rotate(mul(heads(k_proj_->forward(x), B, T, d_k_), 1.0 / std::sqrt(static_cast<double>(d_k_))), pos);
    Tensor v = heads(v_proj_->forward(x), B, T, d_v_);
    Tensor o = mul(chunked(q, k, v, s.S, &s.S), row_scale(pos, T, x));
    s.position += T;
    return finish(o, x, B, T);
  }

  // S per head: H · d_k · d_v values at F32, constant in the context.
  int64_t state_bytes(int64_t) const override { return n_heads_ * d_k_ * d_v_ * 4; }

  // Plain F64 loops of the (unnormalised) recurrence S_n = γ S_{n−1} + k_nᵀ v_n,
  // the running s_n = γ s_{n−1} + 1, then the RMSNorm, gate and projection.
  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_, H = n_heads_, dk = d_k_, dv = d_v_;
    const std::vector<double> xs = x.to_vector();
    const Matrix Wq = host(q_proj_->weight), Wk = host(k_proj_->weight), Wv = host(v_proj_->weight),
                 Wg = host(g_proj_->weight), Wo = host(out_proj_->weight);
    const std::vector<double> none;
    std::vector<double> out(B * T * D);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<std::vector<double>> S(H, std::vector<double>(dk * dv, 0.0));
      std::vector<double> s(H, 0.0);
      for (int64_t t = 0; t < T; ++t) {
        const double* row = &xs[(b * T + t) * D];
        std::vector<double> q = linear(Wq, none, row), k = linear(Wk, none, row), v = linear(Wv, none, row),
                            g = linear(Wg, none, row);
        std::vector<double> mixed(H * dv);
        for (int64_t h = 0; h < H; ++h) {
          // rotate pairs (2i, 2i+1) of q and k by t·θ_i; k also scaled by 1/√d_k
          for (int64_t i = 0; i < dk / 2; ++i) {
            const double theta = dk / 2 > 1 ? std::pow(10000.0, -static_cast<double>(i) / (dk / 2 - 1)) : 1.0;
            const double c = std::cos(t * theta), sn = std::sin(t * theta);
            double* qp = &q[h * dk + 2 * i];
            double* kp = &k[h * dk + 2 * i];
            const double q0 = qp[0], q1 = qp[1], k0 = kp[0] / std::sqrt(double(dk)), k1 = kp[1] / std::sqrt(double(dk));
            qp[0] = q0 * c - q1 * sn;
            qp[1] = q1 * c + q0 * sn;
            kp[0] = k0 * c - k1 * sn;
            kp[1] = k1 * c + k0 * sn;
          }
          const double gamma = 1.0 - std::pow(2.0, -decay_exponent() - static_cast<double>(h));
          s[h] = gamma * s[h] + 1.0;
          for (int64_t a = 0; a < dk; ++a)
            for (int64_t c = 0; c < dv; ++c)
              S[h][a * dv + c] = gamma * S[h][a * dv + c] + k[h * dk + a] * v[h * dv + c];
          double ms = 0;
          for (int64_t c = 0; c < dv; ++c) {
            double acc = 0;
            for (int64_t a = 0; a < dk; ++a) acc += q[h * dk + a] * S[h][a * dv + c];
            mixed[h * dv + c] = acc / std::sqrt(s[h]);
            ms += mixed[h * dv + c] * mixed[h * dv + c];
          }
          const double inv = 1.0 / std::sqrt(ms / dv + eps_);
          for (int64_t c = 0; c < dv; ++c) {
            const double gv = g[h * dv + c];
            mixed[h * dv + c] *= inv * gv / (1.0 + std::exp(-gv));
          }
        }
        std::vector<double> y = linear(Wo, none, mixed.data());
        std::copy(y.begin(), y.end(), out.begin() + (b * T + t) * D);
      }
    }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  double decay_exponent() const { return decay_exponent_; }

  // (B, T, H·d) -> (B, H, T, d)
  Tensor heads(const Tensor& y, int64_t B, int64_t T, int64_t d) const {
    return permute(y.reshape({B, T, n_heads_, d}), {0, 2, 1, 3});
  }

  // (B,H,T,d_v) retention -> RMSNorm per head, swish gate, out_proj: (B,T,D)
  Tensor finish(const Tensor& o, const Tensor& x, int64_t B, int64_t T) const {
    Tensor normed = rms_norm(o, Tensor(), eps_);
    Tensor merged = permute(normed, {0, 2, 1, 3}).reshape({B, T, d_value_});
    return out_proj_->forward(mul(silu(g_proj_->forward(x)), merged));
  }

  // xPos rotation (no decay scaling) of (B,H,T,d_k) at positions first..first+T−1:
  // y = x·cos + rotate_every_two(x)·sin, rotate_every_two(x)_(2i,2i+1) = (−x_{2i+1}, x_{2i}).
  Tensor rotate(const Tensor& x, int64_t first) const {
    const int64_t T = x.size(2), half = d_k_ / 2;
    std::vector<double> c(T * d_k_), s(T * d_k_);
    for (int64_t t = 0; t < T; ++t)
      for (int64_t i = 0; i < half; ++i) {
        const double a = static_cast<double>(first + t) * theta_[i];
        c[t * d_k_ + 2 * i] = c[t * d_k_ + 2 * i + 1] = std::cos(a);
        s[t * d_k_ + 2 * i] = s[t * d_k_ + 2 * i + 1] = std::sin(a);
      }
    const Shape shape = x.shape();
    Tensor pairs = x.reshape({shape[0], shape[1], T, half, 2});
    Tensor swapped = concat({neg(slice(pairs, 4, 1, 2)), slice(pairs, 4, 0, 1)}, 4).reshape(shape);
    return add(mul(x, constant(c, {T, d_k_}, x)), mul(swapped, constant(s, {T, d_k_}, x)));
  }

  Tensor constant(const std::vector<double>& v, const Shape& shape, const Tensor& like) const {
    return Tensor::from_vector(v, shape, like.dtype(), like.device());
  }

  // (1,H,1,1): γ_h^p
  Tensor gamma_power(int64_t p, const Tensor& like) const {
    std::vector<double> g(n_heads_);
    for (int64_t h = 0; h < n_heads_; ++h) g[h] = std::exp(static_cast<double>(p) * log_gamma_[h]);
    return constant(g, {1, n_heads_, 1, 1}, like);
  }

  // (H,T,1): 1/√s_n at positions first..first+T−1, s_n = Σ_{m=0}^{n} γ^m = (1 − γ^(n+1))/(1 − γ).
  Tensor row_scale(int64_t first, int64_t T, const Tensor& like) const {
    std::vector<double> r(n_heads_ * T);
    for (int64_t h = 0; h < n_heads_; ++h)
      for (int64_t t = 0; t < T; ++t) {
        const double n = static_cast<double>(first + t);
        r[h * T + t] = 1.0 / std::sqrt(std::expm1((n + 1) * log_gamma_[h]) / std::expm1(log_gamma_[h]));
      }
    return constant(r, {n_heads_, T, 1}, like);
  }

  // (H,L,L): γ^(n−m) for m ≤ n, 0 above the diagonal: the exponent is built in
  // log space and the upper triangle masked to −∞ before exp. With
  // `normalise`, each row is divided by √(its sum) (torchscale's D̃).
  Tensor decay_matrix(int64_t L, bool normalise, const Tensor& like) const {
    std::vector<double> d(n_heads_ * L * L);
    const double neg_inf = -std::numeric_limits<double>::infinity();
    for (int64_t h = 0; h < n_heads_; ++h)
      for (int64_t n = 0; n < L; ++n) {
        double* row = &d[(h * L + n) * L];
        double total = 0;
        for (int64_t m = 0; m < L; ++m) {
          const double log_d = m <= n ? static_cast<double>(n - m) * log_gamma_[h] : neg_inf;
          total += (row[m] = std::exp(log_d));
        }
        if (normalise)
          for (int64_t m = 0; m < L; ++m) row[m] /= std::sqrt(total);
      }
    return constant(d, {n_heads_, L, L}, like);
  }

  // Parallel: O = ((Q Kᵀ) ⊙ D̃) V, already row-normalised.
  Tensor parallel(const Tensor& q, const Tensor& k, const Tensor& v) const {
    const int64_t T = q.size(2);
    return matmul(mul(matmul(q, k, false, true), decay_matrix(T, true, q)), v);
  }

  // Recurrent: S_n = γ S_{n−1} + k_nᵀ v_n, o_n = q_n S_n (unnormalised).
  Tensor recurrent(const Tensor& q, const Tensor& k, const Tensor& v) const {
    const int64_t B = q.size(0), T = q.size(2);
    Tensor S = Tensor::zeros({B, n_heads_, d_k_, d_v_}, q.dtype(), q.device());
    Tensor gamma = gamma_power(1, q);
    std::vector<Tensor> outs;
    for (int64_t t = 0; t < T; ++t) {
      S = add(mul(S, gamma), matmul(slice(k, 2, t, t + 1), slice(v, 2, t, t + 1), true, false));
      outs.push_back(matmul(slice(q, 2, t, t + 1), S));
    }
    return concat(outs, 2);
  }

  // Chunkwise (unnormalised) through the fused scan (autograd/ops/gated_scan.h):
  // per-head log decay log γ_h at every token, chunk-level GEMMs with the
  // intra-chunk decay built in log space. Continues from `S` when defined and
  // leaves the final state there when `final_state` is given.
  Tensor chunked(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& S = Tensor(),
                 Tensor* final_state = nullptr) const {
    const int64_t B = q.size(0), T = q.size(2);
    std::vector<double> log_decay(n_heads_ * T);
    for (int64_t h = 0; h < n_heads_; ++h)
      for (int64_t t = 0; t < T; ++t) log_decay[h * T + t] = log_gamma_[h];
    Tensor g = expand(constant(log_decay, {1, n_heads_, T, 1}, q), {B, n_heads_, T, 1});
    return gated_scan(q, k, v, g, Tensor(), S, {.chunk = chunk_}, final_state);
  }

  int64_t d_model_, n_heads_, chunk_;
  double eps_, decay_exponent_;  // e in γ_h = 1 − 2^(−e−h)
  int64_t d_k_ = 0, d_v_ = 0, d_value_ = 0;
  RetForm form_;
  std::vector<double> log_gamma_;  // log γ_h
  std::vector<double> theta_;      // rotation frequencies, d_k/2
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, g_proj_, out_proj_;
};

}  // namespace

MixerSpec retnet_mixer_spec() {
  using O = RetNetOptions;
  return define_mixer<O>(
      "retnet",
      "multi-scale retention (torchscale RetNet): per-head decay, xPos rotation, RMSNorm + swish gate; "
      "chunked/parallel/recurrent forms",
      OptionTable<O>()
          .add("n_heads", &O::n_heads, "retention heads; d_model / n_heads must be even (xPos pairs)",
               at_least(int64_t{1}))
          .add("value_factor", &O::value_factor, "value/gate width = value_factor · d_model (torchscale: 2)",
               at_least(int64_t{1}))
          .add("chunk_size", &O::chunk_size, "chunk length of the chunked form", at_least(int64_t{1}))
          .add("form", &O::form,
               "chunked | parallel (T×T decay matrix) | recurrent (token by token); equal up to rounding",
               named<RetForm>(
                   {{"chunked", RetForm::Chunked}, {"parallel", RetForm::Parallel}, {"recurrent", RetForm::Recurrent}}))
          .add("norm_eps", &O::norm_eps, "eps of the per-head RMSNorm", at_least(0.0))
          .add("decay_exponent", &O::decay_exponent,
               "e in gamma_h = 1 - 2^-(e+h) (torchscale: 5; smaller = stronger decay)", greater_than(0.0)),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<RetNet>(ctx, o, gen);
      },
      {{"form=parallel"},
       {"form=recurrent"},
       {"chunk_size=3"},
       {"chunk_size=2", "n_heads=4", "decay_exponent=1"},
       {"form=parallel", "n_heads=1", "value_factor=1"},
       {"form=recurrent", "n_heads=4", "norm_eps=0"}});
}

}  // namespace mixlab
