// `baseconv`: Zoology's BaseConv with its long filter (zoology/mixers/
// base_conv.py, convolution.py). With u (B, T, D):
//   y = (h * u + u) ⊙ (W u + b) + u
// where h * u is the causal depthwise convolution with a filter as long as
// the context (kernels: autograd/ops/long_conv.h, FFT beyond 32 taps), and
// the "+ u" inside the bracket is Zoology's fft_conv adding its input back.
// The filter is explicit (a free (D, l_max) parameter, LongConvolution) or
// implicit (ImplicitLongConvolution, Zoology's default): an MLP over fixed
// positional features, h[:, s] = W2 relu(W1 z_s + b1) + b2.
// Zoology's figure-2 BaseConv alternates short and long layers
// (kernel_size [3, -1, ...]); in mixlab that is pattern = shortconv,baseconv
// (docs/mixers.md). Decoding keeps the last min(t, l_max) inputs and
// convolves them directly.
#include <cmath>

#include "autograd/ops.h"
#include "layers/linear.h"
#include "layers/mixers/long_filters.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

enum class FilterKind { Implicit, Explicit };

struct BaseConvOptions {
  FilterKind filter = FilterKind::Implicit;
  int64_t d_emb = 3;      // positional features of the implicit filter (odd, >= 3)
  int64_t d_hidden = 16;  // width of the implicit filter's MLP
  bool conv_skip = true;  // Zoology's fft_conv returns h * u + u
  bool residual = true;   // BaseConv's "+ u" after the gate
  LongConvAlgorithm conv = LongConvAlgorithm::Auto;
};

struct InputHistory : MixerState {
  Tensor filter_taps;  // (l_max, D) taps_oldest_first of the filter: parameters, not state
  Tensor history;      // (B, min(t, l_max), D): the last inputs, oldest first
  std::vector<Tensor> tensors() const override { return {history}; }
};

class BaseConv : public SequenceMixer {
 public:
  BaseConv(const MixerContext& ctx, const BaseConvOptions& o, Generator& gen)
      : o_(o), d_model_(ctx.d_model), l_max_(ctx.max_seq_len), section_(ctx.section) {
    MIXLAB_CHECK(l_max_ >= 1, ctx.section, ": the long filter needs the model's max_seq_len (got ", l_max_, ")");
    MIXLAB_CHECK(o.d_emb % 2 == 1, ctx.section, ".d_emb = ", o.d_emb, " is not allowed (allowed: odd, >= 3)");
    projection_ = register_module("projection", std::make_shared<Linear>(d_model_, d_model_, gen, true, ctx.init_std));
    if (o.filter == FilterKind::Explicit) {
      // LongConvolution: torch.randn(d_model, l_max).
      filter_ = register_parameter("filter", Tensor::randn({d_model_, l_max_}, gen));
    } else {
      positions_ = register_buffer("positions", filter_positions(l_max_, o.d_emb));
      mlp_in_ = register_module("mlp_in", std::make_shared<Linear>(o.d_emb, o.d_hidden, gen, true, ctx.init_std));
      mlp_out_ = register_module("mlp_out", std::make_shared<Linear>(o.d_hidden, d_model_, gen, true, ctx.init_std));
    }
  }

  std::string name() const override { return "baseconv"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // The first `len` taps of every channel's filter: (D, len).
  Tensor filter(int64_t len) const {
    if (o_.filter == FilterKind::Explicit) return slice(filter_, 1, 0, len);
    Tensor h = mlp_out_->forward(relu(mlp_in_->forward(slice(positions_, 0, 0, len))));  // (len, D)
    return transpose(h, 0, 1);
  }

  // u (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& u) override {
    const int64_t T = u.size(1);
    MIXLAB_CHECK(T <= l_max_, section_, ": sequence of ", T, " tokens is longer than the filter (max_seq_len ", l_max_,
                 ")");
    Tensor conv = long_conv(u, filter(T), o_.conv);
    if (o_.conv_skip) conv = add(conv, u);
    Tensor y = mul(conv, projection_->forward(u));
    return o_.residual ? add(y, u) : y;
  }

