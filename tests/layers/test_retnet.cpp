// retnet: the parallel, recurrent and chunked forms agree on outputs and on
// every gradient (input and parameters) in F64, for T not a multiple of the
// chunk, strong and weak decays (docs/mixers.md, retnet and "How the
// reference implementations test"); decoding matches the forward over long sequences.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

std::shared_ptr<SequenceMixer> make_retnet(int64_t d_model, const std::vector<std::string>& args) {
  return testing::make_f64_mixer("retnet", d_model, args, 7);
}

void check_same(const testing::FormOutcome& a, const testing::FormOutcome& b) {
  testing::check_same_outcome(a, b, 1e-11, 1e-11);
}

}  // namespace

TEST_CASE("retnet: parallel, recurrent and chunked forms agree on outputs and gradients", "[retnet]") {
  const int64_t B = 2, D = 12;
  // decay_exponent 1: γ = 0.5, 0.75, ... (strong); 5: torchscale; 10: γ ≥ 0.999 (weak)
  const std::vector<std::vector<std::string>> settings = {
      {"retnet.n_heads=2", "retnet.decay_exponent=1"},
      {"retnet.n_heads=3"},
      {"retnet.n_heads=2", "retnet.decay_exponent=10", "retnet.value_factor=1"},
      {"retnet.n_heads=3", "retnet.decay_exponent=0.25", "retnet.norm_eps=0"},
  };
  for (const auto& base : settings)
    for (int64_t T : {15, 63}) {
      std::string label;
      for (const auto& a : base) label += a + " ";
      INFO(label << "T=" << T);
      Generator gen(5);
      Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
      Tensor w = Tensor::uniform({B, T, D}, gen, -1.0, 1.0, DType::F64);
      auto with = [&](std::vector<std::string> extra) {
        std::vector<std::string> args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        return make_retnet(D, args);
      };
      const testing::FormOutcome parallel = testing::forward_backward(*with({"retnet.form=parallel"}), x, w);
      const testing::FormOutcome recurrent = testing::forward_backward(*with({"retnet.form=recurrent"}), x, w);
      check_same(parallel, recurrent);
      for (int64_t C : {4, 16}) {
        INFO("chunk " << C);
        check_same(parallel, testing::forward_backward(*with({"retnet.form=chunked", "retnet.chunk_size=" + std::to_string(C)}),
                                              x, w));
      }
      // and the F64 plain-loop reference
      NoGradGuard no_grad;
      auto m = with({"retnet.form=chunked", "retnet.chunk_size=4"});
      CHECK(testing::rel_err(m->reference_forward(x).to_vector(), m->forward(x).to_vector()) < 1e-11);
    }
}

TEST_CASE("retnet: decoding equals the forward over a long sequence; state is H·d_k·d_v", "[retnet]") {
  const int64_t B = 2, D = 12, T = 40;
  for (const char* e : {"1", "5", "10"}) {
    INFO("decay_exponent " << e);
    auto m = make_retnet(D, {"retnet.n_heads=3", "retnet.chunk_size=16", std::string("retnet.decay_exponent=") + e});
    NoGradGuard no_grad;
    Generator gen(9);
    Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
    Tensor full = m->forward(x);
    auto state = m->init_state(B);
    std::vector<Tensor> steps;
    for (int64_t t = 0; t < T; ++t) steps.push_back(m->step(slice(x, 1, t, t + 1).reshape({B, D}), *state).reshape({B, 1, D}));
    CHECK(testing::rel_err(full.to_vector(), concat(steps, 1).to_vector()) < 1e-11);
    // 3 heads, d_k = 4, d_v = 2·12/3 = 8, F32
    CHECK(m->state_bytes(1) == 3 * 4 * 8 * 4);
    CHECK(m->state_bytes(100000) == m->state_bytes(1));
  }
}

TEST_CASE("retnet: bad options are refused naming the key", "[retnet]") {
  MixerContext ctx;
  ctx.d_model = 12;
  Generator gen(1);
  auto make = [&](const std::string& arg) { return find_mixer("retnet").make(parse_options(mixer_options(), {arg}), ctx, gen); };
  REQUIRE_THROWS_WITH(make("retnet.n_heads=5"), Catch::Contains("retnet.n_heads"));
  REQUIRE_THROWS_WITH(make("retnet.n_heads=4"), Catch::Contains("even"));  // d_k = 3
  REQUIRE_THROWS_WITH(make("retnet.form=scan"), Catch::Contains("retnet.form"));
  REQUIRE_THROWS_WITH(make("retnet.chunk_size=0"), Catch::Contains("retnet.chunk_size"));
  REQUIRE_THROWS_WITH(make("retnet.value_factor=0"), Catch::Contains("retnet.value_factor"));
  REQUIRE_NOTHROW(make("retnet.n_heads=6"));  // d_k = 2
}

TEST_CASE("retnet: from a random state, T = 500: chunked prefill equals the recurrence, state included", "[retnet]") {
  const int64_t B = 2, D = 12, T = 500;  // 3 heads, d_k 4, d_v 8
  for (const char* decay : {"retnet.decay_exponent=1", "retnet.decay_exponent=10"}) {  // strong, weak
    INFO(decay);
    auto m = make_retnet(D, {"retnet.n_heads=3", decay, "retnet.chunk_size=64"});
    testing::check_prefill_matches_steps(*m, B, D, T, 1e-11);
  }
}
