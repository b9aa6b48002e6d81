#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/mixers/registry.h"
#include "layers/norms.h"
#include "models/language_model.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;

namespace {

po::options_description all_options() {
  po::options_description d;
  ModelConfig::add_options(d);
  d.add(mixer_options());
  return d;
}

std::unique_ptr<LanguageModel> build(const std::vector<std::string>& args) {
  const po::variables_map vm = parse_options(all_options(), args);
  auto m = std::make_unique<LanguageModel>(ModelConfig::from_options(vm), 50, 32, vm, 7);
  m->to(DType::F64);
  Generator gen(3);
  for (const Tensor& p : m->parameters()) uniform_(p, -0.3, 0.3, gen);
  m->eval();
  return m;
}

}  // namespace

TEST_CASE("language model: step-by-step decoding equals the full forward", "[models]") {
  const std::vector<std::vector<std::string>> configs = {
      {"model.d_model=16", "model.pattern=mha", "model.positions=learned"},
      {"model.d_model=16", "model.n_layers=3", "model.pattern=shortconv,mha,swa", "model.positions=sinusoidal",
       "swa.window=3", "model.ffn=swiglu", "model.norm=rmsnorm"},
      {"model.d_model=16", "model.pattern=mha", "mha.n_heads=4", "mha.n_kv_heads=2", "mha.positions=rope",
       "model.ffn=mlp", "model.tie_embeddings=false"},
      {"model.d_model=16", "model.pattern=swa,mha", "swa.positions=alibi", "swa.n_heads=2", "swa.window=4"},
      {"model.d_model=16", "model.n_layers=2", "model.pattern=shortconv,mha", "model.ffn_pattern=mlp,moe",
       "moe.n_experts=4", "moe.top_k=2", "moe.capacity_factor=0.5"},
      {"model.d_model=16", "model.n_layers=2", "model.pattern=mha", "model.ffn=identity", "model.positions=learned"},
  };
  const int64_t B = 2, T = 9;
  for (const auto& args : configs) {
    std::string label;
    for (const auto& a : args) label += a + " ";
    INFO(label);
    auto m = build(args);
    NoGradGuard no_grad;
    Generator gen(11);
    std::vector<int64_t> ids(B * T);
    for (auto& id : ids) id = static_cast<int64_t>(Tensor::uniform({1}, gen, 0, 50, DType::F64).item());
    const Tensor all = Tensor::from_indices(ids, {B, T});
    const Tensor full = m->forward(all);  // (B, T, V)
    auto state = m->init_state(B);
    std::vector<Tensor> rows;
    for (int64_t t = 0; t < T; ++t) {
      Tensor logits = m->step(slice(all, 1, t, t + 1).reshape({B}), state);
      rows.push_back(logits.reshape({B, 1, -1}));
    }
    CHECK(testing::rel_err(full.to_vector(), concat(rows, 1).to_vector()) < 1e-12);
  }
}

TEST_CASE("language model: sinusoidal positions follow Vaswani et al.", "[models]") {
  const std::vector<double> pe = sinusoidal_positions(3, 4, 2, DType::F64).to_vector();
  CHECK(pe[0] == Approx(std::sin(2.0)));                  // p=2, i=0
  CHECK(pe[1] == Approx(std::cos(2.0)));                  // p=2, i=1
  CHECK(pe[4 + 2] == Approx(std::sin(3.0 / 100.0)));      // p=3, i=2: 10000^(2/4) = 100
  CHECK(pe[8 + 3] == Approx(std::cos(4.0 / 100.0)));      // p=4, i=3
}

