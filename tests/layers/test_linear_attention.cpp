// linear_attn: the chunked, parallel and recurrent forms agree on outputs and
// on every gradient (input and parameters), in F64, for T not a multiple of
// the chunk and head dims that are not powers of two (docs/mixers.md, "How the
// reference implementations test").
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

std::shared_ptr<SequenceMixer> make_la(int64_t d_model, std::vector<std::string> args) {
  return testing::make_f64_mixer("linear_attn", d_model, args, 11);
}

}  // namespace

TEST_CASE("linear_attn: chunked, parallel and recurrent forms agree on outputs and gradients", "[linear_attn]") {
  const int64_t B = 2, D = 12;  // 2 heads of d_v = 6
  const std::vector<std::vector<std::string>> settings = {
      {"linear_attn.n_heads=2"},
      {"linear_attn.n_heads=2", "linear_attn.feature_dim=5", "linear_attn.normalize=false"},
      {"linear_attn.n_heads=2", "linear_attn.feature_dim=3", "linear_attn.feature_map=taylor"},
      {"linear_attn.n_heads=4", "linear_attn.feature_map=relu"},  // d_v = 3
      {"linear_attn.n_heads=2", "linear_attn.feature_map=identity", "linear_attn.normalize=false"},
  };
  for (const auto& base : settings)
    for (int64_t T : {15, 63})
      for (int64_t C : {4, 16}) {
        std::string label;
        for (const auto& a : base) label += a + " ";
        INFO(label << "T=" << T << " chunk=" << C);
        auto with = [&](const std::string& form) {
          auto args = base;
          args.push_back("linear_attn.form=" + form);
          args.push_back("linear_attn.chunk_size=" + std::to_string(C));
          return make_la(D, args);
        };
        Generator gen(7);
        Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
        Tensor w = Tensor::uniform({B, T, D}, gen, -1.0, 1.0, DType::F64);
        auto chunked = with("chunked"), parallel = with("parallel"), recurrent = with("recurrent");
        using testing::forward_backward;
        const auto rc = forward_backward(*chunked, x, w), rp = forward_backward(*parallel, x, w),
                   rr = forward_backward(*recurrent, x, w);
        testing::check_same_outcome(rp, rc, 1e-12, 1e-11);
        testing::check_same_outcome(rp, rr, 1e-12, 1e-11);
        // Decoding through the recurrent state matches the full forward.
        NoGradGuard no_grad;
        auto state = chunked->init_state(B);
        std::vector<Tensor> steps;
        for (int64_t t = 0; t < T; ++t)
          steps.push_back(chunked->step(slice(x, 1, t, t + 1).reshape({B, D}), *state).reshape({B, 1, D}));
        CHECK(testing::rel_err(rp.out, concat(steps, 1).to_vector()) < 1e-12);
      }
}

TEST_CASE("linear_attn: decode state is H·(F·d_v + F) floats, constant in context", "[linear_attn]") {
  // d_model 12, 2 heads: d_v = 6; feature_dim 3 -> F = 3 (elu) or 1 + 3 + 9 = 13 (taylor).
  auto elu = make_la(12, {"linear_attn.n_heads=2", "linear_attn.feature_dim=3"});
  CHECK(elu->state_bytes(1) == 2 * (3 * 6 + 3) * 4);
  CHECK(elu->state_bytes(100000) == elu->state_bytes(1));
  auto taylor = make_la(12, {"linear_attn.n_heads=2", "linear_attn.feature_dim=3", "linear_attn.feature_map=taylor"});
  CHECK(taylor->state_bytes(7) == 2 * (13 * 6 + 13) * 4);
}

TEST_CASE("linear_attn: bad options name the key", "[linear_attn]") {
  CHECK_THROWS_WITH(make_la(8, {"linear_attn.n_heads=3"}), Catch::Contains("linear_attn.n_heads"));
  CHECK_THROWS_WITH(make_la(8, {"linear_attn.feature_map=cosine"}), Catch::Contains("linear_attn.feature_map"));
  CHECK_THROWS_WITH(make_la(8, {"linear_attn.form=scan"}), Catch::Contains("linear_attn.form"));
  CHECK_THROWS_WITH(make_la(8, {"linear_attn.chunk_size=0"}), Catch::Contains("linear_attn.chunk_size"));
}

TEST_CASE("linear_attn: from a random state, T = 500: chunked prefill equals the recurrence, state included",
          "[linear_attn]") {
  // A random prefix leaves a random (S, z); the chunked scan continuing from it
  // must match token-by-token decoding on outputs and on the state left behind
  // (checked through the next step). Head dims 6, not a power of two.
  const int64_t B = 2, D = 12, T = 500;
  for (const char* map : {"elu", "taylor"}) {
    INFO(map);
    std::vector<std::string> args = {"linear_attn.n_heads=2", std::string("linear_attn.feature_map=") + map,
                                     "linear_attn.chunk_size=64"};
    if (std::string(map) == "taylor") args.push_back("linear_attn.feature_dim=3");
    auto m = make_la(D, args);
    testing::check_prefill_matches_steps(*m, B, D, T, 1e-11);
  }
}
