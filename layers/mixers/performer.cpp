// `performer`: FAVOR+ attention (Choromanski et al. 2021; docs/mixers.md),
// following lucidrains/performer-pytorch (from google-research's JAX code).
// Written from the equations, no code copied.
//
// Per head (d = D/H, M random features, Ω (M×d) orthogonal random features):
//   x̂ = d^(−1/4)·x, p = x̂ Ωᵀ (M), h(x) = ‖x̂‖²/2, ratio = M^(−1/2)
//   softmax kernel: φ(x) = ratio·(exp(p − h − c) + feature_eps)
//     queries: c = max_i p_i of that token
//     keys (performer-pytorch's softmax_kernel): c = the
//       max of p over the keys' tokens and features: all T (non-causal), or the
//       prefix s ≤ t for query t (causal; see below)
//   relu kernel (generalised):  φ(x) = relu(p) + 1e-3
//   non-causal: o_i = φ(q_i)ᵀ Σ_j φ(k_j) v_jᵀ / φ(q_i)·Σ_j φ(k_j)   (no eps, as the reference)
//   causal:     o_t = φ(q_t)ᵀ Σ_{s≤t} φ(k_s) v_sᵀ / φ(q_t)·(Σ_{s≤t} φ(k_s) + eps)
//     (the reference adds eps to every feature of the key prefix sums).
//   The reference detaches every stabiliser. Here they keep their gradient
//   (through the maximal element), which only the eps terms see, so the
//   gradients are the exact derivatives of the forward (finite-difference
//   checked); the forward is the same.
//   Causal keys: performer-pytorch takes c over the whole training sequence,
//   which lets later tokens change earlier outputs; its generation reruns the
//   prefix, so generated token t sees c_t = max_{s≤t} max_i p_s,i. mixlab uses
//   that prefix max in training too, which is causal and decodes exactly:
//     Σ_{s≤t} φ(k_s) v_sᵀ = ratio·Σ_s exp(p_s − h_s − c_t) v_sᵀ + ratio·feature_eps·1 Σ_s v_sᵀ.
//   The first sum is a gated linear recurrence with log decay c_{t−1} − c_t ≤ 0
//   (key s enters as ratio·exp(p_s − h_s − c_s)), run by the fused gated scan
//   (autograd/ops/gated_scan.h) with a column of ones in v for the
//   denominator; the second is a running sum of [v, 1]. Decoding carries S
//   (M×(d+1)), that sum (d+1) and c.
//   (mixlab's earlier form stabilised keys by the max of p − h and rescaled
//   feature_eps with the rest; it approximates softmax attention worse and
//   was removed: docs/mixers.md, performer.)
//   y = W_out concat_h(o) (+ bias); q, k, v projections with bias (lucidrains).
//
// Ω: ⌈M/d⌉ blocks of d orthonormal rows (Gram-Schmidt of Gaussian blocks),
// the last block truncated; rows scaled by the norms of fresh Gaussian
// d-vectors (ortho_scaling = norm, the reference default) or by √d (sqrt_d).
// M = nb_features, 0 = int(d·ln d) (266 for d = 64). Ω is drawn from the
// mixer's own seed and a draw counter; in training it is redrawn every
// redraw_interval training forwards (forwards that record gradients, so
// finite-difference checks and evaluation never redraw), unless
// fixed_features = true. Ω is not a parameter: it is a function of the seed
// and the draw number, and the draw counters are a module buffer saved in
// checkpoints, so a resumed run continues with the same Ω and the same
// redraw schedule, bit for bit.
#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "layers/linear.h"
#include "layers/mixers/performer.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

struct PerformerOptions {
  int64_t n_heads = 1, nb_features = 0, redraw_interval = 1000, chunk_size = 64;
  std::string kernel = "softmax", ortho_scaling = "norm";
  bool causal = true, fixed_features = false;
  double feature_eps = 1e-4, eps = 1e-6;
};

struct PerformerState : MixerState {
  Tensor S;    // (B, H, M, d+1): Σ κ_s [v_s, 1]ᵀ, the last column is z
  Tensor m;    // (B, H): the running key max (softmax kernel only)
  Tensor sum;  // (B, H, 1, d+1): Σ [v_s, 1] (softmax kernel only: the feature_eps part)
  std::vector<Tensor> tensors() const override { return {S, m, sum}; }
};

