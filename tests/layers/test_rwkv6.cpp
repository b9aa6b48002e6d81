// rwkv6: the chunked and recurrent WKV agree on outputs, final state and every
// gradient (r, k, v, log decay, bonus, initial state) for strong and weak
// decays, T not a multiple of the chunk and several chunk sizes (the habits of
// fla's tests/ops/test_rwkv6.py, docs/mixers.md); the chunked form stays finite
// in F32 under decays that would overflow a naive split; the whole mixer's
// forms agree; prefill in pieces through the decode state equals one forward;
// the official inits; the channel-mix mapping; bad options are refused.
#include <catch2/catch.hpp>
#include <cmath>
#include <tuple>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/mixers/registry.h"
#include "layers/mixers/rwkv6_channel_mix.h"
#include "layers/mixers/wkv6.h"
#include "layers/norms.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

double log_sigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

struct WkvInputs {
  Tensor r, k, v, lw, u, h0;
  std::vector<Tensor> all() const { return {r, k, v, lw, u, h0}; }
};

// randn r, k, v, u, h0; log decays logsigmoid(randn) / divisor.
WkvInputs wkv_inputs(int64_t B, int64_t H, int64_t T, int64_t S, double divisor, uint64_t seed, DType dt = DType::F64) {
  Generator gen(seed);
  WkvInputs in;
  in.r = Tensor::randn({B, H, T, S}, gen, dt);
  in.k = Tensor::randn({B, H, T, S}, gen, dt);
  in.v = Tensor::randn({B, H, T, S}, gen, dt);
  std::vector<double> lw = Tensor::randn({B, H, T, S}, gen, DType::F64).to_vector();
  for (double& e : lw) e = log_sigmoid(e) / divisor;
  in.lw = Tensor::from_vector(lw, {B, H, T, S}, dt);
  in.u = Tensor::randn({H, S}, gen, dt);
  in.h0 = Tensor::randn({B, H, S, S}, gen, dt);
  for (Tensor* t : {&in.r, &in.k, &in.v, &in.lw, &in.u, &in.h0}) t->requires_grad_(true);
  return in;
}

struct WkvOutcome {
  std::vector<double> out, state;
  std::vector<std::vector<double>> grads;  // r, k, v, lw, u, h0
};

// Runs `wkv`, back-propagates random weights on the output *and* the final state.
template <class F>
WkvOutcome run_wkv(const WkvInputs& in, F wkv) {
  for (const Tensor& t : in.all()) t.zero_grad();
  WkvResult res = wkv(in);
  Generator gen(77);
  Tensor wo = Tensor::uniform(res.out.shape(), gen, -1.0, 1.0, res.out.dtype());
  Tensor ws = Tensor::uniform(res.state.shape(), gen, -1.0, 1.0, res.out.dtype());
  add(sum(mul(res.out, wo)), sum(mul(res.state, ws))).backward();
  WkvOutcome o{res.out.to_vector(), res.state.to_vector(), {}};
  for (const Tensor& t : in.all()) {
    REQUIRE(t.grad().defined());
    o.grads.push_back(t.grad().to_vector());
  }
  return o;
}

void check_close(const WkvOutcome& ref, const WkvOutcome& got, double tol) {
  CHECK(testing::rel_err(ref.out, got.out) < tol);
  CHECK(testing::rel_err(ref.state, got.state) < tol);
  const char* names[] = {"r", "k", "v", "log_decay", "u", "h0"};
  for (size_t i = 0; i < ref.grads.size(); ++i) {
    INFO("gradient of " << names[i]);
    CHECK(testing::rel_err(ref.grads[i], got.grads[i]) < tol);
  }
}

std::shared_ptr<SequenceMixer> make_rwkv6(int64_t d_model, const std::vector<std::string>& args) {
  return testing::make_f64_mixer("rwkv6", d_model, args, 11);
}

}  // namespace

