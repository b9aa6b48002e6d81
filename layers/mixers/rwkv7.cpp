// `rwkv7`: RWKV-7 "Goose" (Peng et al. 2025, "RWKV-7 Goose with Expressive
// Dynamic State Evolution"), the time-mix `RWKV_Tmix_x070` of BlinkDL's
// RWKV-LM (`RWKV-v7/train_temp/src/model.py`; the RNN form in
// `RWKV-v7/rwkv_v7_demo.py`). Written from the equations, no code copied.
//
// C = d_model channels in H = C/N heads of head size N (rwkv7.head_size).
//   xx = shift(x) − x, shift(x)_t = x_{t−1} (0 at t = 0; the decode state)
//   token shift, static lerp:  x_* = x + xx ⊙ μ_*   for * ∈ {r, w, k, v, a, g}
//     (RWKV-7 dropped RWKV-6's data-dependent ddlerp: the μ are plain vectors)
//   r = W_r x_r, k = W_k x_k, v = W_v x_v                     (no biases)
//   decay   w_raw = w0 + tanh(x_w W1) W2;  log d = −e^{−½}·sigmoid(w_raw)
//           (d = exp(log d) ∈ (e^{−e^{−½}}, 1) = (0.545, 1); see below for the forms)
//   ICLR    a = sigmoid(a0 + (x_a A1) A2)                     (vector-valued, per channel)
//   gate    g = sigmoid(x_g G1) G2                            (no activation after G2)
//   removal key  κ̂ = normalize_head(k ⊙ k_k)                  (L2 per head, eps 1e-12)
//   replacement key  k̃ = k ⊙ (1 + (a − 1) ⊙ k_a)
//   WKV per head, the generalised delta rule (S: N key rows × N value columns):
//     S_t = (diag(d_t) − (a_t ⊙ κ̂_t) κ̂_tᵀ) S_{t−1} + k̃_t v_tᵀ,   o_t = S_tᵀ r_t
//   (the paper's S_t = S_{t−1}(diag(w_t) − κ̂_tᵀ(a_t ⊙ κ̂_t)) + v_tᵀ k_t is the
//   same recurrence in the value-rows orientation; no 1/√N scale.)
//   y = W_o ((GroupNorm_H(o) + (Σ_i r_i k̃_i ρ_i) v) ⊙ g)    per head, ρ = r_k (H × N);
//   GroupNorm eps rwkv7.norm_eps (official 64e-5), affine per channel (ln_x).
//
// The decay, two writings of one function: the training code passes
// w = −softplus(−w_raw) − ½ to its kernel, which forms exp(−exp(w)); since
// exp(−softplus(−z)) = sigmoid(z) this is exp(−e^{−½}·sigmoid(w_raw)), the
// form of the RNN demos (0.606531 = e^{−½}). Here the log decay
// −e^{−½}·sigmoid(w_raw) is formed directly and passed on in log space.
//
// Value residual: the official layers l > 0 mix their v towards the first
// layer's v (v ← v + (v_first − v) ⊙ sigmoid(v0 + (x_v V1) V2)). A mixlab
// mixer sees only norm(x) of its own block, with no second stream between
// layers, so every rwkv7 layer computes v as the official layer 0 does (which
// has no value residual) and has no v0/v1/v2. docs/mixers.md, rwkv7.
//
// No channel-mix inside the mixer (unlike rwkv6 here): pair with model.ffn
// (the official CMix is a token-shifted squared-ReLU MLP, 4C wide).
//
// Inits (official, current model.py): with r0 = layer/(L−1) (0 when L = 1),
// r1 = 1 − layer/L, ddd_i = i/C, lin_n = n/(C−1) − ½, zig_n = z|z| for
// z = ((n mod N) − (N−1)/2)/((N−1)/2) (0 when N = 1):
//   μ_r, μ_g = 1 − ddd^(0.2 r1);  μ_w, μ_a = 1 − ddd^(0.9 r1);  μ_k, μ_v = 1 − ddd^(0.7 r1)
//   w0 = −6 + 6 (n/(C−1))^(1 + r0^0.3) + ½ + 2.5 zig;   a0 = −0.19 + 0.3 zig + 0.4 lin
//   k_k = 0.71 − 0.1 lin;  k_a = 1.02;  r_k = −0.04;  W1, A1, G1 = 0
//   W_r, W_v ~ U(±½/√C), W_k ~ U(±0.05/√C); ln_x weight 1, bias 0.
// Departures: W2, A2, G2 ~ N(0, 0.1/√C) instead of orthogonal with gain 0.1
// (row norms ≈ 0.1 alike; mixlab has no orthogonal init); W_o ~ N(0,
// ctx.out_std) instead of zeros (mixlab's convention). LoRA ranks: 0 = the
// official suggestion max(32, round(k·√C/32)·32), k = 2.5 (decay, a), 5 (gate).
//
// Forms (rwkv7.form): fused (default) — the delta-rule scan of
// autograd/ops/delta_scan.h with a = −(a ⊙ κ̂), b = κ̂, the per-channel log
// decay and scale 1, hand-written backward, rwkv7.chunk_size tokens between
// the states it keeps for the backward; recurrent — token by token from ops
// (the same arithmetic as step()), kept as the cross-check. Decode keeps
// x_{t−1} (C) and the WKV state (H·N·N); prefill runs the configured form
// from it.
#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/mixers/reference_math.h"
#include "layers/mixers/registry.h"

