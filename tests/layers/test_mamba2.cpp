// mamba2: the chunked (fused SSD scan) and recurrent forms agree on outputs,
// final states and every gradient in F64, for T not a multiple of the chunk,
// several chunk sizes, ngroups 1 / 2 / H, strong and weak decays
// (docs/mixers.md, "How the reference implementations test"); prefill in pieces
// through the state equals one forward.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

constexpr int64_t kD = 8;  // d_in 16

// log A = log_a for every head: dt·A ≈ −0.7·e^(log_a) per token at init-free
// random parameters (dt ≈ softplus(U(−.5,.5) + U(−.5,.5)) ≈ 0.7).
std::shared_ptr<SequenceMixer> make(const std::vector<std::string>& args, double log_a) {
  auto m = testing::make_f64_mixer("mamba2", kD, args, 11);
  Tensor A_log = m->parameter("A_log");
  A_log.copy_(Tensor::full(A_log.shape(), log_a, DType::F64));
  return m;
}

}  // namespace

TEST_CASE("mamba2: chunked and recurrent forms agree on outputs and gradients", "[mamba2]") {
  const int64_t B = 2;
  // headdim 4 -> H = 4 heads; ngroups 1, 2 and H.
  for (int64_t groups : {1, 2, 4})
    for (double log_a : {std::log(10.0), 0.0, std::log(0.01)})  // strong, medium, weak decay
      for (int64_t T : {15, 64}) {
        INFO("ngroups " << groups << " log A " << log_a << " T " << T);
        const std::vector<std::string> base = {"mamba2.d_state=5", "mamba2.headdim=4",
                                               "mamba2.ngroups=" + std::to_string(groups)};
        Generator gen(3);
        Tensor x = Tensor::randn({B, T, kD}, gen, DType::F64);
        Tensor w = Tensor::uniform({B, T, kD}, gen, -1.0, 1.0, DType::F64);
        auto with = [&](const std::string& extra) {
          std::vector<std::string> args = base;
          args.push_back(extra);
          return make(args, log_a);
        };
        const testing::FormOutcome recurrent = testing::forward_backward(*with("mamba2.form=recurrent"), x, w);
        for (int64_t C : {1, 7, 16, 64}) {
          INFO("chunk " << C);
          testing::check_same_outcome(
              recurrent, testing::forward_backward(*with("mamba2.chunk_size=" + std::to_string(C)), x, w), 1e-11, 1e-10);
        }
      }
}

TEST_CASE("mamba2: long sequences: forms agree in F64 and F32, and with the reference", "[mamba2]") {
  const int64_t T = 500;
  Generator gen(4);
  Tensor x = Tensor::randn({1, T, kD}, gen, DType::F64);
  Tensor w = Tensor::uniform({1, T, kD}, gen, -1.0, 1.0, DType::F64);
  const std::vector<std::string> base = {"mamba2.d_state=4", "mamba2.headdim=8", "mamba2.ngroups=2"};
  auto rec = make({base[0], base[1], base[2], "mamba2.form=recurrent"}, 0.0);
  auto chunked = make({base[0], base[1], base[2], "mamba2.chunk_size=64"}, 0.0);
  testing::check_same_outcome(testing::forward_backward(*rec, x, w), testing::forward_backward(*chunked, x, w), 1e-10,
                              1e-9);
  NoGradGuard no_grad;
  CHECK(testing::rel_err(chunked->reference_forward(x).to_vector(), chunked->forward(x).to_vector()) < 1e-11);
  chunked->to(DType::F32);
  const std::vector<double> y32 = chunked->forward(x.to(DType::F32)).to_vector();
  CHECK(testing::rel_err(chunked->reference_forward(x).to_vector(), y32) < 1e-4);
  for (double v : y32) REQUIRE(std::isfinite(v));
}