TEST_CASE("rwkv6: chunked and recurrent WKV agree on outputs, final state and every gradient", "[rwkv6]") {
  const int64_t B = 1, H = 2, S = 4;
  for (double divisor : {0.1, 1.0, 10.0})
    for (int64_t T : {15, 64, 500}) {
      INFO("log decay = logsigmoid(randn) / " << divisor << ", T = " << T);
      const WkvInputs in = wkv_inputs(B, H, T, S, divisor, 3 + T);
      const WkvOutcome recurrent = run_wkv(in, [](const WkvInputs& i) {
        return wkv6_recurrent(i.r, i.k, i.v, i.lw, i.u, i.h0);
      });
      for (auto [chunk, sub] : {std::pair<int64_t, int64_t>{16, 4}, {64, 16}, {8, 8}, {6, 1}}) {
        if (T == 500 && chunk < 8) continue;  // keep the long case cheap
        INFO("chunk " << chunk << ", sub-chunk " << sub);
        const WkvOutcome chunked = run_wkv(in, [chunk, sub](const WkvInputs& i) {
          return wkv6_chunked(i.r, i.k, i.v, i.lw, i.u, i.h0, chunk, sub);
        });
        check_close(recurrent, chunked, 1e-10);
      }
    }
}

TEST_CASE("rwkv6: chunked WKV without an initial state starts from zeros", "[rwkv6]") {
  const WkvInputs in = wkv_inputs(2, 1, 11, 3, 1.0, 5);
  NoGradGuard no_grad;
  const Tensor zeros = Tensor::zeros({2, 1, 3, 3}, DType::F64);
  const WkvResult a = wkv6_chunked(in.r, in.k, in.v, in.lw, in.u, Tensor(), 4, 2);
  const WkvResult b = wkv6_recurrent(in.r, in.k, in.v, in.lw, in.u, zeros);
  CHECK(testing::rel_err(b.out.to_vector(), a.out.to_vector()) < 1e-12);
  CHECK(testing::rel_err(b.state.to_vector(), a.state.to_vector()) < 1e-12);
}

TEST_CASE("rwkv6: chunked WKV has correct F64 finite-difference gradients", "[rwkv6]") {
  // T 9 with chunk 4 / sub-chunk 2: padding, the hand-over loop, the
  // between-sub-chunk matmuls and the diagonal blocks; lw = −exp(·) keeps it ≤ 0.
  testing::check_gradients({"wkv6_chunked",
                            {{1, 2, 9, 3}, {1, 2, 9, 3}, {1, 2, 9, 3}, {1, 2, 9, 3}, {2, 3}, {1, 2, 3, 3}},
                            [](const std::vector<Tensor>& in) {
                              WkvResult res = wkv6_chunked(in[0], in[1], in[2], neg(exp(in[3])), in[4], in[5], 4, 2);
                              return concat({res.out.reshape({-1}), res.state.reshape({-1})}, 0);
                            }});
}

TEST_CASE("rwkv6: the chunked WKV stays finite and accurate in F32 under extreme decays", "[rwkv6]") {
  // Per-token log decays down to about −1e4 (w_raw up to ~9): a chunk's
  // cumulative decay reaches −1e5, so e^{−W} alone would overflow F32 (and
  // F64); only factors ≤ 1 may be exponentiated. And W_t − W_s taken as a
  // difference of two such cumulative sums loses ~1e-2 absolute in F32 (that
  // version measured 5e-4 relative error here); summed directly it is ~1e-7.
  const int64_t B = 1, H = 2, T = 70, S = 4;
  const WkvInputs ref_in = wkv_inputs(B, H, T, S, 1.0, 9);
  std::vector<double> lw = ref_in.lw.to_vector();
  for (size_t i = 0; i < lw.size(); ++i) lw[i] = i % 3 == 0 ? -std::exp(9.0 * (i % 7) / 6.0) : lw[i] / 0.1;
  WkvInputs ref = ref_in;
  ref.lw = Tensor::from_vector(lw, ref_in.lw.shape(), DType::F64);
  ref.lw.requires_grad_(true);
  WkvInputs f32;
  const std::vector<Tensor> all = ref.all();
  Tensor* dst[] = {&f32.r, &f32.k, &f32.v, &f32.lw, &f32.u, &f32.h0};
  for (size_t i = 0; i < all.size(); ++i) {
    *dst[i] = all[i].detach().to(DType::F32);
    dst[i]->requires_grad_(true);
  }
  const WkvOutcome exact = run_wkv(ref, [](const WkvInputs& i) { return wkv6_recurrent(i.r, i.k, i.v, i.lw, i.u, i.h0); });
  const WkvOutcome fast = run_wkv(f32, [](const WkvInputs& i) { return wkv6_chunked(i.r, i.k, i.v, i.lw, i.u, i.h0, 64, 16); });
  for (double e : fast.out) REQUIRE(std::isfinite(e));
  for (const auto& g : fast.grads)
    for (double e : g) REQUIRE(std::isfinite(e));
  check_close(exact, fast, 1e-5);
}

