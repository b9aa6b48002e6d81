// `mla`: multi-head latent attention (DeepSeek-V2, DeepSeek-AI 2024), written
// from the equations of deepseek-ai/DeepSeek-V3 `inference/model.py::MLA` and
// HF `modeling_deepseek_v2.py`; no code copied.
//
// H heads, r = kv_lora_rank, d_n = qk_nope_dim, d_r = qk_rope_dim,
// d_v = v_head_dim, d_q = d_n + d_r; no biases anywhere (as DeepSeek):
//   q = W_qb·RMSNorm(W_qa·x)  with q_lora_rank > 0, else q = W_q·x   (H·d_q)
//   q_h = [q_nope_h (d_n) | q_pe_h (d_r)],  q_pe_h rotated by RoPE
//   [c_raw (r) | k_pe (d_r)] = W_kva·x;  c = RMSNorm(c_raw)  (both norms have
//   a learned weight, eps mla.norm_eps = 1e-6); k_pe is ONE key head shared by
//   every query head, rotated by RoPE.
//   [k_nope_h (d_n) | v_h (d_v)] = W_kvb,h·c
//   k_h = [k_nope_h ; k_pe],  s_{h,ij} = q_h,i·k_h,j / √d_q, causal softmax,
//   o_h,i = Σ_j p_{h,ij} v_h,j;  y = W_o·concat_h(o_h).
//
// Forward (training) is the naive path: it expands k and v per head from the
// latent and calls the fused flash_attention op (causal) on the concatenated
// keys. flash_attention needs one head dim for q, k and v, so when d_v ≠ d_q
// the smaller side is padded with zeros (zero columns change neither q·k nor
// the kept part of the output; HF pads v the same way for flash-attn).
//
// Decoding caches only c and the rotated k_pe: r + d_r values per token
// (LatentCache, layers/mixers/mla.h). `step` then reads it in one of two ways
// (mla.decode):
//   absorbed: W_kvb viewed (H, d_n + d_v, r) = [W_UK,h ; W_UV,h];
//             score_{h,s} = scale·[(q_nope_hᵀ W_UK,h)·c_s + q_pe_h·k_pe_s],
//             o_h = W_UV,h·(Σ_s p_{h,s} c_s) — k and v are never expanded;
//   naive   : re-expands k_nope and v for every cached token from c (the same
//             code as prefill with one token).
// `prefill` appends the new latents to the cache and runs one flash_attention
// of the new queries over every cached key (Tq ≤ Tk, causal mask aligned
// bottom-right), so it continues from an existing cache.
//
// Conventions and deviations from the reference:
//   - RoPE pairing: mixlab's shared Rope helper (layers/positions.h) pairs
//     dimension i with i + d_r/2 (half-split, GPT-NeoX style); DeepSeek rotates
//     interleaved pairs (2i, 2i+1). This only permutes which dims pair up: a
//     DeepSeek checkpoint loads after permuting the rope rows of W_q/W_qb and
//     W_kva (2i → i, 2i+1 → i + d_r/2). Angles are pos·base^(−2i/d_r).
//   - No YaRN (mscale = 1): the scale is exactly 1/√(d_n + d_r).
//   - Initialisation: N(0, ctx.init_std) for every projection, N(0,
//     ctx.out_std) for o_proj (mixlab's convention), norm weights 1.
//   - Parameter names follow HF DeepSeek-V2: q_proj or q_a_proj,
//     q_a_layernorm, q_b_proj; kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj;
//     o_proj.
#include "layers/mixers/mla.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"
#include "layers/norms.h"
#include "layers/positions.h"

