// `linear_attn`: causal linear attention (Katharopoulos et al. 2020; docs/mixers.md).
//
// Per head h (H heads; q/k feature dim d' = linear_attn.feature_dim, 0 = D/H;
// value dim d_v = D/H):
//   q = W_q x, k = W_k x (H·d'), v = W_v x (D); no biases (as fla).
//   φ = feature map, applied to q and k (no 1/√d' scale, as Katharopoulos):
//     elu      φ(x) = elu(x) + 1                            (F = d')
//     relu     φ(x) = relu(x)                               (F = d')
//     identity φ(x) = x                                     (F = d')
//     taylor   φ(x) = [1, x/d'^(1/4), vec(x⊗x)/(√2·√d')]    (F = 1 + d' + d'²; Based)
//              so φ(q)·φ(k) = 1 + q·k/√d' + (q·k)²/(2d'), the 2nd-order Taylor
//              expansion of exp(q·k/√d'), always > 0.
//   S_t = S_{t−1} + φ(k_t)⊗v_t (F×d_v), z_t = z_{t−1} + φ(k_t) (F)
//   normalize = true:  o_t = φ(q_t)ᵀS_t / (φ(q_t)·z_t + eps)
//   normalize = false: o_t = RMSNorm(φ(q_t)ᵀS_t) per head over d_v, no affine,
//                      eps 1e-5 (fla's variant; z is then unused but still kept
//                      in the decode state so its size does not depend on it).
//   y = W_out concat_h(o_t) (no bias).
//
// Three forms of forward (linear_attn.form), equal up to rounding:
//   parallel  : O = ((φ(Q)φ(K)ᵀ) ⊙ tril) V, denominators = row sums of the same
//               masked matrix (T×T memory);
//   recurrent : the recurrence above token by token (the same code as step());
//   chunked   : chunks of C tokens (the last may be shorter) through the fused
//               gated scan without decay (autograd/ops/gated_scan.h):
//               O_[n] = φ(Q_[n]) S_[n] + tril(φ(Q_[n])φ(K_[n])ᵀ) V_[n],
//               S_[n+1] = S_[n] + φ(K_[n])ᵀ V_[n] (and z likewise); prefill runs
//               it from the decode state.
// Decoding keeps S and z per head: H·(F·d_v + F) values, constant in context.
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

enum class FeatureMap { Elu, Relu, Identity, Taylor };
enum class Form { Chunked, Parallel, Recurrent };

struct LinearAttnOptions {
  int64_t n_heads = 1, feature_dim = 0, chunk_size = 64;
  FeatureMap feature_map = FeatureMap::Elu;
  Form form = Form::Chunked;
  bool normalize = true;
  double eps = 1e-6;
};

constexpr double kNormEps = 1e-5;  // the per-head RMSNorm when normalize = false

struct LinearAttnState : MixerState {
  Tensor S;  // (B, H, F, d_v)
  Tensor z;  // (B, H, 1, F)
  std::vector<Tensor> tensors() const override { return {S, z}; }
};

class LinearAttention : public SequenceMixer {
 public:
  LinearAttention(const MixerContext& ctx, const LinearAttnOptions& o, Generator& gen)
      : d_model_(ctx.d_model), n_heads_(o.n_heads), normalize_(o.normalize), eps_(o.eps), chunk_(o.chunk_size),
        map_(o.feature_map), form_(o.form) {
    MIXLAB_CHECK(ctx.d_model % o.n_heads == 0, ctx.section, ".n_heads: d_model ", ctx.d_model,
                 " is not divisible by ", o.n_heads, " heads");
    d_v_ = d_model_ / n_heads_;
    d_k_ = o.feature_dim > 0 ? o.feature_dim : d_v_;
    F_ = map_ == FeatureMap::Taylor ? 1 + d_k_ + d_k_ * d_k_ : d_k_;
    q_proj_ = register_module("q_proj", std::make_shared<Linear>(d_model_, n_heads_ * d_k_, gen, false, ctx.init_std));
    k_proj_ = register_module("k_proj", std::make_shared<Linear>(d_model_, n_heads_ * d_k_, gen, false, ctx.init_std));
    v_proj_ = register_module("v_proj", std::make_shared<Linear>(d_model_, d_model_, gen, false, ctx.init_std));
    out_proj_ = register_module("out_proj", std::make_shared<Linear>(d_model_, d_model_, gen, false, ctx.out_std));
  }

