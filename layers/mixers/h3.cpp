// `h3`: Hungry Hungry Hippos (Fu, Dao et al. 2023) as Zoology builds it
// (zoology/mixers/h3/h3.py, ss_kernel_shift.py, ss_kernel_diag.py, after the
// H3 paper's safari code). With u (B, T, D), heads H = D / hd, channel
// i = h·hd + d of a projection belonging to head h:
//   q, k, v = W_q u + b_q, W_k u + b_k, W_v u + b_v
//   k̃ = S * k + D_k ⊙ k               shift SSM: a length-N filter per channel,
//                                      S[c, j] = Σ_m B_c[m] C_c[m + j] (B = e_1 at init)
//   kv[h, d1, d2] = k̃[h·hd + d1] · v[h·hd + d2]
//   y[h, d1, d2] = K_h * kv[h, d1, d2] + D_h · kv[h, d1, d2]
//                                      diagonal SSM (S4D-Lin, bilinear): per head,
//                                      K_h[l] = 2 Re Σ_n C_hn dB_hn dA_hn^l
//   o[d2·H + h] = Σ_d1 q[h·hd + d1] · y[h, d1, d2]     (Zoology's output order: d2 outer)
//   out = W_o o + b_o
// with dt = exp(log_dt), A = -exp(inv_A_real) + i·A_imag, z = dt·A,
// dA = (1 + z/2)/(1 - z/2), dB = dt·B/(1 - z/2). Decoding runs both SSMs as
// recurrences: a window of the last N keys and the complex diagonal state.
#include <cmath>
#include <complex>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/mixers/long_filters.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

struct H3Options {
  int64_t d_state = 64;   // N: shift SSM taps and twice the diagonal SSM's complex modes (Zoology's default)
  int64_t head_dim = 1;   // hd (Zoology's default; its figure 2 uses 2)
  double dt_min = 0.001, dt_max = 0.1;  // log-uniform init of the diagonal SSM's step
  LongConvAlgorithm conv = LongConvAlgorithm::Auto;
};

struct H3State : MixerState {
  // Derived from the parameters once per decode, not state:
  Tensor shift_taps;              // (N, D) the shift filter, oldest tap first
  Tensor dA_re, dA_im;            // (M, N/2) per kv channel m = (h, d1, d2)
  Tensor dB_re, dB_im, C_re, C_im;
  // The state:
  Tensor keys;                    // (B, N, D): the last N keys, oldest first (zeros before the start)
  Tensor s_re, s_im;              // (B, M, N/2): the diagonal SSM's complex state
  std::vector<Tensor> tensors() const override { return {keys, s_re, s_im}; }
};

// Complex numbers as (re, im) tensor pairs, for the SSM parameters.
struct Cx {
  Tensor re, im;
};
Cx cmul(const Cx& a, const Cx& b) { return {sub(mul(a.re, b.re), mul(a.im, b.im)), add(mul(a.re, b.im), mul(a.im, b.re))}; }