namespace mixlab {

namespace {

constexpr int64_t kMaxFlashHeadDim = 256;  // flash_attention's limit on the (padded) head dim

struct MlaOptions {
  int64_t n_heads = 2, q_lora_rank = 0, kv_lora_rank = 32, qk_nope_dim = 16, qk_rope_dim = 16, v_head_dim = 32;
  double rope_base = 10000.0, norm_eps = 1e-6;
  std::string decode = "absorbed";
};

class MultiHeadLatentAttention : public SequenceMixer {
 public:
  MultiHeadLatentAttention(const MixerContext& ctx, const MlaOptions& o, Generator& gen)
      : d_model_(ctx.d_model), n_heads_(o.n_heads), q_lora_(o.q_lora_rank), kv_lora_(o.kv_lora_rank),
        d_nope_(o.qk_nope_dim), d_rope_(o.qk_rope_dim), d_v_(o.v_head_dim), eps_(o.norm_eps) {
    MIXLAB_CHECK(std::max(o.qk_nope_dim + o.qk_rope_dim, o.v_head_dim) <= kMaxFlashHeadDim, ctx.section,
                 ".qk_nope_dim + ", ctx.section, ".qk_rope_dim = ", o.qk_nope_dim + o.qk_rope_dim, " and ",
                 ctx.section, ".v_head_dim = ", o.v_head_dim, " must be <= ", kMaxFlashHeadDim,
                 " (flash_attention's head dim limit)");
    absorbed_ = o.decode == "absorbed";
    rope_.base = o.rope_base;
    d_q_ = d_nope_ + d_rope_;
    const double std = ctx.init_std;
    if (q_lora_ > 0) {
      q_a_proj_ = register_module("q_a_proj", std::make_shared<Linear>(d_model_, q_lora_, gen, false, std));
      q_a_norm_ = register_module("q_a_layernorm", std::make_shared<RMSNorm>(q_lora_, eps_));
      q_b_proj_ = register_module("q_b_proj", std::make_shared<Linear>(q_lora_, n_heads_ * d_q_, gen, false, std));
    } else {
      q_proj_ = register_module("q_proj", std::make_shared<Linear>(d_model_, n_heads_ * d_q_, gen, false, std));
    }
    kv_a_proj_ =
        register_module("kv_a_proj_with_mqa", std::make_shared<Linear>(d_model_, kv_lora_ + d_rope_, gen, false, std));
    kv_a_norm_ = register_module("kv_a_layernorm", std::make_shared<RMSNorm>(kv_lora_, eps_));
    kv_b_proj_ =
        register_module("kv_b_proj", std::make_shared<Linear>(kv_lora_, n_heads_ * (d_nope_ + d_v_), gen, false, std));
    o_proj_ = register_module("o_proj", std::make_shared<Linear>(n_heads_ * d_v_, d_model_, gen, false, ctx.out_std));
  }

  std::string name() const override { return "mla"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // x (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& x) override {
    const Latents lat = latents(x, 0);
    return attend_expanded(x, 0, lat.c, lat.k_pe);
  }

  std::unique_ptr<MixerState> init_state(int64_t) const override { return std::make_unique<LatentCache>(); }

  // x (B,T,D) -> (B,T,D), continuing from the cached tokens: one parallel pass.
  Tensor prefill(const Tensor& x, MixerState& state) override {
    MIXLAB_CHECK(x.ndim() == 3, "mla.prefill: x must be (B, T, D), got ", x.describe());
    auto& cache = dynamic_cast<LatentCache&>(state);
    const int64_t first = cache.position;
    append(cache, latents(x, first));
    cache.position += x.size(1);
    const int64_t B = x.size(0), t = cache.rows.length();
    Tensor all = slice(cache.rows.keys(), 2, 0, t).reshape({B, t, kv_lora_ + d_rope_});
    return attend_expanded(x, first, slice(all, -1, 0, kv_lora_), slice(all, -1, kv_lora_, kv_lora_ + d_rope_));
  }

  // x_t (B,D) -> (B,D)
  Tensor step(const Tensor& x_t, MixerState& state) override {
    const int64_t B = x_t.size(0);
    Tensor x = x_t.reshape({B, 1, d_model_});
    if (!absorbed_) return prefill(x, state).reshape({B, d_model_});
    auto& cache = dynamic_cast<LatentCache&>(state);
    const int64_t pos = cache.position;
    append(cache, latents(x, pos));
    cache.position++;
    return attend_absorbed(x, pos, cache);
  }

