// gla: the chunked (fused gated scan) and recurrent forms agree on outputs and
// every gradient in F64 for every feature map and norm, T not a multiple of
// the chunk and several chunk sizes; prefill from a state equals step-by-step
// decoding for both forms; the chunked form stays finite and accurate in F32
// under gates strong enough to overflow a naive split; state bytes, the fla
// parameter layout and refused options.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

std::shared_ptr<SequenceMixer> make_gla(int64_t d_model, std::vector<std::string> args) {
  return testing::make_f64_mixer("gla", d_model, args, 21);
}

}  // namespace

TEST_CASE("gla: chunked and recurrent forms agree on outputs and every gradient", "[gla]") {
  const int64_t B = 2, D = 12;
  const std::vector<std::vector<std::string>> settings = {
      {"gla.n_heads=2"},
      {"gla.n_heads=3", "gla.expand_k=1", "gla.feature_map=relu", "gla.norm=layer", "gla.gate_bias=true"},
      {"gla.n_heads=2", "gla.feature_map=swish", "gla.output_gate=false", "gla.norm_affine=false",
       "gla.gate_logit_normalizer=1"},
  };
  for (const auto& base : settings)
    for (int64_t T : {15, 33}) {
      INFO(base.back() << ", T " << T);
      auto with = [&](const std::vector<std::string>& extra) {
        std::vector<std::string> args = base;
        args.insert(args.end(), extra.begin(), extra.end());
        return make_gla(D, args);
      };
      Generator gen(4 + T);
      Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
      Tensor w = Tensor::uniform({B, T, D}, gen, -1.0, 1.0, DType::F64);
      const testing::FormOutcome recurrent = testing::forward_backward(*with({"gla.form=recurrent"}), x, w);
      for (const char* chunk : {"1", "4", "7", "16", "64"}) {
        INFO("chunk " << chunk);
        auto m = with({std::string("gla.chunk_size=") + chunk});
        testing::check_same_outcome(recurrent, testing::forward_backward(*m, x, w), 1e-10, 1e-10);
        NoGradGuard no_grad;
        CHECK(testing::rel_err(m->reference_forward(x).to_vector(), m->forward(x).to_vector()) < 1e-11);
      }
    }
}

TEST_CASE("gla: prefill from a decode state equals step-by-step decoding, both forms", "[gla]") {
  for (const char* form : {"chunked", "recurrent"}) {
    INFO("form " << form);
    auto m = make_gla(8, {"gla.n_heads=2", "gla.chunk_size=4", std::string("gla.form=") + form});
    testing::check_prefill_matches_steps(*m, 2, 8, 19, 1e-12);
  }
}

TEST_CASE("gla: prefill in pieces through the state equals one forward", "[gla]") {
  const int64_t B = 2, D = 8, T = 29;
  auto m = make_gla(D, {"gla.n_heads=2", "gla.chunk_size=8"});
  NoGradGuard no_grad;
  Generator gen(6);
  Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
  Tensor full = m->forward(x);
  auto state = m->init_state(B);
  std::vector<Tensor> pieces;
  for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 5}, {5, 6}, {6, 21}, {21, T}}) {  // across chunk borders
    pieces.push_back(m->prefill(slice(x, 1, s, e), *state));
    CHECK(state->position == e);
  }
  CHECK(testing::rel_err(full.to_vector(), concat(pieces, 1).to_vector()) < 1e-12);
}

TEST_CASE("gla: the chunked form stays finite and accurate in F32 under strong gates", "[gla]") {
  // With τ = 1 and a gate bias of −30, log α ≈ −30 per token and a 64-token
  // chunk's cumulative log decay reaches about −2000: exp(+2000) alone
  // overflows F32 and F64, so the scan must only exponentiate factors ≤ 1.
  const int64_t B = 1, D = 8, T = 70;
  auto ref = make_gla(D, {"gla.n_heads=2", "gla.gate_logit_normalizer=1"});
  {
    NoGradGuard no_grad;
    const Tensor bias = ref->parameter("gk_proj.1.bias");
    std::vector<double> b = bias.to_vector();
    for (size_t i = 0; i < b.size(); ++i) b[i] = i % 2 ? -30.0 : b[i];  // every other channel: strong decay
    bias.copy_(Tensor::from_vector(b, bias.shape(), DType::F64));
  }
  MixerContext ctx;
  ctx.d_model = D;
  ctx.n_layers = 2;
  Generator gen(1);
  auto f32 = find_mixer("gla").make(parse_options(mixer_options(), {"gla.n_heads=2", "gla.gate_logit_normalizer=1"}),
                                    ctx, gen);
  for (const auto& [name, p] : ref->named_parameters()) f32->parameter(name).copy_(p.detach().to(DType::F32));
  Generator xgen(2);
  Tensor x = Tensor::randn({B, T, D}, xgen, DType::F64);
  NoGradGuard no_grad;
  const std::vector<double> exact = ref->reference_forward(x).to_vector();
  const std::vector<double> fast = f32->forward(x.to(DType::F32)).to_vector();
  for (double e : fast) REQUIRE(std::isfinite(e));
  CHECK(testing::rel_err(exact, fast) < 1e-5);
}

