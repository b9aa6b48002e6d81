// deltanet and gated_deltanet: the chunked (fused WY/UT), recurrent (fused
// token loop) and composed (WY/UT from plain ops) forms agree on outputs and
// every gradient in F64, for T not a multiple of the chunk and several chunk
// sizes; long sequences match the plain-loop reference in F64 and F32;
// prefill in pieces and decode steps equal one forward; the decode state's
// size; bad options name their key.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

constexpr int64_t kD = 8;

std::vector<std::string> with(const std::string& mixer, std::vector<std::string> settings) {
  for (std::string& s : settings) s = mixer + "." + s;
  return settings;
}

}  // namespace

TEST_CASE("deltanet, gated_deltanet: chunked, recurrent and composed forms agree on outputs and gradients",
          "[delta_net]") {
  const int64_t B = 2;
  for (const char* mixer : {"deltanet", "gated_deltanet"})
    for (bool neg : {false, true})
      for (int64_t T : {15, 64}) {
        INFO(mixer << " allow_neg_eigval " << neg << " T " << T);
        Generator gen(3);
        Tensor x = Tensor::randn({B, T, kD}, gen, DType::F64);
        Tensor w = Tensor::uniform({B, T, kD}, gen, -1.0, 1.0, DType::F64);
        auto make = [&](std::vector<std::string> extra) {
          extra.push_back("n_heads=2");
          extra.push_back(std::string("allow_neg_eigval=") + (neg ? "true" : "false"));
          return testing::make_f64_mixer(mixer, kD, with(mixer, extra), 11);
        };
        const testing::FormOutcome recurrent = testing::forward_backward(*make({"form=recurrent"}), x, w);
        for (int64_t C : {1, 7, 16, 64}) {
          INFO("chunk " << C);
          const std::string chunk = "chunk_size=" + std::to_string(C);
          testing::check_same_outcome(recurrent, testing::forward_backward(*make({chunk}), x, w), 1e-10, 1e-10);
          testing::check_same_outcome(recurrent, testing::forward_backward(*make({chunk, "form=composed"}), x, w),
                                      1e-10, 1e-10);
        }
      }
}

TEST_CASE("deltanet, gated_deltanet: long sequences match the reference in F64 and F32", "[delta_net]") {
  const int64_t T = 300;
  Generator gen(4);
  Tensor x = Tensor::randn({1, T, kD}, gen, DType::F64);
  for (const char* mixer : {"deltanet", "gated_deltanet"}) {
    INFO(mixer);
    auto m = testing::make_f64_mixer(mixer, kD, with(mixer, {"n_heads=2", "chunk_size=32"}), 5);
    NoGradGuard no_grad;
    const std::vector<double> ref = m->reference_forward(x).to_vector();
    CHECK(testing::rel_err(ref, m->forward(x).to_vector()) < 1e-11);
    m->to(DType::F32);
    const std::vector<double> y32 = m->forward(x.to(DType::F32)).to_vector();
    CHECK(testing::rel_err(ref, y32) < 1e-4);
    for (double v : y32) REQUIRE(std::isfinite(v));
  }
}

TEST_CASE("deltanet, gated_deltanet: prefill in pieces and decode steps equal one forward, in every form",
          "[delta_net]") {
  const int64_t B = 2, T = 60;
  Generator gen(6);
  Tensor x = Tensor::randn({B, T, kD}, gen, DType::F64);
  for (const char* mixer : {"deltanet", "gated_deltanet"})
    for (const char* form : {"chunked", "recurrent", "composed"}) {
      INFO(mixer << " " << form);
      auto m = testing::make_f64_mixer(mixer, kD, with(mixer, {"chunk_size=8", std::string("form=") + form}), 7);
      NoGradGuard no_grad;
      const Tensor full = m->forward(x);
      auto state = m->init_state(B);
      std::vector<Tensor> pieces;
      for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 21}, {21, 22}, {22, 59}})
        pieces.push_back(m->prefill(slice(x, 1, s, e), *state));
      pieces.push_back(m->step(slice(x, 1, 59, 60).reshape({B, kD}), *state).reshape({B, 1, kD}));
      CHECK(state->position == T);
      CHECK(testing::rel_err(full.to_vector(), concat(pieces, 1).to_vector()) < 1e-12);
      testing::check_prefill_matches_steps(*m, B, kD, 20, 1e-12);
    }
}

TEST_CASE("deltanet, gated_deltanet: decode state is the conv tail plus H·dk·dv", "[delta_net]") {
  MixerContext ctx;
  ctx.d_model = 64;
  Generator gen(1);
  auto dn = find_mixer("deltanet").make(parse_options(mixer_options(), {"deltanet.n_heads=4"}), ctx, gen);
  // dk = dv = 16: conv (4−1)·(2·64 + 64), S 4·16·16
  CHECK(dn->state_bytes(1024) == ((4 - 1) * (2 * 64 + 64) + 4 * 16 * 16) * 4);
  auto gdn = find_mixer("gated_deltanet").make(parse_options(mixer_options(), {"gated_deltanet.n_heads=4"}), ctx, gen);
  // dk = 16, dv = 32: conv (4−1)·(2·64 + 128), S 4·16·32
  CHECK(gdn->state_bytes(1024) == ((4 - 1) * (2 * 64 + 128) + 4 * 16 * 32) * 4);
  auto plain = find_mixer("deltanet").make(
      parse_options(mixer_options(), {"deltanet.n_heads=4", "deltanet.short_conv=false"}), ctx, gen);
  CHECK(plain->state_bytes(1 << 20) == 4 * 16 * 16 * 4);
}

TEST_CASE("deltanet, gated_deltanet: bad options name the key", "[delta_net]") {
  MixerContext ctx;
  ctx.d_model = 8;
  auto build = [&](const std::string& mixer, const std::vector<std::string>& args) {
    Generator gen(1);
    return find_mixer(mixer).make(parse_options(mixer_options(), args), ctx, gen);
  };
  CHECK_THROWS_WITH(build("deltanet", {"deltanet.n_heads=3"}), Catch::Contains("deltanet.n_heads"));
  CHECK_NOTHROW(build("deltanet", {"deltanet.n_heads=3", "deltanet.head_dim=2"}));
  CHECK_THROWS_WITH(build("deltanet", {"deltanet.form=parallel"}), Catch::Contains("chunked, recurrent, composed"));
  CHECK_THROWS_WITH(build("gated_deltanet", {"gated_deltanet.dt_min=0"}), Catch::Contains("dt_min"));
  CHECK_THROWS_WITH(build("gated_deltanet", {"gated_deltanet.A_init_min=3", "gated_deltanet.A_init_max=2"}),
                    Catch::Contains("A_init_min"));
}