class H3 : public SequenceMixer {
 public:
  H3(const MixerContext& ctx, const H3Options& o, Generator& gen) : o_(o), d_model_(ctx.d_model) {
    MIXLAB_CHECK(ctx.d_model % o.head_dim == 0, ctx.section, ".head_dim: d_model ", ctx.d_model,
                 " is not divisible by head_dim ", o.head_dim);
    MIXLAB_CHECK(o.d_state >= 2, ctx.section, ".d_state = ", o.d_state, " is not allowed (allowed: >= 2)");
    MIXLAB_CHECK(o.dt_min <= o.dt_max, ctx.section, ".dt_min = ", o.dt_min, " must be <= dt_max = ", o.dt_max);
    const int64_t D = d_model_, N = o.d_state, H = D / o.head_dim, N2 = N / 2;
    heads_ = H;
    q_proj_ = register_module("q_proj", std::make_shared<Linear>(D, D, gen, true, ctx.init_std));
    k_proj_ = register_module("k_proj", std::make_shared<Linear>(D, D, gen, true, ctx.init_std));
    v_proj_ = register_module("v_proj", std::make_shared<Linear>(D, D, gen, true, ctx.init_std));
    // Shift SSM: B = e_1, C as torch's kaiming_uniform(a=√5) on (D, 1, N): U(±1/√N).
    std::vector<double> e1(D * N, 0.0);
    for (int64_t c = 0; c < D; ++c) e1[c * N] = 1.0;
    shift_B_ = register_parameter("shift_B", Tensor::from_vector(e1, {D, N}, DType::F32));
    shift_C_ = register_parameter("shift_C", Tensor::empty({D, N}));
    uniform_(shift_C_, -1.0 / std::sqrt(double(N)), 1.0 / std::sqrt(double(N)), gen);
    shift_D_ = register_parameter("ssm_k_D", Tensor::randn({D}, gen));
    // Diagonal SSM, S4D-Lin: A_n = -1/2 + iπn, B = 1, C ~ complex normal (variance 1), log dt ~ U(log dt_min, log dt_max).
    log_dt_ = register_parameter("log_dt", Tensor::empty({H}));
    uniform_(log_dt_, std::log(o.dt_min), std::log(o.dt_max), gen);
    inv_A_real_ = register_parameter("inv_A_real", Tensor::full({H, N2}, std::log(0.5)));
    std::vector<double> imag(H * N2);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t n = 0; n < N2; ++n) imag[h * N2 + n] = M_PI * double(n);
    A_imag_ = register_parameter("A_imag", Tensor::from_vector(imag, {H, N2}, DType::F32));
    B_re_ = register_parameter("B_re", Tensor::full({H, N2}, 1.0));
    B_im_ = register_parameter("B_im", Tensor::zeros({H, N2}));
    C_re_ = register_parameter("C_re", mul(Tensor::randn({H, N2}, gen), std::sqrt(0.5)).detach());
    C_im_ = register_parameter("C_im", mul(Tensor::randn({H, N2}, gen), std::sqrt(0.5)).detach());
    D_ = register_parameter("D", Tensor::randn({H}, gen));
    output_linear_ = register_module("output_linear", std::make_shared<Linear>(D, D, gen, true, ctx.init_std));
  }

  std::string name() const override { return "h3"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // The shift filter's first min(N, len) taps, (D, ·): S[c, j] = Σ_m B[c, m] C[c, m + j],
  // computed as the causal convolution of B with C reversed, read backwards.
  Tensor shift_filter(int64_t len) const {
    const int64_t N = o_.d_state, D = d_model_;
    std::vector<int64_t> reversed(N);
    for (int64_t i = 0; i < N; ++i) reversed[i] = N - 1 - i;
    const Tensor rev = Tensor::from_indices(reversed, Shape{N}, shift_C_.device());
    Tensor c_rev = index_select(transpose(shift_C_, 0, 1), 0, rev).reshape({1, N, D});  // (1, N, D)
    Tensor full = index_select(long_conv(c_rev, shift_B_, LongConvAlgorithm::Direct).reshape({N, D}), 0, rev);
    return transpose(slice(full, 0, 0, std::min(N, len)), 0, 1);
  }

  // The discretised diagonal SSM per head: dA, dB (H, N/2) and C (H, N/2).
  struct Discrete {
    Cx dA, dB, C;
  };
  Discrete discretise() const {
    Tensor dt = exp(log_dt_).reshape({heads_, 1});
    Tensor zr = mul(neg(exp(inv_A_real_)), dt), zi = mul(A_imag_, dt);
    Tensor den = add(square(add(mul(zr, -0.5), 1.0)), square(mul(zi, 0.5)));  // |1 - z/2|²
    Cx inv{div(add(mul(zr, -0.5), 1.0), den), div(mul(zi, 0.5), den)};       // 1 / (1 - z/2)
    Cx dA{div(add(mul(add(square(zr), square(zi)), -0.25), 1.0), den), div(zi, den)};
    Cx dB = cmul({mul(B_re_, dt), mul(B_im_, dt)}, inv);
    return {dA, dB, {C_re_, C_im_}};
  }

  // K_h[l] = 2 Re Σ_n C dB dA^l for l < len: (H, len). The powers dA^l come
  // from repeated doubling, [P, P·dA^m] with m = 1, 2, 4, ...
  Tensor diag_kernel(int64_t len) const {
    const Discrete d = discretise();
    const Cx w = cmul(d.C, d.dB);
    const int64_t H = heads_, N2 = o_.d_state / 2;
    Cx power{Tensor::full({H, N2, 1}, 1.0, w.re.dtype(), w.re.device()),
             Tensor::zeros({H, N2, 1}, w.re.dtype(), w.re.device())};
    Cx step{d.dA.re.reshape({H, N2, 1}), d.dA.im.reshape({H, N2, 1})};
    while (power.re.size(2) < len) {
      const Cx next = cmul(power, step);
      power = {concat({power.re, next.re}, 2), concat({power.im, next.im}, 2)};
      step = cmul(step, step);
    }
    Tensor re = slice(power.re, 2, 0, len), im = slice(power.im, 2, 0, len);
    Tensor k = sub(mul(re, w.re.reshape({H, N2, 1})), mul(im, w.im.reshape({H, N2, 1})));
    return mul(sum(k, 1), 2.0);
  }

  // q (…, D), kv-space y (…, H, hd, hd) -> (…, D) in Zoology's (d2, h) order.
  Tensor read_out(const Tensor& q, const Tensor& y, const Shape& lead) const {
    const int64_t H = heads_, hd = o_.head_dim;
    std::vector<int64_t> qs = lead.vec(), out = lead.vec();
    qs.insert(qs.end(), {H, hd, 1});
    Tensor o = sum(mul(y, q.reshape(Shape(qs))), -2);  // (…, H, hd2)
    const int n = static_cast<int>(lead.ndim());
    o = transpose(o, n, n + 1);                         // (…, hd2, H)
    out.push_back(d_model_);
    return output_linear_->forward(o.reshape(Shape(out)));
  }

  // k̃ (…, D), v (…, D) -> kv (…, H, hd, hd)
  Tensor outer(const Tensor& k, const Tensor& v, const Shape& lead) const {
    const int64_t H = heads_, hd = o_.head_dim;
    std::vector<int64_t> ks = lead.vec(), vs = lead.vec();
    ks.insert(ks.end(), {H, hd, 1});
    vs.insert(vs.end(), {H, 1, hd});
    return mul(k.reshape(Shape(ks)), v.reshape(Shape(vs)));
  }

  // D per kv channel, (H, hd, hd).
  Tensor d_per_channel() const { return expand(D_.reshape({heads_, 1, 1}), {heads_, o_.head_dim, o_.head_dim}); }

  // u (B,T,D) -> (B,T,D)
  Tensor forward(const Tensor& u) override {
    const int64_t B = u.size(0), T = u.size(1), D = d_model_, H = heads_, hd = o_.head_dim, M = H * hd * hd;
    Tensor q = q_proj_->forward(u), k = k_proj_->forward(u), v = v_proj_->forward(u);
    k = add(long_conv(k, shift_filter(T), o_.conv), mul(k, shift_D_));
    Tensor kv = outer(k, v, Shape{B, T});  // (B, T, H, hd, hd)
    Tensor kernel = expand(diag_kernel(T).reshape({H, 1, T}), {H, hd * hd, T}).reshape({M, T});
    Tensor y = long_conv(kv.reshape({B, T, M}), kernel, o_.conv).reshape({B, T, H, hd, hd});
    y = add(y, mul(kv, d_per_channel()));
    (void)D;
    return read_out(q, y, Shape{B, T});
  }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    NoGradGuard no_grad;
    const int64_t N = o_.d_state, D = d_model_, H = heads_, hd = o_.head_dim, M = H * hd * hd, N2 = N / 2;
    auto s = std::make_unique<H3State>();
    s->shift_taps = taps_oldest_first(shift_filter(N));
    const Discrete d = discretise();
    auto per_channel = [&](const Tensor& t) {
      return expand(t.reshape({H, 1, N2}), {H, hd * hd, N2}).reshape({M, N2});
    };
    s->dA_re = per_channel(d.dA.re);
    s->dA_im = per_channel(d.dA.im);
    s->dB_re = per_channel(d.dB.re);
    s->dB_im = per_channel(d.dB.im);
    s->C_re = per_channel(d.C.re);
    s->C_im = per_channel(d.C.im);
    const DType dt = D_.dtype();
    s->keys = Tensor::zeros({batch, N, D}, dt, D_.device());
    s->s_re = Tensor::zeros({batch, M, N2}, dt, D_.device());
    s->s_im = Tensor::zeros({batch, M, N2}, dt, D_.device());
    return s;
  }

  // u_t (B,D) -> (B,D)
  Tensor step(const Tensor& u_t, MixerState& state) override {
    auto& s = dynamic_cast<H3State&>(state);
    const int64_t B = u_t.size(0), D = d_model_, N = o_.d_state, H = heads_, hd = o_.head_dim, M = H * hd * hd;
    Tensor q = q_proj_->forward(u_t), k = k_proj_->forward(u_t), v = v_proj_->forward(u_t);
    s.keys = slice(concat({s.keys, k.reshape({B, 1, D})}, 1), 1, 1, N + 1);
    k = add(convolve_newest(s.keys, s.shift_taps), mul(k, shift_D_));
    Tensor kv = outer(k, v, Shape{B});                    // (B, H, hd, hd)
    Tensor x = kv.reshape({B, M, 1});
    // s = dA ⊙ s + dB x;  y = 2 Re Σ_n C s
    Tensor re = add(sub(mul(s.dA_re, s.s_re), mul(s.dA_im, s.s_im)), mul(s.dB_re, x));
    Tensor im = add(add(mul(s.dA_re, s.s_im), mul(s.dA_im, s.s_re)), mul(s.dB_im, x));
    s.s_re = re;
    s.s_im = im;
    s.position++;
    Tensor y = mul(sum(sub(mul(s.C_re, re), mul(s.C_im, im)), 2), 2.0).reshape({B, H, hd, hd});
    y = add(y, mul(kv, d_per_channel()));
    return read_out(q, y, Shape{B});
  }

  // The shift window (N keys of D channels) and the complex diagonal state
  // (N/2 modes, re and im, for each of the H·hd² kv channels): constant in context.
  int64_t state_bytes(int64_t) const override {
    const int64_t N = o_.d_state, hd = o_.head_dim;
    return (N * d_model_ + 2 * (N / 2) * heads_ * hd * hd) * 4;
  }

  Tensor reference_forward(const Tensor& x) const override {
    using namespace reference;
    using C = std::complex<double>;
    const int64_t B = x.size(0), T = x.size(1), D = d_model_, N = o_.d_state, H = heads_, hd = o_.head_dim,
                  N2 = N / 2;
    const std::vector<double> xs = x.to_vector();
    const Matrix Wq = host(q_proj_->weight), Wk = host(k_proj_->weight), Wv = host(v_proj_->weight),
                 Wo = host(output_linear_->weight), SB = host(shift_B_), SC = host(shift_C_);
    const std::vector<double> bq = values(q_proj_->bias), bk = values(k_proj_->bias), bv = values(v_proj_->bias),
                              bo = values(output_linear_->bias), Dk = values(shift_D_), Dh = values(D_),
                              log_dt = values(log_dt_), iar = values(inv_A_real_), ai = values(A_imag_),
                              br = values(B_re_), bi = values(B_im_), cr = values(C_re_), ci = values(C_im_);
    // The SSM kernels from their definitions.
    std::vector<double> shift(D * T, 0.0), diag(H * T, 0.0);
    for (int64_t c = 0; c < D; ++c)
      for (int64_t j = 0; j < std::min(N, T); ++j)
        for (int64_t m = 0; m + j < N; ++m) shift[c * T + j] += SB(c, m) * SC(c, m + j);
    for (int64_t h = 0; h < H; ++h)
      for (int64_t n = 0; n < N2; ++n) {
        const double dt = std::exp(log_dt[h]);
        const C z = dt * C(-std::exp(iar[h * N2 + n]), ai[h * N2 + n]);
        const C dA = (1.0 + z / 2.0) / (1.0 - z / 2.0), dB = dt * C(br[h * N2 + n], bi[h * N2 + n]) / (1.0 - z / 2.0);
        const C w = C(cr[h * N2 + n], ci[h * N2 + n]) * dB;
        for (int64_t l = 0; l < T; ++l) diag[h * T + l] += 2.0 * (w * std::pow(dA, double(l))).real();
      }
    std::vector<double> q(B * T * D), k(B * T * D), v(B * T * D), ks(B * T * D, 0.0);
    for (int64_t r = 0; r < B * T; ++r) {
      const std::vector<double> a = linear(Wq, bq, &xs[r * D]), b = linear(Wk, bk, &xs[r * D]),
                                c = linear(Wv, bv, &xs[r * D]);
      std::copy(a.begin(), a.end(), &q[r * D]);
      std::copy(b.begin(), b.end(), &k[r * D]);
      std::copy(c.begin(), c.end(), &v[r * D]);
    }
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t)
        for (int64_t c = 0; c < D; ++c) {
          double acc = Dk[c] * k[(b * T + t) * D + c];
          for (int64_t s = 0; s <= t; ++s) acc += shift[c * T + s] * k[(b * T + t - s) * D + c];
          ks[(b * T + t) * D + c] = acc;
        }
    auto kv = [&](int64_t b, int64_t t, int64_t h, int64_t d1, int64_t d2) {
      return ks[(b * T + t) * D + h * hd + d1] * v[(b * T + t) * D + h * hd + d2];
    };
    std::vector<double> out(B * T * D);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T; ++t) {
        std::vector<double> o(D, 0.0);
        for (int64_t h = 0; h < H; ++h)
          for (int64_t d2 = 0; d2 < hd; ++d2)
            for (int64_t d1 = 0; d1 < hd; ++d1) {
              double y = Dh[h] * kv(b, t, h, d1, d2);
              for (int64_t s = 0; s <= t; ++s) y += diag[h * T + s] * kv(b, t - s, h, d1, d2);
              o[d2 * H + h] += q[(b * T + t) * D + h * hd + d1] * y;
            }
        const std::vector<double> y = linear(Wo, bo, o.data());
        std::copy(y.begin(), y.end(), &out[(b * T + t) * D]);
      }
    return Tensor::from_vector(out, {B, T, D}, DType::F64);
  }

 private:
  H3Options o_;
  int64_t d_model_, heads_ = 1;
  std::shared_ptr<Linear> q_proj_, k_proj_, v_proj_, output_linear_;
  Tensor shift_B_, shift_C_, shift_D_, log_dt_, inv_A_real_, A_imag_, B_re_, B_im_, C_re_, C_im_, D_;
};

}  // namespace

MixerSpec h3_mixer_spec() {
  using O = H3Options;
  return define_mixer<O>(
      "h3",
      "H3: shift-SSM-filtered keys times values, a diagonal (S4D) SSM over each head's k v outer products, read by "
      "the queries; recurrent decode",
      OptionTable<O>()
          .add("d_state", &O::d_state, "N: shift SSM taps, twice the diagonal SSM's complex modes",
               at_least(int64_t{2}))
          .add("head_dim", &O::head_dim, "hd: each head's kv state is hd × hd", at_least(int64_t{1}))
          .add("dt_min", &O::dt_min, "smallest initial diagonal SSM step", greater_than(0.0))
          .add("dt_max", &O::dt_max, "largest initial diagonal SSM step", greater_than(0.0))
          .add("conv", &O::conv, "long convolution algorithm: auto (direct up to 32 taps, FFT beyond) | fft | direct",
               long_conv_algorithms()),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<H3>(ctx, o, gen);
      },
      {{"head_dim=2", "conv=fft"}, {"d_state=5", "conv=direct"}, {"head_dim=4", "d_state=16", "conv=fft"}});
}

}  // namespace mixlab