  std::unique_ptr<MixerState> init_state(int64_t) const override {
    NoGradGuard no_grad;
    auto s = std::make_unique<InputHistory>();
    s->filter_taps = taps_oldest_first(filter(l_max_));
    return s;
  }

  // u_t (B,D) -> (B,D)
  Tensor step(const Tensor& u_t, MixerState& state) override {
    auto& s = dynamic_cast<InputHistory&>(state);
    const int64_t B = u_t.size(0);
    s.history = append_history(s.history, u_t.reshape({B, 1, d_model_}), l_max_);
    s.position++;
    Tensor conv = convolve_newest(s.history, s.filter_taps);
    if (o_.conv_skip) conv = add(conv, u_t);
    Tensor y = mul(conv, projection_->forward(u_t));
    return o_.residual ? add(y, u_t) : y;
  }

  // The filter reaches l_max steps back: the cache holds that many inputs at most.
  int64_t state_bytes(int64_t context_len) const override { return std::min(context_len, l_max_) * d_model_ * 4; }

  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_;
    const std::vector<double> xs = x.to_vector();
    const Matrix P = host(projection_->weight);
    const std::vector<double> pb = values(projection_->bias);
    // The filter h[c][s] from its definition.
    std::vector<std::vector<double>> h(D, std::vector<double>(T));
    if (o_.filter == FilterKind::Explicit) {
      const Matrix F = host(filter_);
      for (int64_t c = 0; c < D; ++c)
        for (int64_t s = 0; s < T; ++s) h[c][s] = F(c, s);
    } else {
      const Matrix W1 = host(mlp_in_->weight), W2 = host(mlp_out_->weight), Z = host(positions_);
      const std::vector<double> b1 = values(mlp_in_->bias), b2 = values(mlp_out_->bias);
      for (int64_t s = 0; s < T; ++s) {
        std::vector<double> hidden = linear(W1, b1, &Z.v[s * Z.cols]);
        for (double& v : hidden) v = v > 0 ? v : 0;
        const std::vector<double> taps = linear(W2, b2, hidden.data());
        for (int64_t c = 0; c < D; ++c) h[c][s] = taps[c];
      }
    }
    std::vector<double> out(B * T * D);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        const double* ut = &xs[(b * T + t) * D];
        const std::vector<double> proj = linear(P, pb, ut);
        for (int64_t c = 0; c < D; ++c) {
          double conv = o_.conv_skip ? ut[c] : 0.0;
          for (int64_t s = 0; s <= t; ++s) conv += h[c][s] * xs[(b * T + t - s) * D + c];
          out[(b * T + t) * D + c] = conv * proj[c] + (o_.residual ? ut[c] : 0.0);
        }
      }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  BaseConvOptions o_;
  int64_t d_model_, l_max_;
  std::string section_;
  std::shared_ptr<Linear> projection_, mlp_in_, mlp_out_;
  Tensor filter_, positions_;
};

}  // namespace

MixerSpec baseconv_mixer_spec() {
  using O = BaseConvOptions;
  return define_mixer<O>(
      "baseconv",
      "Zoology BaseConv with a long filter: (h * u + u) gated by a linear projection, h explicit or an MLP "
      "over positions; decode caches the last max_seq_len inputs",
      OptionTable<O>()
          .add("filter", &O::filter, "implicit (Zoology's default: an MLP over positional features) | explicit",
               named<FilterKind>({{"implicit", FilterKind::Implicit}, {"explicit", FilterKind::Explicit}}))
          .add("d_emb", &O::d_emb, "implicit filter: positional features (odd, >= 3)", at_least(int64_t{3}))
          .add("d_hidden", &O::d_hidden, "implicit filter: MLP width", at_least(int64_t{1}))
          .add("conv_skip", &O::conv_skip, "add u to the convolution before the gate (Zoology's fft_conv)")
          .add("residual", &O::residual, "add u after the gate (BaseConv)")
          .add("conv", &O::conv, "long convolution algorithm: auto (direct up to 32 taps, FFT beyond) | fft | direct",
               long_conv_algorithms()),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<BaseConv>(ctx, o, gen);
      },
      {{"filter=explicit", "conv=fft"},
       {"conv_skip=false", "residual=false", "conv=direct"},
       {"d_emb=5", "d_hidden=4", "conv=fft"}});
}

}  // namespace mixlab
