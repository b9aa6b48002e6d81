// `linformer`: low-rank attention along the sequence (Wang et al. 2020;
// docs/mixers.md), following lucidrains/linformer `linformer/linformer.py`.
// Written from the equations, no code copied.
//
//   q = W_q x (H·d_h), k = W_k x, v = W_v x (H·d_h, or one d_h head with
//   one_kv_head; v = k with share_kv); no biases on q/k/v.
//   K' = E[:T]ᵀ K, V' = F[:T]ᵀ V   (E, F: max_seq_len × k, U(±1/√k); F = E with share_kv)
//   O = softmax(Q K'ᵀ / √d_h) V'    per head, over the k compressed positions
//   y = W_out concat_h(O) + b_out
//
// Every output position mixes every input position through E and F, so the
// mixer is non-causal and has no decode form: a causal task refuses it
// (train/experiment.cpp), and it trains on the bidirectional masked_recall
// task. Sequences longer than the model's max_seq_len are refused (E and F
// have that many rows). The attention over the k compressed keys runs through
// the fused kernel (non-causal, GQA when one_kv_head).
//
// Default k = 32 rather than the reference's 256: MQAR-sized sequences are
// 64-1024 tokens; experiments set k explicitly.
#include <cmath>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

struct LinformerOptions {
  int64_t n_heads = 1, k = 32;
  bool share_kv = false, one_kv_head = false;
};

class Linformer : public SequenceMixer {
 public:
  Linformer(const MixerContext& ctx, const LinformerOptions& o, Generator& gen)
      : d_model_(ctx.d_model), n_heads_(o.n_heads), k_(o.k), max_len_(ctx.max_seq_len), share_kv_(o.share_kv) {
    MIXLAB_CHECK(ctx.d_model % o.n_heads == 0, ctx.section, ".n_heads: d_model ", ctx.d_model,
                 " is not divisible by ", o.n_heads, " heads");
    MIXLAB_CHECK(ctx.max_seq_len >= 1, "linformer: needs the model's max_seq_len (the rows of E and F)");
    d_head_ = d_model_ / n_heads_;
    kv_heads_ = o.one_kv_head ? 1 : n_heads_;
    const int64_t kv_dim = kv_heads_ * d_head_;
    q_proj_ = register_module("to_q", std::make_shared<Linear>(d_model_, d_model_, gen, false, ctx.init_std));
    k_proj_ = register_module("to_k", std::make_shared<Linear>(d_model_, kv_dim, gen, false, ctx.init_std));
    if (!share_kv_) v_proj_ = register_module("to_v", std::make_shared<Linear>(d_model_, kv_dim, gen, false, ctx.init_std));
    const double bound = 1.0 / std::sqrt(static_cast<double>(k_));
    proj_k_ = register_parameter("proj_k", Tensor::empty({max_len_, k_}));
    uniform_(proj_k_, -bound, bound, gen);
    if (!share_kv_) {
      proj_v_ = register_parameter("proj_v", Tensor::empty({max_len_, k_}));
      uniform_(proj_v_, -bound, bound, gen);
    }
    out_proj_ = register_module("to_out", std::make_shared<Linear>(d_model_, d_model_, gen, true, ctx.out_std));
  }

  std::string name() const override { return "linformer"; }
  MixerTraits traits() const override { return {.causal = false, .has_decode = false}; }