TEST_CASE("gla: state bytes are H·dk·dv floats, constant in the context", "[gla]") {
  auto defaults = make_gla(64, {});  // fla's defaults: key 32, value 64, 4 heads -> dk 8, dv 16
  CHECK(defaults->state_bytes(1) == 4 * 8 * 16 * 4);
  CHECK(defaults->state_bytes(1 << 20) == defaults->state_bytes(1));
  auto wide = make_gla(16, {"gla.n_heads=2", "gla.expand_k=1", "gla.expand_v=2"});
  CHECK(wide->state_bytes(5) == 2 * 8 * 16 * 4);
}

TEST_CASE("gla: parameters follow fla's layer (names, shapes)", "[gla]") {
  auto m = make_gla(64, {});
  CHECK(m->parameter("q_proj.weight").shape() == Shape{32, 64});
  CHECK(m->parameter("k_proj.weight").shape() == Shape{32, 64});
  CHECK(m->parameter("v_proj.weight").shape() == Shape{64, 64});
  CHECK(m->parameter("g_proj.weight").shape() == Shape{64, 64});
  CHECK(m->parameter("gk_proj.0.weight").shape() == Shape{16, 64});
  CHECK(m->parameter("gk_proj.1.weight").shape() == Shape{32, 16});
  CHECK(m->parameter("gk_proj.1.bias").shape() == Shape{32});
  CHECK(m->parameter("o_proj.weight").shape() == Shape{64, 64});
  CHECK(m->parameter("g_norm.weight").shape() == Shape{16});
  CHECK(m->named_parameters().size() == 9);
  auto paper = make_gla(64, {"gla.norm=layer", "gla.gate_bias=true"});
  CHECK(paper->parameter("g_norm.bias").shape() == Shape{16});
  CHECK(paper->parameter("g_proj.bias").shape() == Shape{64});
}

TEST_CASE("gla: bad options are refused naming the key", "[gla]") {
  MixerContext ctx;
  ctx.d_model = 16;  // defaults: key 8, value 16, 4 heads
  Generator gen(1);
  auto make = [&](const std::string& arg) { return find_mixer("gla").make(parse_options(mixer_options(), {arg}), ctx, gen); };
  REQUIRE_THROWS_WITH(make("gla.n_heads=5"), Catch::Contains("gla.expand_k") && Catch::Contains("gla.n_heads"));
  REQUIRE_THROWS_WITH(make("gla.expand_v=0.05"), Catch::Contains("gla.expand_v"));
  REQUIRE_THROWS_WITH(make("gla.expand_k=0"), Catch::Contains("gla.expand_k"));
  REQUIRE_THROWS_WITH(make("gla.gate_low_rank_dim=0"), Catch::Contains("gla.gate_low_rank_dim"));
  REQUIRE_THROWS_WITH(make("gla.gate_logit_normalizer=0"), Catch::Contains("gla.gate_logit_normalizer"));
  REQUIRE_THROWS_WITH(make("gla.feature_map=elu"), Catch::Contains("gla.feature_map") && Catch::Contains("swish"));
  REQUIRE_THROWS_WITH(make("gla.norm=group"), Catch::Contains("gla.norm") && Catch::Contains("layer"));
  REQUIRE_THROWS_WITH(make("gla.form=parallel"), Catch::Contains("gla.form"));
  REQUIRE_THROWS_WITH(make("gla.chunk_size=0"), Catch::Contains("gla.chunk_size"));
  REQUIRE_THROWS_WITH(make("gla.norm_eps=0"), Catch::Contains("gla.norm_eps"));
  REQUIRE_NOTHROW(make("gla.n_heads=8"));  // dk 1, dv 2
  REQUIRE_THROWS_WITH(make("gla.n_heads=16"), Catch::Contains("gla.expand_k"));  // key 8 < 16 heads
}