namespace mixlab {

namespace {

enum class Rwkv7Form { Fused, Recurrent };

struct Rwkv7Options {
  int64_t head_size = 0, decay_lora = 0, a_lora = 0, gate_lora = 0, chunk_size = 64;
  double norm_eps = 64e-5;
  Rwkv7Form form = Rwkv7Form::Fused;
};

constexpr int kShifts = 6;  // lerp targets r, w, k, v, a, g
constexpr double kNormalizeEps = 1e-12;  // F.normalize's default
const double kDecayScale = std::exp(-0.5);  // 0.606531

// The official LoRA-rank suggestion max(32, round(k·√C / 32)·32).
int64_t suggested_rank(double k, int64_t C) {
  return std::max<int64_t>(32, static_cast<int64_t>(std::llround(k * std::sqrt(static_cast<double>(C)) / 32.0)) * 32);
}

struct Rwkv7State : MixerState {
  Tensor prev;  // (B, 1, C): the last token's input
  Tensor wkv;   // (B, H, N, N), key rows × value columns
  std::vector<Tensor> tensors() const override { return {prev, wkv}; }
};

class Rwkv7 : public SequenceMixer {
 public:
  Rwkv7(const MixerContext& ctx, const Rwkv7Options& o, Generator& gen)
      : d_model_(ctx.d_model), chunk_(o.chunk_size), eps_(o.norm_eps), form_(o.form) {
    const std::string& section = ctx.section;
    const int64_t C = d_model_;
    N_ = o.head_size > 0 ? o.head_size : std::min<int64_t>(64, C);
    MIXLAB_CHECK(C % N_ == 0, section, ".head_size: d_model ", C, " is not divisible by head size ", N_,
                 o.head_size == 0 ? " (0 = min(64, d_model))" : "");
    H_ = C / N_;
    const int64_t dw = o.decay_lora > 0 ? o.decay_lora : suggested_rank(2.5, C);
    const int64_t da = o.a_lora > 0 ? o.a_lora : suggested_rank(2.5, C);
    const int64_t dg = o.gate_lora > 0 ? o.gate_lora : suggested_rank(5.0, C);

    const double layer = ctx.layer_index, L = ctx.n_layers;
    const double r0 = ctx.n_layers > 1 ? layer / (L - 1) : 0.0;  // ratio_0_to_1
    const double r1 = 1.0 - layer / L;                          // ratio_1_to_almost0
    std::vector<double> lin(C), zig(C), w0(C), a0(C), kk(C);
    const double half = (N_ - 1) / 2.0;
    for (int64_t n = 0; n < C; ++n) {
      const double f = C > 1 ? static_cast<double>(n) / (C - 1) : 0.0;
      lin[n] = f - 0.5;
      const double z = N_ > 1 ? (static_cast<double>(n % N_) - half) / half : 0.0;
      zig[n] = z * std::abs(z);
      w0[n] = -6.0 + 6.0 * std::pow(f, 1.0 + std::pow(r0, 0.3)) + 0.5 + 2.5 * zig[n];
      a0[n] = -0.19 + 0.3 * zig[n] + 0.4 * lin[n];
      kk[n] = 0.71 - 0.1 * lin[n];
    }
    auto ramp = [&](double power) {
      std::vector<double> m(C);
      for (int64_t i = 0; i < C; ++i) m[i] = 1.0 - std::pow(static_cast<double>(i) / C, power * r1);
      return Tensor::from_vector(m, {C});
    };
    const double powers[kShifts] = {0.2, 0.9, 0.7, 0.7, 0.9, 0.2};
    const char* names[kShifts] = {"x_r", "x_w", "x_k", "x_v", "x_a", "x_g"};
    for (int j = 0; j < kShifts; ++j) mu_[j] = register_parameter(names[j], ramp(powers[j]));
    const double lora_std = 0.1 / std::sqrt(static_cast<double>(C));
    auto lora_up = [&](int64_t rank) {
      Tensor t = Tensor::zeros({rank, C});
      normal_(t, lora_std, gen);
      return t;
    };
    w0_ = register_parameter("w0", Tensor::from_vector(w0, {C}));
    w1_ = register_parameter("w1", Tensor::zeros({C, dw}));
    w2_ = register_parameter("w2", lora_up(dw));
    a0_ = register_parameter("a0", Tensor::from_vector(a0, {C}));
    a1_ = register_parameter("a1", Tensor::zeros({C, da}));
    a2_ = register_parameter("a2", lora_up(da));
    g1_ = register_parameter("g1", Tensor::zeros({C, dg}));
    g2_ = register_parameter("g2", lora_up(dg));
    k_k_ = register_parameter("k_k", Tensor::from_vector(kk, {C}));
    k_a_ = register_parameter("k_a", Tensor::full({C}, 1.02));
    r_k_ = register_parameter("r_k", Tensor::full({H_, N_}, -0.04));
    const double s = 1.0 / std::sqrt(static_cast<double>(C));
    receptance_ = register_module("receptance", std::make_shared<Linear>(C, C, gen, false));
    key_ = register_module("key", std::make_shared<Linear>(C, C, gen, false));
    value_ = register_module("value", std::make_shared<Linear>(C, C, gen, false));
    output_ = register_module("output", std::make_shared<Linear>(C, C, gen, false, ctx.out_std));
    uniform_(receptance_->weight, -0.5 * s, 0.5 * s, gen);
    uniform_(key_->weight, -0.05 * s, 0.05 * s, gen);
    uniform_(value_->weight, -0.5 * s, 0.5 * s, gen);
    auto ln = register_module("ln_x", std::make_shared<Module>());
    ln_w_ = ln->register_parameter("weight", Tensor::ones({C}));
    ln_b_ = ln->register_parameter("bias", Tensor::zeros({C}));
  }