  // The latent c and the shared rotated key: kv_lora_rank + qk_rope_dim values
  // per token (independent of the number of heads).
  int64_t state_bytes(int64_t context_len) const override { return context_len * (kv_lora_ + d_rope_) * 4; }

  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_, H = n_heads_;
    const int64_t dn = d_nope_, dr = d_rope_, dq = d_q_, dv = d_v_, r = kv_lora_;
    const std::vector<double> xs = x.to_vector(), none;
    const Matrix Wkva = host(kv_a_proj_->weight), Wkvb = host(kv_b_proj_->weight), Wo = host(o_proj_->weight);
    const std::vector<double> kv_norm_w = kv_a_norm_->weight.to_vector();
    Matrix Wq, Wqa, Wqb;
    std::vector<double> q_norm_w;
    if (q_lora_ > 0) {
      Wqa = host(q_a_proj_->weight);
      Wqb = host(q_b_proj_->weight);
      q_norm_w = q_a_norm_->weight.to_vector();
    } else {
      Wq = host(q_proj_->weight);
    }
    // y_i · w_i / √(mean(y²) + eps)
    auto rms_normed = [&](std::vector<double> y, const std::vector<double>& w) {
      double ms = 0;
      for (double v : y) ms += v * v;
      const double inv = 1.0 / std::sqrt(ms / static_cast<double>(y.size()) + eps_);
      for (size_t i = 0; i < y.size(); ++i) y[i] *= inv * w[i];
      return y;
    };
    // rotate dims (i, i + dr/2) of v[at..at+dr) by angle t·base^(−2i/dr)
    auto rotate = [&](std::vector<double>& v, int64_t at, int64_t t) {
      for (int64_t i = 0; i < dr / 2; ++i) {
        const double a = static_cast<double>(t) * std::pow(rope_.base, -2.0 * static_cast<double>(i) / dr);
        const double x1 = v[at + i], x2 = v[at + i + dr / 2];
        v[at + i] = x1 * std::cos(a) - x2 * std::sin(a);
        v[at + i + dr / 2] = x2 * std::cos(a) + x1 * std::sin(a);
      }
    };
    const double scale = 1.0 / std::sqrt(static_cast<double>(dq));
    std::vector<double> out(B * T * D);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<std::vector<double>> q(T), k_pe(T), kv(T);  // kv: per head [k_nope | v]
      for (int64_t t = 0; t < T; ++t) {
        const double* row = &xs[(b * T + t) * D];
        if (q_lora_ > 0) {
          const std::vector<double> a = rms_normed(linear(Wqa, none, row), q_norm_w);
          q[t] = linear(Wqb, none, a.data());
        } else {
          q[t] = linear(Wq, none, row);
        }
        for (int64_t h = 0; h < H; ++h) rotate(q[t], h * dq + dn, t);
        const std::vector<double> kva = linear(Wkva, none, row);
        const std::vector<double> c = rms_normed(std::vector<double>(kva.begin(), kva.begin() + r), kv_norm_w);
        k_pe[t].assign(kva.begin() + r, kva.end());
        rotate(k_pe[t], 0, t);
        kv[t] = linear(Wkvb, none, c.data());
      }
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> heads(H * dv, 0.0);
        for (int64_t h = 0; h < H; ++h) {
          std::vector<double> s(t + 1);
          double mx = -1e300;
          for (int64_t j = 0; j <= t; ++j) {
            double dot = 0;
            for (int64_t i = 0; i < dn; ++i) dot += q[t][h * dq + i] * kv[j][h * (dn + dv) + i];
            for (int64_t i = 0; i < dr; ++i) dot += q[t][h * dq + dn + i] * k_pe[j][i];
            s[j] = dot * scale;
            mx = std::max(mx, s[j]);
          }
          double z = 0;
          for (int64_t j = 0; j <= t; ++j) z += (s[j] = std::exp(s[j] - mx));
          for (int64_t j = 0; j <= t; ++j)
            for (int64_t i = 0; i < dv; ++i) heads[h * dv + i] += s[j] / z * kv[j][h * (dn + dv) + dn + i];
        }
        const std::vector<double> y = linear(Wo, none, heads.data());
        std::copy(y.begin(), y.end(), out.begin() + (b * T + t) * D);
      }
    }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  struct Latents {
    Tensor c;     // (B,T,r), normalised
    Tensor k_pe;  // (B,T,d_r), rotated
  };

  // x (B,T,D) at positions first.. -> this step's cache entries.
  Latents latents(const Tensor& x, int64_t first) const {
    Tensor kva = kv_a_proj_->forward(x);  // (B,T,r+d_r)
    Tensor c = kv_a_norm_->forward(slice(kva, -1, 0, kv_lora_));
    Tensor k_pe = rope_.apply(slice(kva, -1, kv_lora_, kv_lora_ + d_rope_), first);
    return {c, k_pe};
  }