TEST_CASE("mamba2: prefill in pieces carries conv and SSM state, in both forms", "[mamba2]") {
  const int64_t B = 2, T = 100;
  Generator gen(6);
  Tensor x = Tensor::randn({B, T, kD}, gen, DType::F64);
  for (const char* form : {"mamba2.form=chunked", "mamba2.form=recurrent"}) {
    INFO(form);
    auto m = make({"mamba2.d_state=3", "mamba2.headdim=4", "mamba2.ngroups=2", "mamba2.chunk_size=16", form}, 0.0);
    NoGradGuard no_grad;
    const Tensor full = m->forward(x);
    auto state = m->init_state(B);
    std::vector<Tensor> pieces;
    for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 37}, {37, 38}, {38, 99}}) pieces.push_back(m->prefill(slice(x, 1, s, e), *state));
    pieces.push_back(m->step(slice(x, 1, 99, 100).reshape({B, kD}), *state).reshape({B, 1, kD}));
    CHECK(state->position == T);
    CHECK(testing::rel_err(full.to_vector(), concat(pieces, 1).to_vector()) < 1e-12);
  }
}

TEST_CASE("mamba2: from a random state, chunked and recurrent prefill agree on outputs and final states", "[mamba2]") {
  // The state after a random prefix is the random initial state of the piece.
  const int64_t B = 2;
  Generator gen(8);
  Tensor prefix = Tensor::randn({B, 9, kD}, gen, DType::F64), x = Tensor::randn({B, 41, kD}, gen, DType::F64);
  auto chunked = make({"mamba2.d_state=3", "mamba2.headdim=4", "mamba2.ngroups=2", "mamba2.chunk_size=8"}, 0.0);
  auto recurrent = make({"mamba2.d_state=3", "mamba2.headdim=4", "mamba2.ngroups=2", "mamba2.form=recurrent"}, 0.0);
  NoGradGuard no_grad;
  auto sc = chunked->init_state(B), sr = recurrent->init_state(B);
  chunked->prefill(prefix, *sc);
  recurrent->prefill(prefix, *sr);
  CHECK(testing::rel_err(recurrent->prefill(x, *sr).to_vector(), chunked->prefill(x, *sc).to_vector()) < 1e-12);
  // Equal final states (conv tail and SSM state): the next step agrees.
  CHECK(sc->position == 50);
  CHECK(testing::rel_err(recurrent->step(Tensor::ones({B, kD}, DType::F64), *sr).to_vector(),
                         chunked->step(Tensor::ones({B, kD}, DType::F64), *sc).to_vector()) < 1e-12);
}

TEST_CASE("mamba2: decode state is the conv tail plus H·N·P", "[mamba2]") {
  MixerContext ctx;
  ctx.d_model = 64;
  Generator gen(1);
  auto m = find_mixer("mamba2").make(
      parse_options(mixer_options(), {"mamba2.d_state=128", "mamba2.headdim=64", "mamba2.ngroups=1"}), ctx, gen);
  // d_in 128, H 2: conv (4-1)·(128 + 2·128) + SSM 2·128·64 values
  CHECK(m->state_bytes(1024) == ((4 - 1) * (128 + 256) + 2 * 128 * 64) * 4);
  CHECK(m->state_bytes(1 << 20) == m->state_bytes(1));
}

TEST_CASE("mamba2: bad options name the key", "[mamba2]") {
  MixerContext ctx;
  ctx.d_model = 8;
  auto build = [&](const std::vector<std::string>& args) {
    Generator gen(1);
    return find_mixer("mamba2").make(parse_options(mixer_options(), args), ctx, gen);
  };
  CHECK_THROWS_WITH(build({"mamba2.headdim=5"}), Catch::Contains("mamba2.headdim") && Catch::Contains("d_in"));
  CHECK_THROWS_WITH(build({"mamba2.headdim=4", "mamba2.ngroups=3"}), Catch::Contains("mamba2.ngroups"));
  CHECK_THROWS_WITH(build({"mamba2.form=parallel"}), Catch::Contains("chunked, recurrent"));
  CHECK_THROWS_WITH(build({"mamba2.dt_min=0"}), Catch::Contains("dt_min"));
}
