// rwkv7: the mixer equals its plain-loop reference (official RNN orientation)
// with several heads and long sequences; prefill in pieces through the
// decode state equals one forward; the in-context learning rate really
// removes what the state holds along κ̂ (the delta rule); the true state
// bytes; the official inits; refused options.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

std::shared_ptr<SequenceMixer> make_rwkv7(int64_t d_model, const std::vector<std::string>& args) {
  return testing::make_f64_mixer("rwkv7", d_model, args, 13);
}

}  // namespace

TEST_CASE("rwkv7: forward equals the F64 reference with several heads over long sequences", "[rwkv7]") {
  for (auto [D, head] : {std::pair<int64_t, const char*>{12, "4"}, {16, "8"}, {8, "0"}}) {
    INFO("d_model " << D << ", head_size " << head);
    auto m = make_rwkv7(D, {std::string("rwkv7.head_size=") + head, "rwkv7.decay_lora=3", "rwkv7.a_lora=4",
                            "rwkv7.gate_lora=5"});
    NoGradGuard no_grad;
    Generator gen(3);
    Tensor x = Tensor::randn({2, 40, D}, gen, DType::F64);
    CHECK(testing::rel_err(m->reference_forward(x).to_vector(), m->forward(x).to_vector()) < 1e-12);
  }
}

TEST_CASE("rwkv7: the fused and recurrent forms agree on outputs and every gradient", "[rwkv7]") {
  const int64_t B = 2;
  for (auto [D, head] : {std::pair<int64_t, const char*>{12, "4"}, {8, "8"}})
    for (int64_t T : {15, 33}) {
      INFO("d_model " << D << ", head_size " << head << ", T " << T);
      const std::vector<std::string> base = {std::string("rwkv7.head_size=") + head, "rwkv7.decay_lora=3",
                                             "rwkv7.a_lora=2", "rwkv7.gate_lora=4"};
      auto with = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        return make_rwkv7(D, args);
      };
      Generator gen(4 + T);
      Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
      Tensor w = Tensor::uniform({B, T, D}, gen, -1.0, 1.0, DType::F64);
      const testing::FormOutcome recurrent = testing::forward_backward(*with({"rwkv7.form=recurrent"}), x, w);
      for (const char* chunk : {"1", "5", "16", "64"}) {
        INFO("chunk " << chunk);
        auto m = with({"rwkv7.form=fused", std::string("rwkv7.chunk_size=") + chunk});
        testing::check_same_outcome(recurrent, testing::forward_backward(*m, x, w), 1e-10, 1e-10);
      }
    }
}

TEST_CASE("rwkv7: prefill in pieces through the state equals one forward, then decoding continues", "[rwkv7]") {
  const int64_t B = 2, D = 8, T = 23, extra = 3;
  auto m = make_rwkv7(D, {"rwkv7.head_size=4", "rwkv7.decay_lora=2", "rwkv7.a_lora=2", "rwkv7.gate_lora=3"});
  NoGradGuard no_grad;
  Generator gen(6);
  Tensor x = Tensor::randn({B, T + extra, D}, gen, DType::F64);
  Tensor full = m->forward(x);
  auto state = m->init_state(B);
  std::vector<Tensor> pieces;
  for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 5}, {5, 6}, {6, 17}, {17, T}}) {
    pieces.push_back(m->prefill(slice(x, 1, s, e), *state));
    CHECK(state->position == e);
  }
  for (int64_t t = T; t < T + extra; ++t)
    pieces.push_back(m->step(slice(x, 1, t, t + 1).reshape({B, D}), *state).reshape({B, 1, D}));
  CHECK(testing::rel_err(full.to_vector(), concat(pieces, 1).to_vector()) < 1e-12);
  testing::check_prefill_matches_steps(*m, B, D, 11, 1e-12);
}

TEST_CASE("rwkv7: with a = 1 the state forgets what it held along the removal key", "[rwkv7]") {
  // One head; decay 1 (w0 = −60: log d = −e^{−½}·sigmoid(−60 ± ½) ≈ 0);
  // a = 1 (a0 = 60, a2 = 0); k_a = 0 and k_k = 1, so k̃ = k for any a (with
  // k_a = 1, k̃ = a ⊙ k would write nothing at a = 0) and κ̂ = k/‖k‖;
  // μ_r = μ_k = μ_v = μ_g = 0, so r, k, v, g read the current token only.
  // Tokens x1 = c·u, x2 = u give k1 = c·k, v1 = c·v and k2 = k, v2 = v, so
  //   S2 = (I − κ̂κ̂ᵀ)(c² k vᵀ) + k vᵀ = k vᵀ:
  // the delta rule erases the first write, and the output at t = 2 cannot
  // depend on c. With a = 0 it keeps (c² + 1) k vᵀ; a large GroupNorm eps
  // keeps the norm from hiding that scale.
  const int64_t D = 4;
  auto m = make_rwkv7(D, {"rwkv7.head_size=4", "rwkv7.decay_lora=1", "rwkv7.a_lora=1", "rwkv7.gate_lora=1",
                          "rwkv7.norm_eps=100"});
  NoGradGuard no_grad;
  auto set = [&](const std::string& name, double value) {
    Tensor p = m->parameter(name);
    p.copy_(Tensor::full(p.shape(), value, DType::F64));
  };
  for (const char* name : {"x_r", "x_k", "x_v", "x_g", "a2", "k_a", "r_k", "ln_x.bias"}) set(name, 0.0);  // no bonus, no norm bias
  set("k_k", 1.0);
  set("w0", -60.0);
  Generator gen(5);
  const Tensor u = Tensor::randn({1, 1, D}, gen, DType::F64);
  auto second_output = [&](double c) {
    const std::vector<double> y = m->forward(concat({mul(u, c), u}, 1)).to_vector();
    return std::vector<double>(y.begin() + D, y.end());
  };
  set("a0", 60.0);
  CHECK(testing::rel_err(second_output(2.0), second_output(-3.0)) < 1e-12);
  CHECK(testing::rel_err(second_output(2.0), second_output(0.0)) < 1e-12);
  set("a0", -60.0);  // a = 0: plain accumulation, the first write stays
  CHECK(testing::rel_err(second_output(2.0), second_output(-3.0)) > 1e-2);
}

