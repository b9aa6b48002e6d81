// `hyena`: the Hyena operator of order 2 (Poli et al. 2023), as Zoology
// builds it (zoology/mixers/hyena.py). With u (B, T, D):
//   (x1, x2, v) = split(shortconv(W_in u + b_in))          depthwise, 3 taps, over 3D channels
//   z = x2 ⊙ (h * (x1 ⊙ v) + β ⊙ (x1 ⊙ v))                 h * : causal long convolution per channel
//   y = W_out z + b_out
// The implicit filter: h[:, s] = window_s ⊙ FFN(p_s), where p_s are the
// positional features (layers/mixers/long_filters.h), FFN = Linear(e, N) →
// sin(ω ⊙ ·) → [Linear(N, N) → sin(ω ⊙ ·)] × inner → Linear(N, D, no bias),
// one ω (1, N) shared by every sin as in Zoology, and window_s = exp(-t_s |δ_c|)
// (Hyena's exponential modulation). Decoding keeps the short convolution's
// window and the last min(t, l_max) gated inputs x1 ⊙ v, convolved directly:
// Hyena has no recurrent form.
#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/periodic.h"
#include "layers/causal_conv.h"
#include "layers/linear.h"
#include "layers/mixers/long_filters.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

struct HyenaOptions {
  int64_t filter_order = 64;       // width N of the filter FFN (Zoology's Hyena default)
  int64_t emb_dim = 3;             // positional features e (odd, >= 3)
  int64_t num_inner_mlps = 2;      // hidden Linear → sin pairs after the first
  int64_t short_filter_order = 3;  // taps of the short convolution on the projections
  double frequency = 1.0;          // initial ω of the sin activations
  bool modulate = true;            // multiply the filter by the exponential-decay window
  bool train_positions = true;     // Zoology trains the positional features (see docs/mixers.md)
  LongConvAlgorithm conv = LongConvAlgorithm::Auto;
};

struct HyenaState : MixerState {
  Tensor filter_taps;  // (l_max, D) taps_oldest_first of the filter: parameters, not state
  Tensor window;       // (B, K-1, 3D): the last projected inputs of the short convolution
  Tensor history;      // (B, min(t, l_max), D): the last gated inputs x1 ⊙ v
  std::vector<Tensor> tensors() const override { return {window, history}; }
};

class Hyena : public SequenceMixer {
 public:
  Hyena(const MixerContext& ctx, const HyenaOptions& o, Generator& gen)
      : o_(o), d_model_(ctx.d_model), l_max_(ctx.max_seq_len), section_(ctx.section) {
    MIXLAB_CHECK(l_max_ >= 1, ctx.section, ": the implicit filter needs the model's max_seq_len (got ", l_max_, ")");
    MIXLAB_CHECK(o.emb_dim % 2 == 1, ctx.section, ".emb_dim = ", o.emb_dim, " is not allowed (allowed: odd, >= 3)");
    const int64_t D = d_model_, N = o.filter_order;
    in_proj_ = register_module("in_proj", std::make_shared<Linear>(D, 3 * D, gen, true, ctx.init_std));
    out_proj_ = register_module("out_proj", std::make_shared<Linear>(D, D, gen, true, ctx.out_std));
    short_filter_ = register_module("short_filter", std::make_shared<CausalConv1d>(3 * D, o.short_filter_order, gen));
    Tensor z = filter_positions(l_max_, o.emb_dim);
    positions_ = o.train_positions ? register_parameter("positions", z) : register_buffer("positions", z);
    times_ = register_buffer("times", filter_times(l_max_));
    decay_ = register_buffer("decay", decay_rates(D));
    ffn_.push_back(register_module("ffn_in", std::make_shared<Linear>(o.emb_dim, N, gen, true, ctx.init_std)));
    for (int64_t i = 0; i < o.num_inner_mlps; ++i)
      ffn_.push_back(register_module("ffn_" + std::to_string(i), std::make_shared<Linear>(N, N, gen, true, ctx.init_std)));
    ffn_out_ = register_module("ffn_out", std::make_shared<Linear>(N, D, gen, false, ctx.init_std));
    freq_ = register_parameter("freq", Tensor::full({1, N}, o.frequency));
    beta_ = register_parameter("bias", Tensor::randn({D}, gen));  // Filter.bias: the skip term β
  }