TEST_CASE("rwkv6: the mixer's fused, chunked and recurrent forms agree on outputs and every gradient", "[rwkv6]") {
  const int64_t B = 2, D = 12;
  for (const char* cm : {"true", "false"})
    for (int64_t T : {15, 33}) {
      INFO("channel_mix " << cm << ", T " << T);
      const std::vector<std::string> base = {std::string("rwkv6.channel_mix=") + cm, "rwkv6.head_size=4",
                                             "rwkv6.mix_lora=3", "rwkv6.decay_lora=5", "rwkv6.ffn_hidden=10"};
      auto with = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        return make_rwkv6(D, args);
      };
      Generator gen(4);
      Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
      Tensor w = Tensor::uniform({B, T, D}, gen, -1.0, 1.0, DType::F64);
      const testing::FormOutcome recurrent = testing::forward_backward(*with({"rwkv6.form=recurrent"}), x, w);
      for (auto [chunk, sub, form] : {std::tuple<const char*, const char*, const char*>{"8", "4", "chunked"},
                                      {"16", "16", "chunked"}, {"6", "2", "chunked"}, {"8", "1", "fused"},
                                      {"5", "1", "fused"}, {"64", "1", "fused"}}) {
        INFO("chunk " << chunk << ", sub-chunk " << sub << ", form " << form);
        auto m = with({std::string("rwkv6.chunk_size=") + chunk, std::string("rwkv6.sub_chunk=") + sub,
                       std::string("rwkv6.form=") + form});
        testing::check_same_outcome(recurrent, testing::forward_backward(*m, x, w), 1e-10, 1e-10);
        NoGradGuard no_grad;
        CHECK(testing::rel_err(m->reference_forward(x).to_vector(), m->forward(x).to_vector()) < 1e-11);
      }
    }
}

TEST_CASE("rwkv6: prefill in pieces through the state equals one full forward, then decoding continues", "[rwkv6]") {
  const int64_t B = 2, D = 8, T = 37, extra = 3;
  for (auto [cm, form] : {std::pair<const char*, const char*>{"true", "chunked"}, {"false", "chunked"}, {"true", "fused"}}) {
    INFO("channel_mix " << cm << ", form " << form);
    auto m = make_rwkv6(D, {std::string("rwkv6.channel_mix=") + cm, "rwkv6.head_size=4", "rwkv6.mix_lora=2",
                            "rwkv6.decay_lora=3", "rwkv6.chunk_size=8", "rwkv6.sub_chunk=4",
                            std::string("rwkv6.form=") + form});
    NoGradGuard no_grad;
    Generator gen(6);
    Tensor x = Tensor::randn({B, T + extra, D}, gen, DType::F64);
    Tensor full = m->forward(x);
    auto state = m->init_state(B);
    std::vector<Tensor> pieces;
    for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 5}, {5, 6}, {6, 23}, {23, T}}) {  // across chunk borders
      pieces.push_back(m->prefill(slice(x, 1, s, e), *state));
      CHECK(state->position == e);
    }
    for (int64_t t = T; t < T + extra; ++t)
      pieces.push_back(m->step(slice(x, 1, t, t + 1).reshape({B, D}), *state).reshape({B, 1, D}));
    CHECK(testing::rel_err(full.to_vector(), concat(pieces, 1).to_vector()) < 1e-12);
  }
}