  std::string name() const override { return "linear_attn"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // x (B,T,D) -> (B,T,D) through the form chosen by linear_attn.form.
  Tensor forward(const Tensor& x) override {
    const int64_t B = x.size(0), T = x.size(1);
    Tensor fq = feature(heads(q_proj_->forward(x), B, T, d_k_));  // (B,H,T,F)
    Tensor fk = feature(heads(k_proj_->forward(x), B, T, d_k_));  // (B,H,T,F)
    Tensor v = heads(v_proj_->forward(x), B, T, d_v_);            // (B,H,T,d_v)
    Tensor o;                                                      // (B,H,T,d_v)
    switch (form_) {
      case Form::Parallel: o = parallel(fq, fk, v); break;
      case Form::Recurrent: o = recurrent(fq, fk, v); break;
      case Form::Chunked: o = chunked(fq, fk, v); break;
    }
    return finish(o, B, T);
  }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    auto s = std::make_unique<LinearAttnState>();
    s->S = Tensor::zeros({batch, n_heads_, F_, d_v_}, q_proj_->weight.dtype(), q_proj_->weight.device());
    s->z = Tensor::zeros({batch, n_heads_, 1, F_}, q_proj_->weight.dtype(), q_proj_->weight.device());
    return s;
  }

  // x_t (B,D) -> (B,D): one step of the recurrence.
  Tensor step(const Tensor& x_t, MixerState& state) override {
    auto& s = dynamic_cast<LinearAttnState&>(state);
    const int64_t B = x_t.size(0);
    Tensor x = x_t.reshape({B, 1, d_model_});
    Tensor fq = feature(heads(q_proj_->forward(x), B, 1, d_k_));
    Tensor fk = feature(heads(k_proj_->forward(x), B, 1, d_k_));
    Tensor v = heads(v_proj_->forward(x), B, 1, d_v_);
    Tensor o = recurrent_step(fq, fk, v, s.S, s.z);
    s.position++;
    return finish(o, B, 1).reshape({B, d_model_});
  }

  // x (B,T,D) -> (B,T,D): the chunked scan continuing from the state.
  Tensor prefill(const Tensor& x, MixerState& state) override {
    auto& s = dynamic_cast<LinearAttnState&>(state);
    const int64_t B = x.size(0), T = x.size(1);
    Tensor fq = feature(heads(q_proj_->forward(x), B, T, d_k_));
    Tensor fk = feature(heads(k_proj_->forward(x), B, T, d_k_));
    Tensor v = heads(v_proj_->forward(x), B, T, d_v_);
    Tensor o = chunked(fq, fk, v, &s);
    s.position += T;
    return finish(o, B, T);
  }