  std::string name() const override { return "hyena"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // The first `len` taps of every channel's filter: (D, len).
  Tensor filter(int64_t len) const {
    Tensor h = slice(positions_, 0, 0, len);
    for (const auto& layer : ffn_) h = sin(mul(layer->forward(h), freq_));
    h = ffn_out_->forward(h);  // (len, D)
    if (o_.modulate) h = mul(h, exp(mul(neg(slice(times_, 0, 0, len)), decay_)));
    return transpose(h, 0, 1);
  }

  // u (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& u) override {
    const int64_t T = u.size(1), D = d_model_;
    MIXLAB_CHECK(T <= l_max_, section_, ": sequence of ", T, " tokens is longer than the filter (max_seq_len ", l_max_,
                 ")");
    Tensor uc = short_filter_->forward(in_proj_->forward(u));
    Tensor x1 = slice(uc, 2, 0, D), x2 = slice(uc, 2, D, 2 * D), v = slice(uc, 2, 2 * D, 3 * D);
    Tensor gated = mul(v, x1);
    Tensor z = add(long_conv(gated, filter(T), o_.conv), mul(gated, beta_));
    return out_proj_->forward(mul(z, x2));
  }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    NoGradGuard no_grad;
    auto s = std::make_unique<HyenaState>();
    s->filter_taps = taps_oldest_first(filter(l_max_));
    s->window = Tensor::zeros({batch, o_.short_filter_order - 1, 3 * d_model_}, beta_.dtype(), beta_.device());
    return s;
  }

  // u_t (B,D) -> (B,D)
  Tensor step(const Tensor& u_t, MixerState& state) override {
    auto& s = dynamic_cast<HyenaState&>(state);
    const int64_t B = u_t.size(0), D = d_model_, K = o_.short_filter_order;
    Tensor window = concat({s.window, in_proj_->forward(u_t).reshape({B, 1, 3 * D})}, 1);  // (B, K, 3D)
    s.window = slice(window, 1, 1, K);
    Tensor uc = short_filter_->step(window);
    Tensor x1 = slice(uc, 1, 0, D), x2 = slice(uc, 1, D, 2 * D), v = slice(uc, 1, 2 * D, 3 * D);
    Tensor gated = mul(v, x1);
    s.history = append_history(s.history, gated.reshape({B, 1, D}), l_max_);
    s.position++;
    Tensor z = add(convolve_newest(s.history, s.filter_taps), mul(gated, beta_));
    return out_proj_->forward(mul(z, x2));
  }

  // The short window of 3D projected channels plus the long filter's reach of gated inputs.
  int64_t state_bytes(int64_t context_len) const override {
    return ((o_.short_filter_order - 1) * 3 * d_model_ + std::min(context_len, l_max_) * d_model_) * 4;
  }

  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_, K = o_.short_filter_order;
    const std::vector<double> xs = x.to_vector();
    // The filter h[c][s] from its definition.
    const Matrix Z = host(positions_);
    const std::vector<double> w = values(freq_), tt = values(times_), rate = values(decay_);
    std::vector<std::vector<double>> h(D, std::vector<double>(T));
    for (int64_t s = 0; s < T; ++s) {
      std::vector<double> a(&Z.v[s * Z.cols], &Z.v[(s + 1) * Z.cols]);
      for (const auto& layer : ffn_) {
        a = linear(host(layer->weight), values(layer->bias), a.data());
        for (size_t i = 0; i < a.size(); ++i) a[i] = std::sin(w[i] * a[i]);
      }
      const std::vector<double> taps = linear(host(ffn_out_->weight), {}, a.data());
      for (int64_t c = 0; c < D; ++c) h[c][s] = taps[c] * (o_.modulate ? std::exp(-tt[s] * rate[c]) : 1.0);
    }
    // Projections, then the short depthwise convolution (tap j reads t-K+1+j).
    const Matrix Win = host(in_proj_->weight), Wsf = host(short_filter_->weight);
    const std::vector<double> bin = values(in_proj_->bias), bsf = values(short_filter_->bias), beta = values(beta_);
    std::vector<double> proj(B * T * 3 * D), uc(B * T * 3 * D);
    for (int64_t r = 0; r < B * T; ++r) {
      const std::vector<double> p = linear(Win, bin, &xs[r * D]);
      std::copy(p.begin(), p.end(), &proj[r * 3 * D]);
    }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < 3 * D; ++c) {
          double acc = bsf[c];
          for (int64_t j = 0; j < K; ++j)
            if (t - K + 1 + j >= 0) acc += Wsf(c, j) * proj[(b * T + t - K + 1 + j) * 3 * D + c];
          uc[(b * T + t) * 3 * D + c] = acc;
        }
    const Matrix Wout = host(out_proj_->weight);
    const std::vector<double> bout = values(out_proj_->bias);
    std::vector<double> out(B * T * D);
    auto at = [&](int64_t b, int64_t t, int64_t c) { return uc[(b * T + t) * 3 * D + c]; };
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> z(D);
        for (int64_t c = 0; c < D; ++c) {
          double acc = beta[c] * at(b, t, c) * at(b, t, 2 * D + c);
          for (int64_t s = 0; s <= t; ++s) acc += h[c][s] * at(b, t - s, c) * at(b, t - s, 2 * D + c);
          z[c] = acc * at(b, t, D + c);
        }
        const std::vector<double> y = linear(Wout, bout, z.data());
        std::copy(y.begin(), y.end(), &out[(b * T + t) * D]);
      }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  HyenaOptions o_;
  int64_t d_model_, l_max_;
  std::string section_;
  std::shared_ptr<Linear> in_proj_, out_proj_, ffn_out_;
  std::vector<std::shared_ptr<Linear>> ffn_;
  std::shared_ptr<CausalConv1d> short_filter_;
  Tensor positions_, times_, decay_, freq_, beta_;
};

}  // namespace

