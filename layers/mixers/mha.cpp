// `mha`: causal softmax multi-head attention (Vaswani et al. 2017; docs/mixers.md):
// q/k/v projections, scores = q kᵀ/√d with a causal mask,
// softmax in the input dtype, o = P v, output projection. GQA/MQA through
// mha.n_kv_heads: query head h reads KV head ⌊h / (H/Hkv)⌋ (HF repeat_kv's
// convention). By default the scores go through the fused flash kernel
// (autograd/ops/attention.h, O(T) memory); <name>.kernel = plain composes
// matmul, mask and softmax instead (T×T scores), kept as a cross-check.
//
// <name>.window = W > 0 makes it causal sliding-window attention (docs/mixers.md
// convention 2; the `swa` preset is mha with window 16): row i attends keys
// max(0, i−W+1) .. i, exactly min(i+1, W) of them (flash-attn's window
// (W−1, 0)); decoding keeps only the last W keys and values, so its memory is
// constant in the context.
//
// Positions (<name>.positions): none, rope (half-split pairing, base and
// NTK/YaRN scaling configurable; keys are cached rotated) or alibi (per-head linear
// bias on the scores). Learned absolute positions are model.positions.
#include <cmath>
#include <limits>
#include <optional>

#include "autograd/ops.h"
#include "layers/linear.h"
#include "layers/mixers/kv_cache.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"
#include "layers/positions.h"

namespace mixlab {

namespace {

struct KVCache : MixerState {
  explicit KVCache(int64_t window) : kv(window) {}
  KVBuffer kv;  // keys (rotated) and values of the cached tokens
  std::vector<Tensor> tensors() const override { return kv.visible_rows(); }
};

// The options of one attention layer (its section: "mha", "swa", an instance).
struct AttentionOptions {
  int64_t n_heads = 1, n_kv_heads = 0;
  int64_t window = 0;  // keys per query row; 0 = every past key
  bool bias = true;
  std::string positions = "none";  // none | rope | alibi
  double rope_base = 10000.0;
  Rope::Scaling rope_scaling = Rope::Scaling::None;
  double rope_factor = 1.0;
  int64_t rope_original_length = 2048;
  Rope::Ramp rope_yarn_ramp = Rope::Ramp::Reference;
  std::string kernel = "fused";  // fused | fused_bf16 (CUDA only) | plain (O(T²) scores)
};

Rope rope_of(const AttentionOptions& o) {
  Rope r;
  r.base = o.rope_base;
  r.factor = o.rope_factor;
  r.original_length = o.rope_original_length;
  r.scaling = o.rope_scaling;
  r.ramp = o.rope_yarn_ramp;
  return r;
}

class MultiHeadAttention : public SequenceMixer {
 public:
  MultiHeadAttention(const MixerContext& ctx, const AttentionOptions& o, Generator& gen)
      : d_model_(ctx.d_model), n_heads_(o.n_heads), n_kv_heads_(o.n_kv_heads > 0 ? o.n_kv_heads : o.n_heads),
        head_dim_(ctx.d_model / o.n_heads), window_(o.window), fused_(o.kernel != "plain"),
        bf16_(o.kernel == "fused_bf16") {
    const std::string& section = ctx.section;
    MIXLAB_CHECK(ctx.d_model % o.n_heads == 0, section, ".n_heads: d_model ", ctx.d_model, " is not divisible by ",
                 o.n_heads, " heads");
    MIXLAB_CHECK(o.n_heads % n_kv_heads_ == 0, section, ".n_kv_heads: ", o.n_kv_heads, " must divide ", section,
                 ".n_heads = ", o.n_heads, " (0 means n_heads; 1 is MQA)");
    MIXLAB_CHECK(o.positions != "rope" || head_dim_ % 2 == 0, section,
                 ".positions = rope needs an even head dim, got ", head_dim_, " (d_model / n_heads)");
    if (o.positions == "rope") rope_ = rope_of(o);
    if (o.positions == "alibi") slopes_ = alibi_slopes(o.n_heads);
    const int64_t kv_dim = n_kv_heads_ * head_dim_;
    q_proj_ = register_module("q_proj", std::make_shared<Linear>(d_model_, d_model_, gen, o.bias, ctx.init_std));
    k_proj_ = register_module("k_proj", std::make_shared<Linear>(d_model_, kv_dim, gen, o.bias, ctx.init_std));
    v_proj_ = register_module("v_proj", std::make_shared<Linear>(d_model_, kv_dim, gen, o.bias, ctx.init_std));
    out_proj_ = register_module("out_proj", std::make_shared<Linear>(d_model_, d_model_, gen, o.bias, ctx.out_std));
  }