  std::string name() const override { return "rwkv7"; }
  MixerTraits traits() const override { return {.causal = true, .has_decode = true}; }

  // x (B,T,C) -> (B,T,C)
  Tensor forward(const Tensor& x) override { return run(x, nullptr, form_); }

  std::unique_ptr<MixerState> init_state(int64_t batch) const override {
    auto s = std::make_unique<Rwkv7State>();
    const DType dt = output_->weight.dtype();
    const Device dev = output_->weight.device();
    s->prev = Tensor::zeros({batch, 1, d_model_}, dt, dev);
    s->wkv = Tensor::zeros({batch, H_, N_, N_}, dt, dev);
    return s;
  }

  // x_t (B,C) -> (B,C): one step of the recurrence.
  Tensor step(const Tensor& x_t, MixerState& state) override {
    const int64_t B = x_t.size(0);
    Tensor y = run(x_t.reshape({B, 1, d_model_}), &dynamic_cast<Rwkv7State&>(state), Rwkv7Form::Recurrent);
    state.position++;
    return y.reshape({B, d_model_});
  }

  // x (B,T,C) -> (B,T,C) through the configured form, continuing from `state`.
  Tensor prefill(const Tensor& x, MixerState& state) override {
    MIXLAB_CHECK(x.ndim() == 3 && x.size(2) == d_model_, "rwkv7.prefill: x must be (B, T, ", d_model_, "), got ",
                 x.describe());
    Tensor y = run(x, &dynamic_cast<Rwkv7State&>(state), form_);
    state.position += x.size(1);
    return y;
  }

  // The token-shift vector and the WKV state, constant in the context.
  int64_t state_bytes(int64_t) const override { return (d_model_ + H_ * N_ * N_) * 4; }