  // x (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& x) override {
    const int64_t B = x.size(0), T = x.size(1);
    MIXLAB_CHECK(T <= max_len_, "linformer: sequence length ", T, " exceeds max_seq_len ", max_len_,
                 " (the rows of its E/F projections)");
    Tensor q = permute(q_proj_->forward(x).reshape({B, T, n_heads_, d_head_}), {0, 2, 1, 3});  // (B,H,T,d)
    Tensor keys = k_proj_->forward(x);                                                         // (B,T,Hkv·d)
    Tensor values = share_kv_ ? keys : v_proj_->forward(x);
    // K' = E[:T]ᵀ K: (T,k)ᵀ·(B,T,Hkv·d) -> (B,k,Hkv·d) -> (B,Hkv,k,d)
    auto compress = [&](const Tensor& P, const Tensor& y) {
      Tensor c = matmul(slice(P, 0, 0, T), y, true, false);
      return permute(c.reshape({B, k_, kv_heads_, d_head_}), {0, 2, 1, 3});
    };
    Tensor kc = compress(proj_k_, keys), vc = compress(share_kv_ ? proj_k_ : proj_v_, values);
    Tensor o = flash_attention(q, kc, vc,
                               {.causal = false, .window = 0, .scale = 1.0 / std::sqrt(double(d_head_)), .alibi_slopes = {}});
    return out_proj_->forward(permute(o, {0, 2, 1, 3}).reshape({B, T, d_model_}));
  }

  std::unique_ptr<MixerState> init_state(int64_t) const override {
    throw Error("linformer: no decode form (it is non-causal: every position mixes every other through E and F)");
  }
  Tensor step(const Tensor&, MixerState&) override {
    throw Error("linformer: no decode form (it is non-causal)");
  }
  // No decode state: the mixer cannot decode.
  int64_t state_bytes(int64_t) const override { return 0; }

  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_, H = n_heads_, d = d_head_, K = k_;
    const std::vector<double> xs = x.to_vector(), none;
    const Matrix Wq = host(q_proj_->weight), Wk = host(k_proj_->weight), Wo = host(out_proj_->weight);
    const Matrix Wv = share_kv_ ? Wk : host(v_proj_->weight);
    const Matrix E = host(proj_k_), F = share_kv_ ? E : host(proj_v_);
    const std::vector<double> bo = values(out_proj_->bias);
    std::vector<double> out(B * T * D);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<std::vector<double>> q(T), kx(T), vx(T);
      for (int64_t t = 0; t < T; ++t) {
        const double* row = &xs[(b * T + t) * D];
        q[t] = linear(Wq, none, row);
        kx[t] = linear(Wk, none, row);
        vx[t] = linear(Wv, none, row);
      }
      const int64_t kv_dim = static_cast<int64_t>(kx[0].size());
      std::vector<double> kc(K * kv_dim, 0.0), vc(K * kv_dim, 0.0);  // E[:T]ᵀ K, F[:T]ᵀ V
      for (int64_t j = 0; j < K; ++j)
        for (int64_t t = 0; t < T; ++t)
          for (int64_t c = 0; c < kv_dim; ++c) {
            kc[j * kv_dim + c] += E(t, j) * kx[t][c];
            vc[j * kv_dim + c] += F(t, j) * vx[t][c];
          }
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> heads(D, 0.0);
        for (int64_t h = 0; h < H; ++h) {
          const int64_t g = kv_dim == d ? 0 : h;  // one_kv_head: every head reads head 0
          std::vector<double> s(K);
          double mx = -1e300;
          for (int64_t j = 0; j < K; ++j) {
            double dot = 0;
            for (int64_t i = 0; i < d; ++i) dot += q[t][h * d + i] * kc[j * kv_dim + g * d + i];
            s[j] = dot / std::sqrt(static_cast<double>(d));
            mx = std::max(mx, s[j]);
          }
          double z = 0;
          for (double& v : s) z += (v = std::exp(v - mx));
          for (int64_t j = 0; j < K; ++j)
            for (int64_t i = 0; i < d; ++i) heads[h * d + i] += s[j] / z * vc[j * kv_dim + g * d + i];
        }
        const std::vector<double> y = linear(Wo, bo, heads.data());
        std::copy(y.begin(), y.end(), out.begin() + (b * T + t) * D);
      }
    }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  int64_t d_model_, n_heads_, k_, max_len_;
  bool share_kv_;
  int64_t d_head_ = 0, kv_heads_ = 0;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, out_proj_;
  Tensor proj_k_, proj_v_;
};

}  // namespace

MixerSpec linformer_mixer_spec() {
  using O = LinformerOptions;
  return define_mixer<O>(
      "linformer",
      "Linformer: attention over k learned projections of the sequence (non-causal, no decode; masked_recall)",
      OptionTable<O>()
          .add("n_heads", &O::n_heads, "attention heads", at_least(int64_t{1}))
          .add("k", &O::k, "compressed length (reference: 256)", at_least(int64_t{1}))
          .add("share_kv", &O::share_kv, "values = keys, F = E")
          .add("one_kv_head", &O::one_kv_head, "one key/value head shared by all query heads"),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<Linformer>(ctx, o, gen);
      },
      {{"k=5", "n_heads=2"}, {"k=3", "share_kv=true"}, {"k=4", "n_heads=4", "one_kv_head=true"}});
}

}  // namespace mixlab