  void append(LatentCache& cache, const Latents& lat) const {
    const int64_t B = lat.c.size(0), T = lat.c.size(1);
    cache.rows.append(concat({lat.c, lat.k_pe}, -1).reshape({B, 1, T, kv_lora_ + d_rope_}));
  }

  // x (B,T,D) at positions first.. -> q_nope (B,H,T,d_n) and rotated q_pe (B,H,T,d_r).
  std::pair<Tensor, Tensor> queries(const Tensor& x, int64_t first) const {
    const int64_t B = x.size(0), T = x.size(1);
    Tensor q = q_lora_ > 0 ? q_b_proj_->forward(q_a_norm_->forward(q_a_proj_->forward(x))) : q_proj_->forward(x);
    q = permute(q.reshape({B, T, n_heads_, d_q_}), {0, 2, 1, 3});
    return {slice(q, -1, 0, d_nope_), rope_.apply(slice(q, -1, d_nope_, d_q_), first)};
  }

  // Naive path: queries of x (positions first..first+T−1) over the keys of every
  // latent c (B,Tk,r), k_pe (B,Tk,d_r), Tk = first + T; k and v re-expanded
  // per head from c. -> (B,T,D)
  Tensor attend_expanded(const Tensor& x, int64_t first, const Tensor& c, const Tensor& k_pe) const {
    const int64_t B = x.size(0), T = x.size(1), Tk = c.size(1);
    auto [q_nope, q_pe] = queries(x, first);
    Tensor kv = permute(kv_b_proj_->forward(c).reshape({B, Tk, n_heads_, d_nope_ + d_v_}), {0, 2, 1, 3});
    Tensor k_nope = slice(kv, -1, 0, d_nope_), v = slice(kv, -1, d_nope_, d_nope_ + d_v_);
    Tensor shared = expand(k_pe.reshape({B, 1, Tk, d_rope_}), {B, n_heads_, Tk, d_rope_});
    Tensor q = concat({q_nope, q_pe}, -1), k = concat({k_nope, shared}, -1);
    // One head dim for the flash kernel: pad the narrower side with zeros.
    if (d_v_ < d_q_) v = pad_last(v, d_q_);
    if (d_q_ < d_v_) {
      q = pad_last(q, d_v_);
      k = pad_last(k, d_v_);
    }
    Tensor o = flash_attention(q, k, v, {.causal = true, .window = 0, .scale = scale(), .alibi_slopes = {}});  // (B,H,T,max(d_q,d_v))
    if (d_v_ < d_q_) o = slice(o, -1, 0, d_v_);
    return o_proj_->forward(permute(o, {0, 2, 1, 3}).reshape({B, T, n_heads_ * d_v_}));
  }

  // Absorbed path for one token x (B,1,D) at position pos, the cache already
  // holding it. The query is folded into latent space, [q_nope_hᵀ W_UK,h | q_pe_h],
  // and attends over the cached rows [c | k_pe] as keys and values;
  // the attended rows' first kv_lora columns are Σ_s p_{h,s} c_s, which W_UV,h
  // maps to the head's output. -> (B,D)
  Tensor attend_absorbed(const Tensor& x, int64_t pos, const LatentCache& cache) const {
    const int64_t B = x.size(0);
    auto [q_nope, q_pe] = queries(x, pos);  // (B,H,1,d_n), (B,H,1,d_r)
    Tensor w = kv_b_proj_->weight.reshape({n_heads_, d_nope_ + d_v_, kv_lora_});
    Tensor w_uk = slice(w, 1, 0, d_nope_), w_uv = slice(w, 1, d_nope_, d_nope_ + d_v_);  // (H,d_n,r), (H,d_v,r)
    // q_nope_hᵀ W_UK,h, batched over heads: (H,B,d_n)·(H,d_n,r) -> (H,B,r) -> (B,H,r)
    Tensor q_lat = permute(matmul(permute(q_nope.reshape({B, n_heads_, d_nope_}), {1, 0, 2}), w_uk), {1, 0, 2});
    // The H heads' queries are H rows of one query block against the single
    // latent head, so the cache is read once for all heads (FlashMLA's idea);
    // every cached token is in the past, so no mask.
    Tensor q = concat({q_lat, q_pe.reshape({B, n_heads_, d_rope_})}, -1).reshape({B, 1, n_heads_, kv_lora_ + d_rope_});
    const Tensor& rows = cache.rows.keys();
    Tensor attended = flash_attention_cached(q, rows, rows, cache.rows.length(),
                                             {.causal = false, .window = 0, .scale = scale(), .alibi_slopes = {}});
    Tensor ctx = slice(attended.reshape({B, n_heads_, kv_lora_ + d_rope_}), -1, 0, kv_lora_);  // (B,H,r)
    // W_UV,h·ctx_h: (H,B,r)·(H,d_v,r)ᵀ -> (H,B,d_v) -> (B,H,d_v)
    Tensor o = permute(matmul(permute(ctx, {1, 0, 2}), w_uv, false, true), {1, 0, 2});
    return o_proj_->forward(o.reshape({B, n_heads_ * d_v_}));
  }