  Tensor reference_forward(const Tensor& x) const override;

 private:
  // (B,T,C) -> (B,H,T,N)
  Tensor heads(const Tensor& y, int64_t B, int64_t T) const { return permute(y.reshape({B, T, H_, N_}), {0, 2, 1, 3}); }

  // Token by token: S ← d ⊙ S + α (βᵀ S) + k vᵀ with α = −(a ⊙ κ̂), β = κ̂;
  // o_t = S_tᵀ r_t. All (B,H,T,N); S (B,H,N,N) advanced in place.
  Tensor recurrent(const Tensor& r, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& alpha,
                   const Tensor& beta, Tensor& S) const {
    const int64_t B = r.size(0), T = r.size(2);
    std::vector<Tensor> outs;
    for (int64_t t = 0; t < T; ++t) {
      auto at = [t](const Tensor& e) { return slice(e, 2, t, t + 1); };
      Tensor decay = exp(at(log_decay)).reshape({B, H_, N_, 1});
      Tensor removed = matmul(at(alpha), matmul(at(beta), S), true, false);  // α (βᵀ S)
      S = add(add(mul(S, decay), removed), matmul(at(k), at(v), true, false));
      outs.push_back(matmul(at(r), S));
    }
    return concat(outs, 2);
  }

  // The mixer on x (B,T,C), from `state` (advanced past x) or from zeros.
  Tensor run(const Tensor& x, Rwkv7State* state, Rwkv7Form form) const {
    const int64_t B = x.size(0), T = x.size(1), C = d_model_;
    Tensor prev = state ? state->prev : Tensor::zeros({B, 1, C}, x.dtype(), x.device());
    const Tensor shifted = T > 1 ? concat({prev, slice(x, 1, 0, T - 1)}, 1) : prev;
    const Tensor xx = sub(shifted, x);
    Tensor mixed[kShifts];
    for (int j = 0; j < kShifts; ++j) mixed[j] = add(x, mul(xx, mu_[j]));
    const Tensor &xr = mixed[0], &xw = mixed[1], &xk = mixed[2], &xv = mixed[3], &xa = mixed[4], &xg = mixed[5];
    Tensor r = receptance_->forward(xr);
    Tensor k = key_->forward(xk);
    Tensor v = value_->forward(xv);
    Tensor w_raw = add(w0_, matmul(tanh(matmul(xw, w1_)), w2_));
    Tensor log_decay = mul(sigmoid(w_raw), -kDecayScale);
    Tensor a = sigmoid(add(a0_, matmul(matmul(xa, a1_), a2_)));
    Tensor g = matmul(sigmoid(matmul(xg, g1_)), g2_);
    // κ̂ = κ/‖κ‖ per head; √(‖κ‖² + eps²) equals F.normalize's max(‖κ‖, eps)
    // except for heads with ‖κ‖ below 1e-12.
    Tensor kappa = heads(mul(k, k_k_), B, T);
    Tensor kappa_hat = mul(kappa, rsqrt(add(sum(square(kappa), 3, true), kNormalizeEps * kNormalizeEps)));
    Tensor k_new = mul(k, add(mul(add(a, -1.0), k_a_), 1.0));  // k ⊙ (1 + (a − 1) ⊙ k_a)
    Tensor rh = heads(r, B, T), kh = heads(k_new, B, T), vh = heads(v, B, T);
    Tensor alpha = neg(mul(heads(a, B, T), kappa_hat));
    Tensor o;  // (B,H,T,N)
    if (form == Rwkv7Form::Fused) {
      const Tensor S0 = state ? state->wkv : Tensor();
      o = delta_scan(rh, kh, vh, heads(log_decay, B, T), alpha, kappa_hat, S0, {.chunk = chunk_, .scale = 1.0},
                     state ? &state->wkv : nullptr);
    } else {
      Tensor S = state ? state->wkv : Tensor::zeros({B, H_, N_, N_}, x.dtype(), x.device());
      o = recurrent(rh, kh, vh, heads(log_decay, B, T), alpha, kappa_hat, S);
      if (state) state->wkv = S;
    }
    if (state) state->prev = slice(x, 1, T - 1, T);
    // GroupNorm per head, affine per channel; then the r·k̃·ρ bonus times v.
    Tensor normed = layer_norm(o, Tensor(), Tensor(), eps_);
    Tensor bonus = mul(sum(mul(mul(rh, kh), r_k_.reshape({H_, 1, N_})), 3, true), vh);
    Tensor merged = permute(normed, {0, 2, 1, 3}).reshape({B, T, C});
    merged = add(add(mul(merged, ln_w_), ln_b_), permute(bonus, {0, 2, 1, 3}).reshape({B, T, C}));
    return output_->forward(mul(merged, g));
  }