class Performer : public SequenceMixer {
 public:
  Performer(const MixerContext& ctx, const PerformerOptions& o, Generator& gen)
      : d_model_(ctx.d_model), n_heads_(o.n_heads), causal_(o.causal), relu_(o.kernel == "relu"),
        fixed_(o.fixed_features), sqrt_d_scaling_(o.ortho_scaling == "sqrt_d"), interval_(o.redraw_interval),
        chunk_(o.chunk_size), feature_eps_(o.feature_eps), eps_(o.eps) {
    MIXLAB_CHECK(ctx.d_model % o.n_heads == 0, ctx.section, ".n_heads: d_model ", ctx.d_model,
                 " is not divisible by ", o.n_heads, " heads");
    d_ = d_model_ / n_heads_;
    M_ = o.nb_features > 0 ? o.nb_features
                           : std::max<int64_t>(1, static_cast<int64_t>(static_cast<double>(d_) * std::log(double(d_))));
    seed_ = gen.seed() * 0x9E3779B97F4A7C15ull + gen.take(1) + 1;
    q_proj_ = register_module("to_q", std::make_shared<Linear>(d_model_, d_model_, gen, true, ctx.init_std));
    k_proj_ = register_module("to_k", std::make_shared<Linear>(d_model_, d_model_, gen, true, ctx.init_std));
    v_proj_ = register_module("to_v", std::make_shared<Linear>(d_model_, d_model_, gen, true, ctx.init_std));
    out_proj_ = register_module("to_out", std::make_shared<Linear>(d_model_, d_model_, gen, true, ctx.out_std));
    redraws_ = register_buffer("redraws", Tensor::zeros({2}, DType::I64));
    omega_ = draw_features(0);
  }

  std::string name() const override { return "performer"; }
  MixerTraits traits() const override { return {.causal = causal_, .has_decode = causal_}; }

  // The current Ω (M, d) and how many times it was drawn (1 = the initial draw).
  const Tensor& features() const {
    sync_features();
    return omega_;
  }
  int64_t draws() const { return draw_index() + 1; }
  // Replaces the current Ω until the next redraw (not saved in checkpoints).
  void load_features(const Tensor& omega) {
    MIXLAB_CHECK(omega.shape() == (Shape{M_, d_}), "performer: features of shape (", M_, ", ", d_,
                 ") expected, got ", omega.describe());
    sync_features();
    omega_ = omega.detach().to(q_proj_->weight.dtype()).to(q_proj_->weight.device());
  }