  std::string name() const override { return "mha"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // x (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& x) override {
    const int64_t B = x.size(0), T = x.size(1);
    Tensor q = rotate(heads(q_proj_->forward(x), B, T, n_heads_), 0);
    Tensor k = rotate(heads(k_proj_->forward(x), B, T, n_kv_heads_), 0);
    Tensor v = heads(v_proj_->forward(x), B, T, n_kv_heads_);
    Tensor o;  // (B,H,T,d)
    if (fused_) {
      o = flash_attention(q, k, v, attention_spec());
    } else {
      Tensor scores =
          add(mul(matmul(q, query_heads(k), false, true), scale()), causal_mask(T, x.dtype(), x.device()));
      if (!slopes_.empty()) scores = add(scores, alibi_bias(slopes_, T, T, 0, 0, x.dtype(), x.device()));
      o = matmul(softmax(scores, -1), query_heads(v));
    }
    return out_proj_->forward(permute(o, {0, 2, 1, 3}).reshape({B, T, d_model_}));
  }

  std::unique_ptr<MixerState> init_state(int64_t) const override { return std::make_unique<KVCache>(window_); }

  // x_t (B,D) -> (B,D): a prefill of one token.
  Tensor step(const Tensor& x_t, MixerState& state) override { return step_through_prefill(x_t, state); }

  // x (B,T,D) at positions pos.. -> (B,T,D). The new keys and values join the
  // cache and every new query attends through the fused kernel, whose causal
  // mask is bottom-right aligned (query i sits at pos + i), so window and
  // ALiBi distances come out right (layers/mixers/kv_cache.h).
  Tensor prefill(const Tensor& x, MixerState& state) override {
    auto& cache = dynamic_cast<KVCache&>(state);
    const int64_t B = x.size(0), T = x.size(1), pos = cache.position;
    Tensor q = rotate(heads(q_proj_->forward(x), B, T, n_heads_), pos);
    Tensor k = rotate(heads(k_proj_->forward(x), B, T, n_kv_heads_), pos);
    Tensor v = heads(v_proj_->forward(x), B, T, n_kv_heads_);
    cache.kv.append(k, v);
    Tensor o = flash_attention_cached(q, cache.kv.keys(), cache.kv.values(), cache.kv.length(), attention_spec());
    cache.position += T;
    return out_proj_->forward(permute(o, {0, 2, 1, 3}).reshape({B, T, d_model_}));
  }