  int64_t d_model_, chunk_;
  double eps_;
  Rwkv7Form form_;
  int64_t N_ = 0, H_ = 0;
  Tensor mu_[kShifts], w0_, w1_, w2_, a0_, a1_, a2_, g1_, g2_, k_k_, k_a_, r_k_, ln_w_, ln_b_;
  std::shared_ptr<Linear> receptance_, key_, value_, output_;
};

// Plain F64 loops in the official RNN orientation (state[i][j]: value row i,
// key column j), token by token: shift, lerps, projections, the decay
// exp(−e^{−½}·sigmoid(w_raw)) as a number, F.normalize with max(‖κ‖, 1e-12),
// sa_i = Σ_j S[i][j]·(−κ̂_j), S[i][j] ← S[i][j]·d_j + sa_i·κ̂_j·a_j + v_i·k̃_j,
// o_i = Σ_j S[i][j]·r_j, GroupNorm, bonus, gate and W_o.
Tensor Rwkv7::reference_forward(const Tensor& x) const {
  using namespace reference;
  const int64_t B = x.size(0), T = x.size(1), C = d_model_, H = H_, N = N_;
  const std::vector<double> xs = x.to_vector(), w0 = w0_.to_vector(), a0 = a0_.to_vector(), kk = k_k_.to_vector(),
                            ka = k_a_.to_vector(), rk = r_k_.to_vector(), lw = ln_w_.to_vector(), lb = ln_b_.to_vector();
  const Matrix W1 = host(w1_), W2 = host(w2_), A1 = host(a1_), A2 = host(a2_), G1 = host(g1_), G2 = host(g2_);
  std::vector<std::vector<double>> mu(kShifts);
  for (int j = 0; j < kShifts; ++j) mu[j] = mu_[j].to_vector();
  const Matrix Wr = host(receptance_->weight), Wk = host(key_->weight), Wv = host(value_->weight),
               Wo = host(output_->weight);
  // y = x M for M (C × R) stored row-major, then M2 (R × C).
  auto right = [](const std::vector<double>& in, const Matrix& M) {
    std::vector<double> y(M.cols, 0.0);
    for (int64_t i = 0; i < M.rows; ++i)
      for (int64_t j = 0; j < M.cols; ++j) y[j] += in[i] * M(i, j);
    return y;
  };
  auto sigm = [](double e) { return 1.0 / (1.0 + std::exp(-e)); };
  const std::vector<double> none;
  std::vector<double> out(B * T * C);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> prev(C, 0.0), state(H * N * N, 0.0);
    for (int64_t t = 0; t < T; ++t) {
      const double* xt = &xs[(b * T + t) * C];
      std::vector<std::vector<double>> xm(kShifts, std::vector<double>(C));  // x_r, x_w, x_k, x_v, x_a, x_g
      for (int j = 0; j < kShifts; ++j)
        for (int64_t c = 0; c < C; ++c) xm[j][c] = xt[c] + (prev[c] - xt[c]) * mu[j][c];
      const std::vector<double> r = linear(Wr, none, xm[0].data()), v = linear(Wv, none, xm[3].data());
      std::vector<double> k = linear(Wk, none, xm[2].data());
      std::vector<double> hw = right(xm[1], W1);
      for (double& e : hw) e = std::tanh(e);
      const std::vector<double> wl = right(hw, W2), al = right(right(xm[4], A1), A2);
      std::vector<double> hg = right(xm[5], G1);
      for (double& e : hg) e = sigm(e);
      const std::vector<double> g = right(hg, G2);
      std::vector<double> decay(C), a(C), kap(C);
      for (int64_t c = 0; c < C; ++c) {
        decay[c] = std::exp(-std::exp(-0.5) * sigm(w0[c] + wl[c]));
        a[c] = sigm(a0[c] + al[c]);
        kap[c] = k[c] * kk[c];
        k[c] = k[c] * (1.0 + (a[c] - 1.0) * ka[c]);
      }
      std::vector<double> y(C);
      for (int64_t h = 0; h < H; ++h) {
        double norm = 0;
        for (int64_t j = 0; j < N; ++j) norm += kap[h * N + j] * kap[h * N + j];
        norm = std::max(std::sqrt(norm), kNormalizeEps);
        for (int64_t j = 0; j < N; ++j) kap[h * N + j] /= norm;
        double* S = &state[h * N * N];
        for (int64_t i = 0; i < N; ++i) {
          double sa = 0;
          for (int64_t j = 0; j < N; ++j) sa += S[i * N + j] * -kap[h * N + j];
          for (int64_t j = 0; j < N; ++j)
            S[i * N + j] = S[i * N + j] * decay[h * N + j] + sa * kap[h * N + j] * a[h * N + j] +
                           v[h * N + i] * k[h * N + j];
        }
        double mean = 0, var = 0, bonus = 0;
        for (int64_t i = 0; i < N; ++i) {
          double acc = 0;
          for (int64_t j = 0; j < N; ++j) acc += S[i * N + j] * r[h * N + j];
          y[h * N + i] = acc;
          mean += acc / N;
          bonus += r[h * N + i] * k[h * N + i] * rk[h * N + i];
        }
        for (int64_t i = 0; i < N; ++i) var += (y[h * N + i] - mean) * (y[h * N + i] - mean) / N;
        for (int64_t i = 0; i < N; ++i) {
          const int64_t c = h * N + i;
          y[c] = ((y[c] - mean) / std::sqrt(var + eps_) * lw[c] + lb[c] + bonus * v[c]) * g[c];
        }
      }
      const std::vector<double> o = linear(Wo, none, y.data());
      std::copy(o.begin(), o.end(), out.begin() + (b * T + t) * C);
      std::copy(xt, xt + C, prev.begin());
    }
  }
  return Tensor::from_vector(out, {B, T, C}, DType::F64);
}

}  // namespace