  Tensor forward(const Tensor& x) override {
    sync_features();
    maybe_redraw();
    return causal_ ? run_causal(x, nullptr) : run_bidirectional(x);
  }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    MIXLAB_CHECK(causal_, "performer: the non-causal form (performer.causal = false) has no decode form");
    auto s = std::make_unique<PerformerState>();
    s->S = Tensor::zeros({batch, n_heads_, M_, d_ + 1}, q_proj_->weight.dtype(), q_proj_->weight.device());
    if (!relu_)
      s->m = Tensor::full({batch, n_heads_}, -std::numeric_limits<double>::infinity(), DType::F64);
    if (!relu_)
      s->sum = Tensor::zeros({batch, n_heads_, 1, d_ + 1}, q_proj_->weight.dtype(), q_proj_->weight.device());
    return s;
  }

  Tensor prefill(const Tensor& x, MixerState& state) override {
    auto& s = dynamic_cast<PerformerState&>(state);
    Tensor y = run_causal(x, &s);
    s.position += x.size(1);
    return y;
  }

  Tensor step(const Tensor& x_t, MixerState& state) override { return step_through_prefill(x_t, state); }

  // S (M×d) and z (M) per head; the softmax kernel adds the running max and
  // the running sum of [v, 1].
  int64_t state_bytes(int64_t) const override {
    if (!causal_) return 0;
    if (relu_) return n_heads_ * (M_ * d_ + M_) * 4;
    return n_heads_ * (M_ * d_ + M_ + 1 + d_ + 1) * 4;
  }

  Tensor reference_forward(const Tensor& x) const override;

 private:
  // Ω for draw number `index`: orthonormal blocks, scaled rows.
  Tensor draw_features(int64_t index) const {
    Generator g(seed_ + static_cast<uint64_t>(index) * 0xD1B54A32D192ED03ull);
    std::vector<double> omega;
    omega.reserve(M_ * d_);
    while (static_cast<int64_t>(omega.size()) < M_ * d_) {
      std::vector<double> block = Tensor::randn({d_, d_}, g, DType::F64).to_vector();
      for (int64_t r = 0; r < d_; ++r) {  // Gram-Schmidt on the rows
        double* row = &block[r * d_];
        for (int64_t p = 0; p < r; ++p) {
          const double* prev = &block[p * d_];
          double dot = 0;
          for (int64_t c = 0; c < d_; ++c) dot += row[c] * prev[c];
          for (int64_t c = 0; c < d_; ++c) row[c] -= dot * prev[c];
        }
        double norm = 0;
        for (int64_t c = 0; c < d_; ++c) norm += row[c] * row[c];
        for (int64_t c = 0; c < d_; ++c) row[c] /= std::sqrt(norm);
      }
      const int64_t take = std::min<int64_t>(d_, M_ - static_cast<int64_t>(omega.size()) / d_);
      omega.insert(omega.end(), block.begin(), block.begin() + take * d_);
    }
    const std::vector<double> gauss = Tensor::randn({M_, d_}, g, DType::F64).to_vector();
    for (int64_t r = 0; r < M_; ++r) {
      double scale = std::sqrt(static_cast<double>(d_));
      if (!sqrt_d_scaling_) {
        double n2 = 0;
        for (int64_t c = 0; c < d_; ++c) n2 += gauss[r * d_ + c] * gauss[r * d_ + c];
        scale = std::sqrt(n2);
      }
      for (int64_t c = 0; c < d_; ++c) omega[r * d_ + c] *= scale;
    }
    return Tensor::from_vector(omega, {M_, d_}, q_proj_ ? q_proj_->weight.dtype() : DType::F32);
  }

  // The buffer holds [draw number, training forwards since that draw].
  int64_t draw_index() const { return redraws_.data<int64_t>()[0]; }

  // Ω of the buffer's draw number (a loaded checkpoint may have changed it)
  // in the parameters' dtype.
  void sync_features() const {
    if (omega_draw_ != draw_index()) {
      omega_ = draw_features(draw_index());
      omega_draw_ = draw_index();
    }
    if (omega_.dtype() != q_proj_->weight.dtype()) omega_ = omega_.to(q_proj_->weight.dtype());
    if (omega_.device() != q_proj_->weight.device()) omega_ = omega_.to(q_proj_->weight.device());
  }

  void maybe_redraw() {
    if (!is_training() || fixed_ || interval_ == 0 || !grad_enabled()) return;
    int64_t* counters = redraws_.data<int64_t>();
    if (counters[1] >= interval_) {
      omega_ = draw_features(++counters[0]);
      omega_draw_ = counters[0];
      counters[1] = 0;
      sync_features();
    }
    ++counters[1];
  }

  // (B,T,D) -> (B,H,T,d)
  Tensor heads(const Tensor& y, int64_t B, int64_t T) const {
    return permute(y.reshape({B, T, n_heads_, d_}), {0, 2, 1, 3});
  }

  // x̂ Ωᵀ and ‖x̂‖²/2 for x (B,H,T,d).
  std::pair<Tensor, Tensor> project(const Tensor& x) const {
    const double norm = std::pow(static_cast<double>(d_), -0.25);
    Tensor xs = mul(x, norm);
    return {matmul(xs, omega_.to(x.dtype()), false, true), mul(sum(square(xs), -1, true), 0.5)};
  }

  Tensor query_features(const Tensor& q) const {
    auto [p, h] = project(q);
    if (relu_) return add(relu(p), 1e-3);
    Tensor stab = max(p, -1, true);
    return mul(add(exp(sub(sub(p, h), stab)), feature_eps_), 1.0 / std::sqrt(static_cast<double>(M_)));
  }

  Tensor run_bidirectional(const Tensor& x) const {
    const int64_t B = x.size(0), T = x.size(1);
    Tensor fq = query_features(heads(q_proj_->forward(x), B, T));
    Tensor v = heads(v_proj_->forward(x), B, T);
    auto [p, h] = project(heads(k_proj_->forward(x), B, T));
    Tensor fk;
    if (relu_) {
      fk = add(relu(p), 1e-3);
    } else {
      Tensor k_tilde = sub(p, h);
      Tensor stab = max(max(p, -1, true), -2, true);  // of p over tokens and features
      fk = mul(add(exp(sub(k_tilde, stab)), feature_eps_), 1.0 / std::sqrt(static_cast<double>(M_)));
    }
    Tensor kv = matmul(fk, v, true, false);                                  // (B,H,M,d)
    Tensor num = matmul(fq, kv);                                             // (B,H,T,d)
    Tensor den = matmul(fq, sum(fk, 2, true), false, true);                  // (B,H,T,1), no eps (reference)
    return finish(div(num, den), B, T);
  }

  // Causal: the running-max recurrence through the gated scan, from `state`.
  Tensor run_causal(const Tensor& x, PerformerState* state) const {
    const int64_t B = x.size(0), T = x.size(1);
    Tensor fq = query_features(heads(q_proj_->forward(x), B, T));
    Tensor v = heads(v_proj_->forward(x), B, T);
    auto [p, h] = project(heads(k_proj_->forward(x), B, T));
    Tensor kappa, log_decay;
    if (relu_) {
      kappa = add(relu(p), 1e-3);
    } else {
      Tensor k_tilde = sub(p, h);
      // m_t = max(m_{t−1}, max_i p_t,i): the host finds which token attains
      // it, and m is gathered from the token maxima with ops, so it stays
      // differentiable (only the eps terms depend on it).
      Tensor token_max = max(p, -1, false);  // (B,H,T)
      const std::vector<double> tm = token_max.to_vector();
      std::vector<double> start = state ? state->m.to_vector()
                                        : std::vector<double>(B * n_heads_, -std::numeric_limits<double>::infinity());
      std::vector<int64_t> source(B * n_heads_ * T);  // the flat index of the token holding m_t, or −1: the state's
      for (int64_t bh = 0; bh < B * n_heads_; ++bh) {
        double m = start[bh];
        int64_t at = -1;
        for (int64_t t = 0; t < T; ++t) {
          if (tm[bh * T + t] > m) {
            m = tm[bh * T + t];
            at = bh * T + t;
          }
          source[bh * T + t] = at;
        }
        start[bh] = m;
      }
      // Where the state's max still holds, m_t is that constant.
      std::vector<int64_t> index(B * n_heads_ * T);
      const std::vector<double> prior = state ? state->m.to_vector() : std::vector<double>(B * n_heads_, 0.0);
      for (int64_t i = 0; i < B * n_heads_ * T; ++i) index[i] = source[i] >= 0 ? source[i] : B * n_heads_ * T;
      Tensor pool = concat({token_max.reshape({B * n_heads_ * T}), Tensor::zeros({1}, x.dtype(), x.device())}, 0);
      Tensor m = index_select(pool, 0, Tensor::from_indices(index, {B * n_heads_ * T}, x.device()));
      std::vector<double> held(B * n_heads_ * T, 0.0);
      for (int64_t i = 0; i < B * n_heads_ * T; ++i)
        if (source[i] < 0) held[i] = prior[i / T];
      m = add(m, Tensor::from_vector(held, {B * n_heads_ * T}, x.dtype(), x.device())).reshape({B, n_heads_, T, 1});
      // Log decays m_{t−1} − m_t ≤ 0: the first token's predecessor is the
      // state's max, or itself at the very start (nothing accumulated yet).
      Tensor first = slice(m, 2, 0, 1);
      if (state && state->position > 0) first = Tensor::from_vector(prior, {B, n_heads_, 1, 1}, x.dtype(), x.device());
      log_decay = sub(concat({first, slice(m, 2, 0, T - 1)}, 2), m);
      if (state) state->m = Tensor::from_vector(start, {B, n_heads_}, DType::F64);
      // feature_eps stays unscaled: it is added below through the running sum of [v, 1].
      kappa = mul(exp(sub(k_tilde, m)), 1.0 / std::sqrt(static_cast<double>(M_)));
    }
    Tensor ones = Tensor::ones({B, n_heads_, T, 1}, v.dtype(), v.device());
    Tensor values = concat({v, ones}, -1);
    Tensor out = gated_scan(fq, kappa, values, log_decay, Tensor(), state ? state->S : Tensor(), {.chunk = chunk_},
                            state ? &state->S : nullptr);
    Tensor q_sum = sum(fq, -1, true);  // φ(q)·1: what a per-feature constant of the keys contributes
    if (!relu_) {
      Tensor running = cumsum(values, 2);  // Σ_{s≤t} [v_s, 1]
      if (state) {
        running = add(running, state->sum);
        state->sum = slice(running, 2, T - 1, T);
      }
      out = add(out, mul(mul(q_sum, running), feature_eps_ / std::sqrt(static_cast<double>(M_))));
    }
    Tensor num = slice(out, -1, 0, d_), den = add(slice(out, -1, d_, d_ + 1), mul(q_sum, eps_));
    return finish(div(num, den), B, T);
  }

  Tensor finish(const Tensor& o, int64_t B, int64_t T) const {
    return out_proj_->forward(permute(o, {0, 2, 1, 3}).reshape({B, T, d_model_}));
  }

  int64_t d_model_, n_heads_;
  bool causal_, relu_, fixed_, sqrt_d_scaling_;
  int64_t interval_, chunk_;
  double feature_eps_, eps_;
  int64_t d_ = 0, M_ = 0;
  uint64_t seed_ = 0;
  Tensor redraws_;           // i64 (2) buffer: [draw number, training forwards since it]
  // A cache of draw_features(draw number), refreshed by sync_features.
  mutable int64_t omega_draw_ = 0;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, out_proj_;
  mutable Tensor omega_;
};