  // y (..., n) -> (..., width) with zeros appended.
  static Tensor pad_last(const Tensor& y, int64_t width) {
    Shape shape = y.shape();
    shape[shape.ndim() - 1] = width - y.size(-1);
    return concat({y, Tensor::zeros(shape, y.dtype(), y.device())}, -1);
  }

  double scale() const { return 1.0 / std::sqrt(static_cast<double>(d_q_)); }

  int64_t d_model_, n_heads_, q_lora_, kv_lora_, d_nope_, d_rope_, d_v_;
  int64_t d_q_ = 0;
  double eps_;
  bool absorbed_ = true;
  Rope rope_;
  std::shared_ptr<Linear> q_proj_, q_a_proj_, q_b_proj_, kv_a_proj_, kv_b_proj_, o_proj_;
  std::shared_ptr<RMSNorm> q_a_norm_, kv_a_norm_;
};

}  // namespace

MixerSpec mla_mixer_spec() {
  using O = MlaOptions;
  const ValueCheck<int64_t> even_pairs{"even and >= 2 (RoPE rotates pairs)",
                                       [](const int64_t& v) { return v >= 2 && v % 2 == 0; }, {}};
  return define_mixer<O>(
      "mla",
      "multi-head latent attention (DeepSeek-V2): low-rank KV latent + one shared RoPE key; decode caches "
      "kv_lora_rank + qk_rope_dim values per token, absorbed or naive",
      OptionTable<O>()
          .add("n_heads", &O::n_heads, "attention heads", at_least(int64_t{1}))
          .add("q_lora_rank", &O::q_lora_rank,
               "rank of the query LoRA (W_qa -> RMSNorm -> W_qb); 0 = q = W_q x directly (V2-Lite)",
               at_least(int64_t{0}))
          .add("kv_lora_rank", &O::kv_lora_rank, "width of the cached KV latent c", at_least(int64_t{1}))
          .add("qk_nope_dim", &O::qk_nope_dim, "per-head query/key dims without RoPE", at_least(int64_t{1}))
          .add("qk_rope_dim", &O::qk_rope_dim,
               "query/key dims with RoPE (even; the key part is one head shared by all heads)", even_pairs)
          .add("v_head_dim", &O::v_head_dim, "per-head value dim", at_least(int64_t{1}))
          .add("rope_base", &O::rope_base, "RoPE base of the angles", greater_than(1.0))
          .add("norm_eps", &O::norm_eps, "eps of the latent RMSNorms", at_least(0.0))
          .add("decode", &O::decode,
               "how step reads the latent cache: absorbed (W_UK/W_UV folded into q and the output) | naive "
               "(re-expand k and v per head)",
               one_of({"absorbed", "naive"})),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<MultiHeadLatentAttention>(ctx, o, gen);
      },
      // Small shapes (the suite perturbs every parameter): q LoRA with d_v < d_q,
      // naive decoding with d_v > d_q, and one head.
      {{"q_lora_rank=6", "kv_lora_rank=5", "qk_nope_dim=3", "qk_rope_dim=4", "v_head_dim=5"},
       {"decode=naive", "n_heads=3", "kv_lora_rank=4", "qk_nope_dim=2", "qk_rope_dim=2", "v_head_dim=6"},
       {"n_heads=1", "q_lora_rank=4", "kv_lora_rank=6", "qk_nope_dim=4", "qk_rope_dim=4", "v_head_dim=8",
        "rope_base=100"}});
}

}  // namespace mixlab