TEST_CASE("language model: prefill in pieces, then decoding, equals the full forward for every mixer",
          "[models][prefill]") {
  // Every decodable mixer of the registry at its defaults, in a two-layer
  // hybrid with an MLP: a prompt prefilled in two pieces, then token steps.
  const int64_t B = 2, T = 9;
  for (const MixerSpec& spec : mixer_registry()) {
    const std::vector<std::string> args = {"model.d_model=64", "model.n_layers=2", "model.pattern=shortconv," + spec.name,
                                           "model.ffn=mlp", "model.positions=learned"};
    auto m = build(args);
    if (!m->first_non_causal_mixer().empty()) continue;  // bidirectional mixers have no decode form
    INFO(spec.name);
    NoGradGuard no_grad;
    Generator gen(12);
    std::vector<int64_t> ids(B * T);
    for (auto& id : ids) id = static_cast<int64_t>(Tensor::uniform({1}, gen, 0, 50, DType::F64).item());
    const Tensor all = Tensor::from_indices(ids, {B, T});
    const Tensor full = m->forward(all);
    auto state = m->init_state(B);
    std::vector<Tensor> pieces = {m->prefill(slice(all, 1, 0, 4), state), m->prefill(slice(all, 1, 4, 7), state)};
    for (int64_t t = 7; t < T; ++t) pieces.push_back(m->step(slice(all, 1, t, t + 1).reshape({B}), state).reshape({B, 1, -1}));
    CHECK(state.position == T);
    CHECK(testing::rel_err(full.to_vector(), concat(pieces, 1).to_vector()) < 1e-12);
  }
}

TEST_CASE("language model: ffn = identity adds the normed stream, h + LayerNorm(h) (Zoology's Identity state mixer)",
          "[models]") {
  auto m = build({"model.d_model=8", "model.n_layers=2", "model.pattern=mha", "model.ffn=identity"});
  NoGradGuard no_grad;
  const auto& block = static_cast<const Block&>(*(*m->blocks)[0]);
  REQUIRE(block.norm2);
  CHECK_FALSE(block.ffn);
  const auto& norm2 = static_cast<const LayerNorm&>(*block.norm2);
  Generator gen(5);
  const int64_t B = 2, T = 3, D = 8;
  const Tensor x = Tensor::uniform({B, T, D}, gen, -1, 1, DType::F64);
  const std::vector<double> h = add(x, block.mixer->forward(block.norm1->forward(x))).to_vector();
  const std::vector<double> w = norm2.weight.to_vector(), b = norm2.bias.to_vector();
  std::vector<double> expected(h.size());
  for (int64_t row = 0; row < B * T; ++row) {  // plain loops: biased variance, eps 1e-5
    double mean = 0, var = 0;
    for (int64_t c = 0; c < D; ++c) mean += h[row * D + c] / D;
    for (int64_t c = 0; c < D; ++c) var += (h[row * D + c] - mean) * (h[row * D + c] - mean) / D;
    for (int64_t c = 0; c < D; ++c)
      expected[row * D + c] = h[row * D + c] + (h[row * D + c] - mean) / std::sqrt(var + 1e-5) * w[c] + b[c];
  }
  CHECK(testing::rel_err(block.forward(x).to_vector(), expected) < 1e-12);
  // model.ffn = none has no second norm: the block is h alone.
  auto plain = build({"model.d_model=8", "model.n_layers=2", "model.pattern=mha"});
  CHECK_FALSE(static_cast<const Block&>(*(*plain->blocks)[0]).norm2);
}

TEST_CASE("language model: empty token ids are refused with one line, not run", "[models][errors]") {
  // A (0, 3) batch once reached the kernels and crashed `mixlab forward`.
  auto m = build({"model.d_model=16", "model.pattern=shortconv,mha"});
  for (const Shape& shape : {Shape{0, 3}, Shape{2, 0}}) {
    const Tensor ids = Tensor::zeros(shape, DType::I64);
    REQUIRE_THROWS_WITH(m->forward(ids), Catch::Contains("are empty (need B >= 1 and T >= 1)"));
    auto state = m->init_state(shape[0]);
    REQUIRE_THROWS_WITH(m->prefill(ids, state), Catch::Contains("are empty"));
  }
}
