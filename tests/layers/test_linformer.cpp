// linformer: refused where it cannot work (longer sequences than its E/F
// rows, decoding), and bad options name the key. Forward = reference, the
// gradients and shape/determinism come from the conformance suite; refusal
// on causal tasks from cmake/cli_train_tests.cmake.
#include <catch2/catch.hpp>

#include "autograd/ops.h"
#include "layers/mixers/registry.h"

using namespace mixlab;

namespace {

std::shared_ptr<SequenceMixer> make(const std::vector<std::string>& args, int64_t max_len = 16) {
  MixerContext ctx;
  ctx.d_model = 8;
  ctx.max_seq_len = max_len;
  Generator gen(1);
  return find_mixer("linformer").make(parse_options(mixer_options(), args), ctx, gen);
}

}  // namespace

TEST_CASE("linformer: sequences beyond max_seq_len and decoding are refused", "[linformer]") {
  auto m = make({"linformer.k=4"});
  Generator gen(2);
  CHECK(m->forward(Tensor::randn({1, 16, 8}, gen)).shape() == Shape{1, 16, 8});
  CHECK_THROWS_WITH(m->forward(Tensor::randn({1, 17, 8}, gen)), Catch::Contains("exceeds max_seq_len 16"));
  CHECK_FALSE(m->traits().causal);
  CHECK_FALSE(m->traits().has_decode);
  CHECK_THROWS_WITH(m->init_state(1), Catch::Contains("no decode form"));
}

TEST_CASE("linformer: parameters follow the options", "[linformer]") {
  auto shared = make({"linformer.k=4", "linformer.share_kv=true"});
  CHECK_THROWS(shared->parameter("proj_v"));
  CHECK(shared->parameter("proj_k").shape() == Shape{16, 4});
  auto one = make({"linformer.k=4", "linformer.n_heads=4", "linformer.one_kv_head=true"});
  CHECK(one->parameter("to_k.weight").shape() == Shape{2, 8});  // one head of d_model / 4
}

TEST_CASE("linformer: bad options name the key", "[linformer]") {
  CHECK_THROWS_WITH(make({"linformer.n_heads=3"}), Catch::Contains("linformer.n_heads"));
  CHECK_THROWS_WITH(make({"linformer.k=0"}), Catch::Contains("linformer.k"));
}
