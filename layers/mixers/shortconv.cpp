// `shortconv`: Zoology's BaseConv with a short convolution — a gated
// depthwise causal convolution, y = conv(u) ⊙ projection(u) (+ u). The
// residual inside the mixer follows BaseConv (on by default; the block adds
// its own residual on top, as in Zoology).
#include "autograd/ops.h"
#include "layers/causal_conv.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

struct ShortConvOptions {
  int64_t kernel_size = 3;
  bool residual = true;
};

struct ConvWindow : MixerState {
  Tensor past;  // (B, K-1, D): the last K-1 inputs, oldest first (zeros before the start)
  std::vector<Tensor> tensors() const override { return {past}; }
};

class ShortConv : public SequenceMixer {
 public:
  ShortConv(const MixerContext& ctx, const ShortConvOptions& o, Generator& gen)
      : d_model_(ctx.d_model), kernel_size_(o.kernel_size), residual_(o.residual) {
    projection_ = register_module("projection", std::make_shared<Linear>(d_model_, d_model_, gen, true, ctx.init_std));
    conv_ = register_module("conv", std::make_shared<CausalConv1d>(d_model_, kernel_size_, gen));
  }

  std::string name() const override { return "shortconv"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // u (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& u) override {
    Tensor y = mul(conv_->forward(u), projection_->forward(u));
    return residual_ ? add(y, u) : y;
  }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    auto s = std::make_unique<ConvWindow>();
    s->past = Tensor::zeros({batch, kernel_size_ - 1, d_model_}, conv_->weight.dtype(), conv_->weight.device());
    return s;
  }

  // u_t (B,D) -> (B,D)
  Tensor step(const Tensor& u_t, MixerState& state) override {
    auto& s = dynamic_cast<ConvWindow&>(state);
    const int64_t B = u_t.size(0);
    Tensor window = concat({s.past, u_t.reshape({B, 1, d_model_})}, 1);  // (B, K, D)
    s.past = slice(window, 1, 1, kernel_size_);
    s.position++;
    Tensor y = mul(conv_->step(window), projection_->forward(u_t));
    return residual_ ? add(y, u_t) : y;
  }

  // The last K-1 inputs per channel; constant in the context length.
  int64_t state_bytes(int64_t) const override { return (kernel_size_ - 1) * d_model_ * 4; }

  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_, K = kernel_size_;
    const std::vector<double> xs = x.to_vector();
    Matrix P = host(projection_->weight), W = host(conv_->weight);
    std::vector<double> pb = values(projection_->bias), cb = values(conv_->bias);
    std::vector<double> out(B * T * D);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> proj = linear(P, pb, &xs[(b * T + t) * D]);
        for (int64_t c = 0; c < D; ++c) {
          double conv = cb[c];
          for (int64_t j = 0; j < K; ++j) {
            int64_t src = t - (K - 1) + j;
            if (src >= 0) conv += W(c, j) * xs[(b * T + src) * D + c];
          }
          out[(b * T + t) * D + c] = conv * proj[c] + (residual_ ? xs[(b * T + t) * D + c] : 0.0);
        }
      }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  int64_t d_model_, kernel_size_;
  bool residual_;
  std::shared_ptr<Linear> projection_;
  std::shared_ptr<CausalConv1d> conv_;
};

}  // namespace

MixerSpec shortconv_mixer_spec() {
  using O = ShortConvOptions;
  return define_mixer<O>(
      "shortconv", "Zoology BaseConv: short depthwise causal conv gated by a linear projection",
      OptionTable<O>()
          .add("kernel_size", &O::kernel_size, "convolution width", at_least(int64_t{1}))
          .add("residual", &O::residual, "add the input inside the mixer (BaseConv)"),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<ShortConv>(ctx, o, gen);
      },
      {{"kernel_size=1"}, {"kernel_size=4", "residual=false"}});
}

}  // namespace mixlab