  // K and V of every cached token: 2 · Hkv · d values for each of
  // min(context, W) tokens.
  int64_t state_bytes(int64_t context_len) const override {
    const int64_t cached = window_ > 0 ? std::min(context_len, window_) : context_len;
    return 2 * n_kv_heads_ * head_dim_ * cached * 4;
  }

  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_, H = n_heads_, d = head_dim_;
    const int64_t group = n_heads_ / n_kv_heads_;  // query heads per KV head
    const std::vector<double> xs = x.to_vector();
    Matrix Wq = host(q_proj_->weight), Wk = host(k_proj_->weight), Wv = host(v_proj_->weight),
           Wo = host(out_proj_->weight);
    std::vector<double> bq = values(q_proj_->bias), bk = values(k_proj_->bias), bv = values(v_proj_->bias),
                        bo = values(out_proj_->bias);
    std::vector<double> out(B * T * D);
    for (int64_t b = 0; b < B; ++b) {
      std::vector<std::vector<double>> q(T), k(T), v(T);
      for (int64_t t = 0; t < T; ++t) {
        const double* row = &xs[(b * T + t) * D];
        q[t] = linear(Wq, bq, row);
        k[t] = linear(Wk, bk, row);
        v[t] = linear(Wv, bv, row);
        if (rope_) {  // rotate dim i with i + d/2 by t·θ_i in every head, scale by the yarn mscale
          const std::vector<double> theta = rope_->frequencies(d);
          const double m = rope_->magnitude();
          for (auto* vec : {&q[t], &k[t]})
            for (size_t h0 = 0; h0 < vec->size(); h0 += d)
              for (int64_t i = 0; i < d / 2; ++i) {
                const double a = static_cast<double>(t) * theta[i];
                const double x1 = (*vec)[h0 + i], x2 = (*vec)[h0 + i + d / 2];
                (*vec)[h0 + i] = m * (x1 * std::cos(a) - x2 * std::sin(a));
                (*vec)[h0 + i + d / 2] = m * (x2 * std::cos(a) + x1 * std::sin(a));
              }
        }
      }
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> concat_heads(D, 0.0);
        for (int64_t h = 0; h < H; ++h) {
          const int64_t first = window_ > 0 ? std::max<int64_t>(0, t - window_ + 1) : 0;
          std::vector<double> s(t + 1, 0.0);
          double mx = -1e300;
          for (int64_t j = first; j <= t; ++j) {
            double dot = 0;
            for (int64_t i = 0; i < d; ++i) dot += q[t][h * d + i] * k[j][(h / group) * d + i];
            s[j] = dot / std::sqrt(static_cast<double>(d)) - (slopes_.empty() ? 0.0 : slopes_[h] * (t - j));
            mx = std::max(mx, s[j]);
          }
          double z = 0;
          for (int64_t j = first; j <= t; ++j) z += (s[j] = std::exp(s[j] - mx));
          for (int64_t j = first; j <= t; ++j)
            for (int64_t i = 0; i < d; ++i) concat_heads[h * d + i] += s[j] / z * v[j][(h / group) * d + i];
        }
        std::vector<double> o = linear(Wo, bo, concat_heads.data());
        std::copy(o.begin(), o.end(), out.begin() + (b * T + t) * D);
      }
    }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  // (B, T, h·d) -> (B, h, T, d)
  Tensor heads(const Tensor& y, int64_t B, int64_t T, int64_t h) const {
    return permute(y.reshape({B, T, h, head_dim_}), {0, 2, 1, 3});
  }
  // KV heads (B, Hkv, T, d) -> one per query head (B, H, T, d): head h reads ⌊h / (H/Hkv)⌋.
  Tensor query_heads(const Tensor& kv) const {
    if (n_kv_heads_ == n_heads_) return kv;
    if (!kv_index_.defined() || kv_index_.device() != kv.device()) {
      std::vector<int64_t> idx(n_heads_);
      for (int64_t h = 0; h < n_heads_; ++h) idx[h] = h / (n_heads_ / n_kv_heads_);
      kv_index_ = Tensor::from_indices(idx, {n_heads_}, kv.device());
    }
    return index_select(kv, 1, kv_index_);
  }
  double scale() const { return 1.0 / std::sqrt(static_cast<double>(head_dim_)); }
  AttentionMaskSpec attention_spec() const {
    return {.causal = true, .window = window_, .scale = scale(), .alibi_slopes = slopes_, .bf16 = bf16_};
  }
  // (B, h, T, d) at positions first.. -> RoPE-rotated (unchanged without rope)
  Tensor rotate(const Tensor& x, int64_t first) const { return rope_ ? rope_->apply(x, first) : x; }

  // (T, T): 0 where query i may see key j, -inf elsewhere: the fused
  // kernel's rule for this mixer's spec (j <= i, and i - j < W with a
  // window). Cached per (T, dtype, device).
  Tensor causal_mask(int64_t T, DType dtype, Device device) {
    if (!mask_.defined() || mask_.size(0) != T || mask_.dtype() != dtype || mask_.device() != device) {
      const kernels::AttentionVisibility rule = attention_visibility(attention_spec(), T, T);
      std::vector<double> m(T * T, 0.0);
      for (int64_t i = 0; i < T; ++i)
        for (int64_t j = 0; j < T; ++j)
          if (!rule.visible(i, j)) m[i * T + j] = -std::numeric_limits<double>::infinity();
      mask_ = Tensor::from_vector(m, {T, T}, dtype, device);
    }
    return mask_;
  }