// Plain F64 loops from the equations: features per token, then for every
// query the sums over the keys it reads, each key's feature recomputed at
// that query's stabiliser.
Tensor Performer::reference_forward(const Tensor& x) const {
  using namespace reference;
  const int64_t B = x.size(0), T = x.size(1), D = d_model_, H = n_heads_, d = d_, M = M_;
  const std::vector<double> xs = x.to_vector();
  const Matrix Wq = host(q_proj_->weight), Wk = host(k_proj_->weight), Wv = host(v_proj_->weight),
               Wo = host(out_proj_->weight), W = host(features());
  const std::vector<double> bq = values(q_proj_->bias), bk = values(k_proj_->bias), bv = values(v_proj_->bias),
                            bo = values(out_proj_->bias);
  const double inv_sqrt_m = 1.0 / std::sqrt(static_cast<double>(M)), xnorm = std::pow(double(d), -0.25);
  // p = x̂ Ωᵀ and h = ‖x̂‖²/2 of one head's d values
  auto projected = [&](const double* v, std::vector<double>& p) {
    double h = 0;
    for (int64_t i = 0; i < d; ++i) h += (v[i] * xnorm) * (v[i] * xnorm) / 2;
    p.assign(M, 0.0);
    for (int64_t r = 0; r < M; ++r)
      for (int64_t i = 0; i < d; ++i) p[r] += W(r, i) * v[i] * xnorm;
    return h;
  };
  std::vector<double> out(B * T * D);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<std::vector<double>> q(T), k(T), v(T);
    for (int64_t t = 0; t < T; ++t) {
      const double* row = &xs[(b * T + t) * D];
      q[t] = linear(Wq, bq, row);
      k[t] = linear(Wk, bk, row);
      v[t] = linear(Wv, bv, row);
    }
    std::vector<std::vector<double>> heads_out(T, std::vector<double>(D, 0.0));
    for (int64_t hd = 0; hd < H; ++hd) {
      std::vector<std::vector<double>> fq(T, std::vector<double>(M)), kt(T, std::vector<double>(M)),
          pk(T, std::vector<double>(M));
      std::vector<double> p;
      for (int64_t t = 0; t < T; ++t) {
        const double hq = projected(&q[t][hd * d], p);
        const double pmax = *std::max_element(p.begin(), p.end());
        for (int64_t r = 0; r < M; ++r)
          fq[t][r] = relu_ ? std::max(p[r], 0.0) + 1e-3 : (std::exp(p[r] - hq - pmax) + feature_eps_) * inv_sqrt_m;
        const double hk = projected(&k[t][hd * d], p);
        for (int64_t r = 0; r < M; ++r) {
          kt[t][r] = relu_ ? std::max(p[r], 0.0) + 1e-3 : p[r] - hk;  // k̃ (softmax)
          pk[t][r] = p[r];
        }
      }
      // Key features: relu as is; softmax with the max of p over the keys a
      // query reads (all T, or the prefix s ≤ t causally).
      std::vector<double> running(T);
      double c = -1e300;
      for (int64_t t = 0; t < T; ++t) {
        for (int64_t r = 0; r < M; ++r) c = std::max(c, pk[t][r]);
        running[t] = c;
      }
      for (int64_t t = 0; t < T; ++t) {
        const int64_t last = causal_ ? t : T - 1;
        const double ct = running[last];
        std::vector<double> num(d, 0.0);
        double den = 0, q_sum = 0;
        for (int64_t r = 0; r < M; ++r) q_sum += fq[t][r];
        for (int64_t s = 0; s <= last; ++s) {
          double dot = 0;
          for (int64_t r = 0; r < M; ++r) {
            const double fk = relu_ ? kt[s][r] : (std::exp(kt[s][r] - ct) + feature_eps_) * inv_sqrt_m;
            dot += fq[t][r] * fk;
          }
          for (int64_t i = 0; i < d; ++i) num[i] += dot * v[s][hd * d + i];
          den += dot;
        }
        if (causal_) den += eps_ * q_sum;  // eps on every feature of the key sums
        for (int64_t i = 0; i < d; ++i) heads_out[t][hd * d + i] = num[i] / den;
      }
    }
    for (int64_t t = 0; t < T; ++t) {
      const std::vector<double> y = linear(Wo, bo, heads_out[t].data());
      std::copy(y.begin(), y.end(), out.begin() + (b * T + t) * D);
    }
  }
  return Tensor::from_vector(out, {B, T, D}, DType::F64);
}

}  // namespace