TEST_CASE("rwkv6: state bytes are the shift states plus H·S·S", "[rwkv6]") {
  auto with_cm = make_rwkv6(16, {"rwkv6.head_size=4"});
  auto without = make_rwkv6(16, {"rwkv6.head_size=8", "rwkv6.channel_mix=false"});
  CHECK(with_cm->state_bytes(1) == (2 * 16 + 4 * 4 * 4) * 4);
  CHECK(without->state_bytes(1) == (16 + 2 * 8 * 8) * 4);
  CHECK(with_cm->state_bytes(1 << 20) == with_cm->state_bytes(1));
  auto defaults = make_rwkv6(64, {});  // head size min(64, d_model): one head of 64
  CHECK(defaults->state_bytes(1) == (2 * 64 + 64 * 64) * 4);
}

TEST_CASE("rwkv6: parameters start at the official RWKV-6 inits", "[rwkv6]") {
  const int64_t C = 16;
  MixerContext ctx;
  ctx.d_model = C;
  ctx.layer_index = 1;
  ctx.n_layers = 3;
  Generator gen(2);
  auto m = find_mixer("rwkv6").make(parse_options(mixer_options(), {"rwkv6.head_size=4"}), ctx, gen);
  auto values = [&](const std::string& name) { return m->parameter(name).to_vector(); };
  const double r0 = 0.5, r1 = 1.0 - 1.0 / 3.0;
  const std::vector<double> decay = values("time_decay"), bonus = values("time_faaaa"), mu_v = values("time_maa_v"),
                            mu_r = values("time_maa_r"), mu_x = values("time_maa_x"), cm_k = values("ffn.time_maa_k");
  for (int64_t n = 0; n < C; ++n) {
    const double f = n / double(C - 1), ramp = std::pow(n / double(C), r1);
    CHECK(decay[n] == Approx(-6.0 + 5.0 * std::pow(f, 0.7 + 1.3 * r0)).epsilon(1e-6));
    CHECK(bonus[n] == Approx(r0 * (1.0 - f) + ((n + 1) % 3 - 1) * 0.1).margin(1e-6));
    CHECK(mu_x[n] == Approx(1.0 - ramp).margin(1e-6));
    CHECK(mu_v[n] == Approx(1.0 - (ramp + 0.3 * r0)).margin(1e-6));
    CHECK(mu_r[n] == Approx(1.0 - std::pow(n / double(C), 0.5 * r1)).margin(1e-6));
    CHECK(cm_k[n] == Approx(1.0 - ramp).margin(1e-6));
  }
  CHECK(decay.front() == Approx(-6.0));
  CHECK(decay.back() == Approx(-1.0));
  for (double e : values("ln_x.weight")) CHECK(e == Approx(std::pow(2.0 / 3.0, 0.7)));
  for (const char* zero : {"time_maa_w1", "time_decay_w1", "ln_x.bias"})
    for (double e : values(zero)) CHECK(e == 0.0);
  for (const char* lora : {"time_maa_w2", "time_decay_w2"}) {
    double biggest = 0;
    for (double e : values(lora)) biggest = std::max(biggest, std::abs(e));
    CHECK(biggest <= 0.01);
    CHECK(biggest > 0.005);
  }
  CHECK(m->parameter("time_maa_w1").shape() == Shape{C, 5 * 32});
  CHECK(m->parameter("time_maa_w2").shape() == Shape{5, 32, C});
  CHECK(m->parameter("time_decay_w1").shape() == Shape{C, 64});
  CHECK(m->parameter("time_faaaa").shape() == Shape{4, 4});
  CHECK(m->parameter("ffn.key.weight").shape() == Shape{32, C});  // max(32, int(3.5·16) down to 32·k)
}