  // S (F×d_v) and z (F) per head, constant in the context length.
  int64_t state_bytes(int64_t) const override { return n_heads_ * (F_ * d_v_ + F_) * 4; }

  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_, H = n_heads_, dk = d_k_, dv = d_v_, F = F_;
    const std::vector<double> xs = x.to_vector();
    const Matrix Wq = host(q_proj_->weight), Wk = host(k_proj_->weight), Wv = host(v_proj_->weight),
                 Wo = host(out_proj_->weight);
    const std::vector<double> none;
    auto phi = [&](const double* u) {  // one head's d' values -> F features
      std::vector<double> f(F);
      switch (map_) {
        case FeatureMap::Elu:
          for (int64_t i = 0; i < dk; ++i) f[i] = u[i] > 0 ? u[i] + 1.0 : std::exp(u[i]);
          break;
        case FeatureMap::Relu:
          for (int64_t i = 0; i < dk; ++i) f[i] = u[i] > 0 ? u[i] : 0.0;
          break;
        case FeatureMap::Identity:
          for (int64_t i = 0; i < dk; ++i) f[i] = u[i];
          break;
        case FeatureMap::Taylor: {
          const double d = static_cast<double>(dk);
          f[0] = 1.0;
          for (int64_t i = 0; i < dk; ++i) f[1 + i] = u[i] / std::pow(d, 0.25);
          for (int64_t i = 0; i < dk; ++i)
            for (int64_t j = 0; j < dk; ++j) f[1 + dk + i * dk + j] = u[i] * u[j] / (std::sqrt(2.0) * std::sqrt(d));
          break;
        }
      }
      return f;
    };
    std::vector<double> out(B * T * D);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<std::vector<double>> S(H, std::vector<double>(F * dv, 0.0)), z(H, std::vector<double>(F, 0.0));
      for (int64_t t = 0; t < T; ++t) {
        const double* row = &xs[(b * T + t) * D];
        const std::vector<double> q = linear(Wq, none, row), k = linear(Wk, none, row), v = linear(Wv, none, row);
        std::vector<double> heads_out(D, 0.0);
        for (int64_t h = 0; h < H; ++h) {
          const std::vector<double> pq = phi(&q[h * dk]), pk = phi(&k[h * dk]);
          for (int64_t i = 0; i < F; ++i) {
            z[h][i] += pk[i];
            for (int64_t j = 0; j < dv; ++j) S[h][i * dv + j] += pk[i] * v[h * dv + j];
          }
          double den = 0;
          for (int64_t i = 0; i < F; ++i) den += pq[i] * z[h][i];
          std::vector<double> o(dv, 0.0);
          for (int64_t j = 0; j < dv; ++j)
            for (int64_t i = 0; i < F; ++i) o[j] += pq[i] * S[h][i * dv + j];
          if (normalize_) {
            for (int64_t j = 0; j < dv; ++j) o[j] /= den + eps_;
          } else {
            double ms = 0;
            for (int64_t j = 0; j < dv; ++j) ms += o[j] * o[j];
            const double r = 1.0 / std::sqrt(ms / dv + kNormEps);
            for (int64_t j = 0; j < dv; ++j) o[j] *= r;
          }
          for (int64_t j = 0; j < dv; ++j) heads_out[h * dv + j] = o[j];
        }
        const std::vector<double> y = linear(Wo, none, heads_out.data());
        std::copy(y.begin(), y.end(), out.begin() + (b * T + t) * D);
      }
    }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  // (B, T, H·d) -> (B, H, T, d)
  Tensor heads(const Tensor& y, int64_t B, int64_t T, int64_t d) const {
    return permute(y.reshape({B, T, n_heads_, d}), {0, 2, 1, 3});
  }

  // u (B,H,T,d') -> φ(u) (B,H,T,F)
  Tensor feature(const Tensor& u) const {
    switch (map_) {
      case FeatureMap::Elu: return add(elu(u), 1.0);
      case FeatureMap::Relu: return relu(u);
      case FeatureMap::Identity: return u;
      case FeatureMap::Taylor: {
        const int64_t B = u.size(0), H = u.size(1), T = u.size(2), d = d_k_;
        const double dd = static_cast<double>(d);
        Tensor outer = mul(u.reshape({B, H, T, d, 1}), u.reshape({B, H, T, 1, d})).reshape({B, H, T, d * d});
        Tensor ones = Tensor::ones({B, H, T, 1}, u.dtype(), u.device());
        return concat({ones, mul(u, 1.0 / std::pow(dd, 0.25)), mul(outer, 1.0 / (std::sqrt(2.0) * std::sqrt(dd)))}, 3);
      }
    }
    return u;
  }

  // (n, n) lower-triangular ones (the attention's causal rule as a multiplier), per (n, dtype, device).
  Tensor tril(int64_t n, DType dtype, Device device) {
    for (const Tensor& m : masks_)
      if (m.size(0) == n && m.dtype() == dtype && m.device() == device) return m;
    const kernels::AttentionVisibility causal{n, n, /*causal=*/true, /*window=*/0};
    std::vector<double> m(n * n, 0.0);
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        if (causal.visible(i, j)) m[i * n + j] = 1.0;
    masks_.push_back(Tensor::from_vector(m, {n, n}, dtype, device));
    return masks_.back();
  }

  // numerator (B,H,t,d_v), denominator φ(q)·z (B,H,t,1) -> normalised output.
  Tensor combine(const Tensor& num, const Tensor& den) const { return normalize_ ? div(num, add(den, eps_)) : num; }

  // Masked (T×T) products: every form's ground truth.
  Tensor parallel(const Tensor& fq, const Tensor& fk, const Tensor& v) {
    Tensor A = mul(matmul(fq, fk, false, true), tril(fq.size(2), fq.dtype(), fq.device()));  // (B,H,T,T)
    Tensor num = matmul(A, v);
    return normalize_ ? combine(num, sum(A, -1, true)) : num;
  }

  // One token through the recurrence: fq, fk (B,H,1,F), v (B,H,1,d_v); S, z updated.
  Tensor recurrent_step(const Tensor& fq, const Tensor& fk, const Tensor& v, Tensor& S, Tensor& z) const {
    S = add(S, matmul(fk, v, true, false));  // (B,H,F,d_v)
    z = add(z, fk);                          // (B,H,1,F)
    Tensor num = matmul(fq, S);              // (B,H,1,d_v)
    return normalize_ ? combine(num, matmul(fq, z, false, true)) : num;
  }

  Tensor recurrent(const Tensor& fq, const Tensor& fk, const Tensor& v) const {
    const int64_t B = fq.size(0), T = fq.size(2);
    Tensor S = Tensor::zeros({B, n_heads_, F_, d_v_}, fq.dtype(), fq.device());
    Tensor z = Tensor::zeros({B, n_heads_, 1, F_}, fq.dtype(), fq.device());
    std::vector<Tensor> outs;
    outs.reserve(T);
    for (int64_t t = 0; t < T; ++t)
      outs.push_back(recurrent_step(slice(fq, 2, t, t + 1), slice(fk, 2, t, t + 1), slice(v, 2, t, t + 1), S, z));
    return concat(outs, 2);
  }

  // Chunked: the fused scan (autograd/ops/gated_scan.h) without decay. v
  // carries an extra column of ones, so the scan's state is [S | zᵀ] and its
  // last output column is φ(q)·z: numerator and denominator in one pass.
  // Continues from `state` (S, z) when given and leaves the final state there.
  Tensor chunked(const Tensor& fq, const Tensor& fk, const Tensor& v, LinearAttnState* state = nullptr) {
    const int64_t B = fq.size(0), T = fq.size(2);
    Tensor ones = Tensor::ones({B, n_heads_, T, 1}, v.dtype(), v.device());
    Tensor initial = state ? concat({state->S, transpose(state->z, 2, 3)}, -1) : Tensor();
    Tensor final_state;
    Tensor o = gated_scan(fq, fk, concat({v, ones}, -1), Tensor(), Tensor(), initial, {.chunk = chunk_},
                          state ? &final_state : nullptr);
    if (state) {
      state->S = slice(final_state, -1, 0, d_v_);
      state->z = transpose(slice(final_state, -1, d_v_, d_v_ + 1), 2, 3);
    }
    return combine(slice(o, -1, 0, d_v_), slice(o, -1, d_v_, d_v_ + 1));
  }

  // o (B,H,T,d_v) -> (B,T,D): per-head RMSNorm when unnormalised, heads joined, out_proj.
  Tensor finish(Tensor o, int64_t B, int64_t T) const {
    if (!normalize_) o = rms_norm(o, Tensor(), kNormEps);
    return out_proj_->forward(permute(o, {0, 2, 1, 3}).reshape({B, T, d_model_}));
  }

  int64_t d_model_, n_heads_, d_k_ = 0, d_v_ = 0, F_ = 0;
  bool normalize_;
  double eps_;
  int64_t chunk_;
  FeatureMap map_;
  Form form_;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, out_proj_;
  std::vector<Tensor> masks_;
};

}  // namespace