Tensor performer_features(const SequenceMixer& m) {
  const auto* p = dynamic_cast<const Performer*>(&m);
  MIXLAB_CHECK(p, "performer_features: mixer '", m.name(), "' is not a performer");
  return p->features();
}

void performer_load_features(SequenceMixer& m, const Tensor& omega) {
  auto* p = dynamic_cast<Performer*>(&m);
  MIXLAB_CHECK(p, "performer_load_features: mixer '", m.name(), "' is not a performer");
  p->load_features(omega);
}

int64_t performer_draws(const SequenceMixer& m) {
  const auto* p = dynamic_cast<const Performer*>(&m);
  MIXLAB_CHECK(p, "performer_draws: mixer '", m.name(), "' is not a performer");
  return p->draws();
}

MixerSpec performer_mixer_spec() {
  using O = PerformerOptions;
  return define_mixer<O>(
      "performer",
      "Performer FAVOR+: positive orthogonal random features (softmax or relu kernel), causal prefix sums with an "
      "exact prefix-max decode state, or non-causal",
      OptionTable<O>()
          .add("n_heads", &O::n_heads, "attention heads", at_least(int64_t{1}))
          .add("nb_features", &O::nb_features, "random features M; 0 = int(d·ln d) of the head dim d",
               at_least(int64_t{0}))
          .add("kernel", &O::kernel, "softmax (FAVOR+ positive features) | relu (generalised: relu(x̂Ωᵀ) + 1e-3)",
               one_of({"softmax", "relu"}))
          .add("ortho_scaling", &O::ortho_scaling,
               "row norms of Ω: norm (of Gaussian vectors, reference default) | sqrt_d", one_of({"norm", "sqrt_d"}))
          .add("causal", &O::causal, "causal prefix sums (decodable) | false: bidirectional (no decode)")
          .add("redraw_interval", &O::redraw_interval, "redraw Ω every N training steps (0 = never)",
               at_least(int64_t{0}))
          .add("fixed_features", &O::fixed_features, "never redraw Ω")
          .add("feature_eps", &O::feature_eps, "added to every softmax-kernel feature", at_least(0.0))
          .add("eps", &O::eps,
               "causal form: added to every feature of the key sums in the denominator (the non-causal form has "
               "none, as the reference)",
               at_least(0.0))
          .add("chunk_size", &O::chunk_size, "tokens per chunk of the causal scan", at_least(int64_t{1})),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<Performer>(ctx, o, gen);
      },
      {{"n_heads=2", "nb_features=6", "chunk_size=3"},
       {"causal=false", "nb_features=5"},
       {"kernel=relu", "ortho_scaling=sqrt_d", "chunk_size=2"},
       {"causal=false", "kernel=relu", "n_heads=2"},
       {"fixed_features=true", "redraw_interval=0"}});
}

}  // namespace mixlab