MixerSpec hyena_mixer_spec() {
  using O = HyenaOptions;
  return define_mixer<O>(
      "hyena",
      "Hyena (order 2): short conv on 3 projections, x2 ⊙ (h * (x1 ⊙ v)) with an implicit sin-FFN filter under an "
      "exponential decay; decode caches the last max_seq_len gated inputs",
      OptionTable<O>()
          .add("filter_order", &O::filter_order, "width of the filter FFN", at_least(int64_t{1}))
          .add("emb_dim", &O::emb_dim, "positional features of the filter (odd, >= 3)", at_least(int64_t{3}))
          .add("num_inner_mlps", &O::num_inner_mlps, "hidden Linear + sin layers of the filter FFN",
               at_least(int64_t{0}))
          .add("short_filter_order", &O::short_filter_order, "taps of the short conv on the projections",
               at_least(int64_t{1}))
          .add("frequency", &O::frequency, "initial frequency of the filter's sin activations", greater_than(0.0))
          .add("modulate", &O::modulate, "multiply the filter by Hyena's exponential-decay window")
          .add("train_positions", &O::train_positions,
               "train the filter's positional features (Zoology's optimizer does; Hyena meant lr 1e-5)")
          .add("conv", &O::conv, "long convolution algorithm: auto (direct up to 32 taps, FFT beyond) | fft | direct",
               long_conv_algorithms()),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<Hyena>(ctx, o, gen);
      },
      {{"conv=fft", "modulate=false"},
       {"conv=direct", "train_positions=false", "short_filter_order=1"},
       {"filter_order=5", "num_inner_mlps=0", "emb_dim=5", "frequency=3"}});
}

}  // namespace mixlab