TEST_CASE("rwkv7: state bytes are the shift vector plus H·N·N, constant in the context", "[rwkv7]") {
  auto defaults = make_rwkv7(64, {});  // one head of 64
  CHECK(defaults->state_bytes(1) == (64 + 64 * 64) * 4);
  CHECK(defaults->state_bytes(1 << 20) == defaults->state_bytes(1));
  auto heads = make_rwkv7(16, {"rwkv7.head_size=4"});
  CHECK(heads->state_bytes(3) == (16 + 4 * 4 * 4) * 4);
}

TEST_CASE("rwkv7: parameters start at the official RWKV-7 inits", "[rwkv7]") {
  const int64_t C = 16, N = 4;
  MixerContext ctx;
  ctx.d_model = C;
  ctx.layer_index = 1;
  ctx.n_layers = 3;
  Generator gen(2);
  auto m = find_mixer("rwkv7").make(parse_options(mixer_options(), {"rwkv7.head_size=4"}), ctx, gen);
  auto values = [&](const std::string& name) { return m->parameter(name).to_vector(); };
  const double r0 = 0.5, r1 = 1.0 - 1.0 / 3.0;
  const std::vector<double> w0 = values("w0"), a0 = values("a0"), kk = values("k_k"), xr = values("x_r"),
                            xw = values("x_w"), xk = values("x_k");
  for (int64_t n = 0; n < C; ++n) {
    const double f = n / double(C - 1), lin = f - 0.5, z = ((n % N) - 1.5) / 1.5, zig = z * std::abs(z);
    CHECK(w0[n] == Approx(-6.0 + 6.0 * std::pow(f, 1.0 + std::pow(r0, 0.3)) + 0.5 + 2.5 * zig).margin(1e-6));
    CHECK(a0[n] == Approx(-0.19 + 0.3 * zig + 0.4 * lin).margin(1e-6));
    CHECK(kk[n] == Approx(0.71 - 0.1 * lin).margin(1e-6));
    CHECK(xr[n] == Approx(1.0 - std::pow(n / double(C), 0.2 * r1)).margin(1e-6));
    CHECK(xw[n] == Approx(1.0 - std::pow(n / double(C), 0.9 * r1)).margin(1e-6));
    CHECK(xk[n] == Approx(1.0 - std::pow(n / double(C), 0.7 * r1)).margin(1e-6));
  }
  for (double e : values("k_a")) CHECK(e == Approx(1.02));
  for (double e : values("r_k")) CHECK(e == Approx(-0.04));
  for (const char* zero : {"w1", "a1", "g1", "ln_x.bias"})
    for (double e : values(zero)) CHECK(e == 0.0);
  double kmax = 0;
  for (double e : values("key.weight")) kmax = std::max(kmax, std::abs(e));
  CHECK(kmax <= 0.05 / 4.0);  // U(±0.05/√C)
  CHECK(kmax > 0.025 / 4.0);
  CHECK(m->parameter("w1").shape() == Shape{C, 32});  // max(32, round(2.5·4/32)·32)
  CHECK(m->parameter("g2").shape() == Shape{32, C});
  CHECK(m->parameter("r_k").shape() == Shape{4, 4});
  CHECK(m->parameter("ln_x.weight").shape() == Shape{C});
}

TEST_CASE("rwkv7: bad options are refused naming the key", "[rwkv7]") {
  MixerContext ctx;
  ctx.d_model = 12;
  Generator gen(1);
  auto make = [&](const std::string& arg) { return find_mixer("rwkv7").make(parse_options(mixer_options(), {arg}), ctx, gen); };
  REQUIRE_THROWS_WITH(make("rwkv7.head_size=5"), Catch::Contains("rwkv7.head_size") && Catch::Contains("12"));
  REQUIRE_THROWS_WITH(make("rwkv7.head_size=-1"), Catch::Contains("rwkv7.head_size"));
  REQUIRE_THROWS_WITH(make("rwkv7.decay_lora=-1"), Catch::Contains("rwkv7.decay_lora"));
  REQUIRE_THROWS_WITH(make("rwkv7.a_lora=-2"), Catch::Contains("rwkv7.a_lora"));
  REQUIRE_THROWS_WITH(make("rwkv7.gate_lora=-3"), Catch::Contains("rwkv7.gate_lora"));
  REQUIRE_THROWS_WITH(make("rwkv7.norm_eps=0"), Catch::Contains("rwkv7.norm_eps"));
  REQUIRE_THROWS_WITH(make("rwkv7.form=chunky"), Catch::Contains("rwkv7.form"));
  REQUIRE_NOTHROW(make("rwkv7.head_size=0"));  // min(64, 12) = 12: one head
  REQUIRE_NOTHROW(make("rwkv7.head_size=3"));
}