  int64_t d_model_, n_heads_, n_kv_heads_, head_dim_, window_;
  bool fused_, bf16_;
  std::optional<Rope> rope_;    // set with positions = rope
  std::vector<double> slopes_;  // ALiBi slopes, with positions = alibi
  mutable Tensor kv_index_;  // i64 (H): the KV head of each query head
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, out_proj_;
  Tensor mask_;
};

}  // namespace

MixerSpec mha_mixer_spec() {
  using O = AttentionOptions;
  return define_mixer<O>(
      "mha",
      "causal softmax multi-head attention: GQA/MQA via n_kv_heads, sliding window, RoPE (NTK/YaRN) or ALiBi, fused "
      "flash kernel",
      OptionTable<O>()
          .add("n_heads", &O::n_heads, "attention heads; d_model must divide", at_least(int64_t{1}))
          .add("n_kv_heads", &O::n_kv_heads,
               "key/value heads (GQA): must divide n_heads; 1 = MQA; 0 = n_heads (plain MHA)", at_least(int64_t{0}))
          .add("window", &O::window, "keys each query sees: itself and the W-1 before it; 0 = every past key",
               at_least(int64_t{0}))
          .add("bias", &O::bias, "biases in the q/k/v/out projections (Zoology: true)")
          .add("positions", &O::positions, "none | rope | alibi (learned absolute positions: model.positions)",
               one_of({"none", "rope", "alibi"}))
          .add("rope_base", &O::rope_base, "RoPE base of the angles", greater_than(1.0))
          .add("rope_scaling", &O::rope_scaling,
               "RoPE context extension: none | ntk (base' = base·s^(d/(d-2))) | yarn (per-frequency ramp + mscale)",
               named<Rope::Scaling>(
                   {{"none", Rope::Scaling::None}, {"ntk", Rope::Scaling::Ntk}, {"yarn", Rope::Scaling::Yarn}}))
          .add("rope_factor", &O::rope_factor,
               "context extension factor s of rope_scaling (new context / original context)", at_least(1.0))
          .add("rope_original_length", &O::rope_original_length, "yarn: the context length the model was trained at",
               at_least(int64_t{1}))
          .add("rope_yarn_ramp", &O::rope_yarn_ramp,
               "yarn ramp: reference (ends rounded to whole dimensions, linear in the dimension; HF, jquesnelle/yarn) "
               "| continuous (the paper's formula, linear in rotations)",
               named<Rope::Ramp>({{"reference", Rope::Ramp::Reference}, {"continuous", Rope::Ramp::Continuous}}))
          .add("kernel", &O::kernel,
               "fused (tiled online-softmax kernel, O(T) memory) | fused_bf16 (the same on BF16 tensor cores, FP32 "
               "accumulation; CUDA only) | plain (composition of ops, T×T scores)",
               one_of({"fused", "fused_bf16", "plain"})),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<MultiHeadAttention>(ctx, o, gen);
      },
      {{"n_heads=2"}, {"n_heads=4", "bias=false"}, {"n_heads=4", "n_kv_heads=2"}, {"kernel=plain"},
       {"kernel=plain", "n_heads=4", "n_kv_heads=2", "positions=alibi"}, {"n_heads=4", "n_kv_heads=1"},
       {"n_heads=2", "positions=rope"},
       {"n_heads=2", "n_kv_heads=1", "positions=rope", "rope_scaling=ntk", "rope_factor=4", "rope_base=500"},
       {"n_heads=2", "positions=rope", "rope_scaling=yarn", "rope_factor=4", "rope_original_length=6"},
       {"n_heads=2", "positions=rope", "rope_scaling=yarn", "rope_factor=4", "rope_original_length=40",
        "rope_yarn_ramp=continuous"},
       {"n_heads=4", "positions=alibi"},
       // Sliding windows (the swa preset's code path).
       {"window=2"}, {"window=3", "n_heads=2"}, {"window=4", "n_heads=4", "n_kv_heads=2"},
       {"window=3", "n_heads=2", "positions=rope"}, {"window=3", "n_heads=2", "positions=alibi"},
       {"window=3", "kernel=plain"}});
}

}  // namespace mixlab