MixerSpec rwkv7_mixer_spec() {
  using O = Rwkv7Options;
  return define_mixer<O>(
      "rwkv7",
      "RWKV-7 Goose time-mix (official RWKV-LM x070): token shift, generalised delta rule with vector ICLR a, "
      "LoRA decay/a/gate, GroupNorm + r.k bonus; O(1) decode state (no value residual: see docs/mixers.md)",
      OptionTable<O>()
          .add("head_size", &O::head_size, "head size N (state N x N per head); 0 = min(64, d_model) (official 64)",
               at_least(int64_t{0}))
          .add("decay_lora", &O::decay_lora, "rank of the decay LoRA; 0 = max(32, round(2.5 sqrt(C)/32)*32) (official)",
               at_least(int64_t{0}))
          .add("a_lora", &O::a_lora, "rank of the in-context-learning-rate LoRA; 0 = max(32, round(2.5 sqrt(C)/32)*32)",
               at_least(int64_t{0}))
          .add("gate_lora", &O::gate_lora, "rank of the output-gate LoRA; 0 = max(32, round(5 sqrt(C)/32)*32)",
               at_least(int64_t{0}))
          .add("norm_eps", &O::norm_eps, "GroupNorm eps (official 64e-5)", greater_than(0.0))
          .add("form", &O::form,
               "fused (the delta-rule scan, hand-written backward) | recurrent (token by token from ops); equal up "
               "to rounding",
               named<Rwkv7Form>({{"fused", Rwkv7Form::Fused}, {"recurrent", Rwkv7Form::Recurrent}}))
          .add("chunk_size", &O::chunk_size, "tokens per chunk of the fused scan", at_least(int64_t{1})),
      [](const O& o, const MixerContext& ctx, Generator& gen) -> std::shared_ptr<SequenceMixer> {
        return std::make_shared<Rwkv7>(ctx, o, gen);
      },
      {{"head_size=2", "decay_lora=2", "a_lora=3", "gate_lora=4", "form=recurrent"},
       {"head_size=4", "decay_lora=3", "a_lora=2", "gate_lora=2", "norm_eps=0.1"},
       {"decay_lora=1", "a_lora=1", "gate_lora=1", "chunk_size=3"}});
}

}  // namespace mixlab