TEST_CASE("rwkv6: with the channel-mix the output is tm + cmix(LN(x + tm))", "[rwkv6]") {
  // Built from one seed, the channel_mix = false mixer holds the same time-mix
  // parameters (they are drawn first), so its output is tm.
  const int64_t B = 2, T = 9, D = 8;
  const std::vector<std::string> base = {"rwkv6.head_size=4", "rwkv6.mix_lora=2", "rwkv6.decay_lora=2",
                                         "rwkv6.ffn_hidden=12"};
  auto build = [&](bool cm) {
    MixerContext ctx;
    ctx.d_model = D;
    Generator gen(8);
    std::vector<std::string> args = base;
    args.push_back(cm ? "rwkv6.channel_mix=true" : "rwkv6.channel_mix=false");
    auto m = find_mixer("rwkv6").make(parse_options(mixer_options(), args), ctx, gen);
    m->to(DType::F64);
    return m;
  };
  auto full = build(true), time_only = build(false);
  Generator pgen(3);
  for (const auto& [name, p] : full->named_parameters()) {  // perturb every parameter, same values in both
    uniform_(p, -0.5, 0.5, pgen);
    if (name.rfind("ffn.", 0) != 0 && name.rfind("ln2.", 0) != 0) time_only->parameter(name).copy_(p);
  }
  Generator cgen(1);
  Rwkv6ChannelMix cmix(D, 12, 0, 1, 0.02, 0.02, cgen);
  LayerNorm ln(D, 1e-5);
  cmix.to(DType::F64);
  ln.to(DType::F64);
  for (const auto& [name, p] : cmix.named_parameters()) p.copy_(full->parameter("ffn." + name));
  ln.weight.copy_(full->parameter("ln2.weight"));
  ln.bias.copy_(full->parameter("ln2.bias"));
  NoGradGuard no_grad;
  Generator xgen(4);
  Tensor x = Tensor::randn({B, T, D}, xgen, DType::F64);
  Tensor tm = time_only->forward(x);
  Tensor expected = add(tm, cmix.forward(ln.forward(add(x, tm)), Tensor()));
  CHECK(testing::rel_err(expected.to_vector(), full->forward(x).to_vector()) < 1e-13);
  CHECK(testing::rel_err(tm.to_vector(), full->forward(x).to_vector()) > 1e-3);  // the channel-mix does contribute
}

TEST_CASE("rwkv6: bad options are refused naming the key", "[rwkv6]") {
  MixerContext ctx;
  ctx.d_model = 12;
  Generator gen(1);
  auto make = [&](const std::string& arg) { return find_mixer("rwkv6").make(parse_options(mixer_options(), {arg}), ctx, gen); };
  REQUIRE_THROWS_WITH(make("rwkv6.head_size=5"), Catch::Contains("rwkv6.head_size") && Catch::Contains("12"));
  REQUIRE_THROWS_WITH(make("rwkv6.head_size=-1"), Catch::Contains("rwkv6.head_size"));
  REQUIRE_THROWS_WITH(make("rwkv6.form=scan"), Catch::Contains("rwkv6.form") && Catch::Contains("recurrent"));
  REQUIRE_THROWS_WITH(make("rwkv6.chunk_size=20"), Catch::Contains("rwkv6.chunk_size"));  // not a multiple of 8
  REQUIRE_THROWS_WITH(make("rwkv6.sub_chunk=0"), Catch::Contains("rwkv6.sub_chunk"));
  REQUIRE_THROWS_WITH(make("rwkv6.mix_lora=0"), Catch::Contains("rwkv6.mix_lora"));
  REQUIRE_THROWS_WITH(make("rwkv6.decay_lora=0"), Catch::Contains("rwkv6.decay_lora"));
  REQUIRE_THROWS_WITH(make("rwkv6.ffn_hidden=-2"), Catch::Contains("rwkv6.ffn_hidden"));
  REQUIRE_THROWS_WITH(make("rwkv6.norm_eps=0"), Catch::Contains("rwkv6.norm_eps"));
  REQUIRE_NOTHROW(make("rwkv6.head_size=0"));  // min(64, 12) = 12: one head
  REQUIRE_NOTHROW(make("rwkv6.head_size=3"));
}