MixerSpec linear_attn_mixer_spec() {
  using O = LinearAttnOptions;
  return define_mixer<O>(
      "linear_attn",
      "causal linear attention (Katharopoulos; Based Taylor map): chunked/parallel/recurrent forms, O(1) decode state",
      OptionTable<O>()
          .add("n_heads", &O::n_heads, "heads; d_model must divide (value head dim = d_model / n_heads)",
               at_least(int64_t{1}))
          .add("feature_dim", &O::feature_dim,
               "q/k dim per head before the feature map; 0 = d_model / n_heads (Zoology's Based: 8-24)",
               at_least(int64_t{0}))
          .add("feature_map", &O::feature_map,
               "elu (elu+1) | relu | identity | taylor (Based 2nd order: 1 + d + d^2 features)",
               named<FeatureMap>({{"elu", FeatureMap::Elu},
                                  {"relu", FeatureMap::Relu},
                                  {"identity", FeatureMap::Identity},
                                  {"taylor", FeatureMap::Taylor}}))
          .add("normalize", &O::normalize,
               "divide by phi(q).sum phi(k) + eps; false = per-head RMSNorm on the output instead (fla)")
          .add("chunk_size", &O::chunk_size, "tokens per chunk of the chunked form", at_least(int64_t{1}))
          .add("form", &O::form, "chunked | parallel (T x T masked products) | recurrent (token by token)",
               named<Form>({{"chunked", Form::Chunked}, {"parallel", Form::Parallel}, {"recurrent", Form::Recurrent}}))
          .add("eps", &O::eps, "denominator eps (normalize = true)", at_least(0.0)),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<LinearAttention>(ctx, o, gen);
      },
      {{"chunk_size=3"},
       {"chunk_size=2", "n_heads=2"},
       {"form=parallel"},
       {"form=recurrent", "n_heads=2"},
       {"feature_map=relu", "chunk_size=3"},
       {"feature_map=identity", "normalize=false", "chunk_size=4"},
       {"feature_map=taylor", "feature_dim=3", "n_heads=2", "chunk_size=3"},
       {"feature_map=taylor", "feature_dim=2", "form=parallel"},
       {"normalize=false", "chunk_size=2", "n_heads=4"},
       {"normalize=false", "form=recurrent", "feature_dim=3"},
       {"normalize=false", "form=parallel", "feature_map=relu", "n_heads=2"}});
}

}  // namespace mixlab
