// Module system: parameter naming and bookkeeping, the basic layers' forward
// values and input checks, and F64 finite-difference gradients of every layer
// with respect to both its input and its parameters.
#include <catch2/catch.hpp>
#include <cmath>
#include <functional>

#include "autograd/ops.h"
#include "layers/embedding.h"
#include "layers/feedforward.h"
#include "layers/init.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/norms.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/param_gradcheck.h"

using namespace mixlab;
using Catch::Matchers::Contains;

namespace {

// A small tree shaped like a language model: own parameter, an embedding, and
// a list of blocks each holding a norm and a mixer with a projection.
struct Block : Module {
  std::shared_ptr<RMSNorm> norm;
  std::shared_ptr<Linear> q_proj;
  explicit Block(Generator& gen) {
    norm = register_module("norm", std::make_shared<RMSNorm>(4));
    auto mixer = register_module("mixer", std::make_shared<Module>());
    q_proj = mixer->register_module("q_proj", std::make_shared<Linear>(4, 4, gen));
  }
};

struct Net : Module {
  std::shared_ptr<Embedding> embed;
  std::shared_ptr<ModuleList> blocks;
  explicit Net(Generator& gen) {
    embed = register_module("embed", std::make_shared<Embedding>(10, 4, gen));
    // Registered after `embed`, listed before it: a module's own parameters
    // come first, as in PyTorch.
    register_parameter("pos", Tensor::zeros({8, 4}));
    blocks = register_module("blocks", std::make_shared<ModuleList>());
    blocks->push_back(std::make_shared<Block>(gen));
    blocks->push_back(std::make_shared<Block>(gen));
  }
};

std::vector<std::string> names_of(const Module& m) {
  std::vector<std::string> names;
  for (const auto& [name, t] : m.named_parameters()) names.push_back(name);
  return names;
}

// Converts `m` to F64, gives every parameter random values (so unit norm
// weights and zero biases do not hide a wrong rule), then checks gradients
// with respect to the input and to every parameter.
template <typename M>
void check_module_gradients(const std::string& name, M& m, const Shape& x_shape) {
  m.to(DType::F64);
  Generator gen(5);
  for (const Tensor& p : m.parameters()) uniform_(p, -1.0, 1.0, gen);
  mixlab::testing::check_gradients({name, {x_shape}, [&m](const std::vector<Tensor>& in) { return m.forward(in[0]); }});
  Tensor x = Tensor::uniform(x_shape, gen, -1.0, 1.0, DType::F64);
  mixlab::testing::check_parameter_gradients(m, [&] { return m.forward(x); });
}

}  // namespace

TEST_CASE("named_parameters follows the module tree with dotted names", "[layers]") {
  Generator gen(1);
  Net net(gen);
  const std::vector<std::string> expected = {
      "pos",
      "embed.weight",
      "blocks.0.norm.weight",
      "blocks.0.mixer.q_proj.weight",
      "blocks.0.mixer.q_proj.bias",
      "blocks.1.norm.weight",
      "blocks.1.mixer.q_proj.weight",
      "blocks.1.mixer.q_proj.bias",
  };
  CHECK(names_of(net) == expected);
  CHECK(net.parameters().size() == expected.size());
  // pos 8*4 + embed 10*4 + 2 blocks * (norm 4 + q_proj 16 + 4)
  CHECK(net.num_parameters() == 32 + 40 + 2 * (4 + 16 + 4));
  for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
  // Handles, not copies: the registry and the members are the same tensors.
  CHECK(net.parameter("blocks.1.mixer.q_proj.weight").shares_storage_with(
      std::static_pointer_cast<Block>((*net.blocks)[1])->q_proj->weight));
}

TEST_CASE("a tied tensor is listed and counted once but found under each name", "[layers]") {
  Generator gen(1);
  Module m;
  auto a = m.register_module("embed", std::make_shared<Embedding>(5, 3, gen));
  auto head = m.register_module("head", std::make_shared<Module>());
  head->register_parameter("weight", a->weight);
  CHECK(names_of(m) == std::vector<std::string>{"embed.weight"});
  CHECK(m.num_parameters() == 15);
  CHECK(m.parameter("head.weight").shares_storage_with(a->weight));
}

TEST_CASE("Module rejects duplicate and malformed names", "[layers]") {
  Generator gen(1);
  Module m;
  m.register_parameter("weight", Tensor::zeros({2}));
  REQUIRE_THROWS_AS(m.register_parameter("weight", Tensor::zeros({2})), Error);
  REQUIRE_THROWS_WITH(m.register_module("weight", std::make_shared<Linear>(2, 2, gen)),
                      Contains("duplicate name 'weight'"));
  m.register_module("proj", std::make_shared<Linear>(2, 2, gen));
  REQUIRE_THROWS_WITH(m.register_parameter("proj", Tensor::zeros({2})), Contains("duplicate name 'proj'"));
  REQUIRE_THROWS_AS(m.register_parameter("a.b", Tensor::zeros({2})), Error);
  REQUIRE_THROWS_AS(m.register_parameter("", Tensor::zeros({2})), Error);
  REQUIRE_THROWS_AS(m.register_parameter("ids", Tensor::from_indices({1, 2}, {2})), Error);
  CHECK(names_of(m) == std::vector<std::string>{"weight", "proj.weight", "proj.bias"});
}

TEST_CASE("parameter lookup by name names the missing name and close alternatives", "[layers]") {
  Generator gen(1);
  Net net(gen);
  CHECK(net.parameter("pos").shape() == Shape{8, 4});
  CHECK(net.parameter("blocks.0.norm.weight").shares_storage_with(
      std::static_pointer_cast<Block>((*net.blocks)[0])->norm->weight));

  REQUIRE_THROWS_WITH(net.parameter("blocks.1.mixer.q_proj.wieght"),
                      Contains("'blocks.1.mixer.q_proj.wieght'") && Contains("blocks.1.mixer.q_proj.weight"));
  REQUIRE_THROWS_WITH(net.parameter("blocks.2.norm.weight"),
                      Contains("'blocks.2.norm.weight'") && Contains("blocks.1.norm.weight"));
  // A path through a parameter, or far from every name: the count instead.
  REQUIRE_THROWS_WITH(net.parameter("completely_unrelated_name_xyz"),
                      Contains("'completely_unrelated_name_xyz'") && Contains("8 parameters"));
  REQUIRE_THROWS_AS(net.parameter("pos.weight"), Error);
  REQUIRE_THROWS_AS(net.parameter(""), Error);
}

TEST_CASE("train/eval propagate to every submodule", "[layers]") {
  Generator gen(1);
  Net net(gen);
  auto block = std::static_pointer_cast<Block>((*net.blocks)[1]);
  CHECK(net.is_training());
  CHECK(block->q_proj->is_training());
  net.eval();
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(net.embed->is_training());
  CHECK_FALSE(net.blocks->is_training());
  CHECK_FALSE(block->norm->is_training());
  CHECK_FALSE(block->q_proj->is_training());
  // A subtree can be switched on its own.
  block->train();
  CHECK(block->q_proj->is_training());
  CHECK_FALSE(net.is_training());
  CHECK_FALSE(std::static_pointer_cast<Block>((*net.blocks)[0])->q_proj->is_training());
  net.train(true);
  CHECK(std::static_pointer_cast<Block>((*net.blocks)[0])->q_proj->is_training());
}

TEST_CASE("Module::to converts parameters in place", "[layers]") {
  Generator gen(1);
  Linear lin(3, 2, gen);
  const Tensor held = lin.weight;  // as an optimizer would hold it
  const std::vector<double> before = lin.weight.to_vector();
  lin.weight.set_grad(Tensor::ones({2, 3}));

  lin.to(DType::F64);
  CHECK(lin.weight.dtype() == DType::F64);
  CHECK(lin.bias.dtype() == DType::F64);
  CHECK(held.dtype() == DType::F64);
  CHECK(lin.parameter("weight").dtype() == DType::F64);
  CHECK(lin.weight.to_vector() == before);  // f32 -> f64 is exact
  CHECK(lin.weight.requires_grad());
  CHECK_FALSE(lin.weight.grad().defined());  // an f32 gradient would not fit

  Tensor y = lin.forward(Tensor::ones({1, 3}, DType::F64));
  CHECK(y.dtype() == DType::F64);
  REQUIRE_THROWS_WITH(lin.forward(Tensor::ones({1, 3})), Contains("Linear(in=3, out=2") && Contains("f64"));
  REQUIRE_THROWS_AS(lin.to(DType::I64), Error);
}

TEST_CASE("zero_grad clears every parameter's gradient", "[layers]") {
  Generator gen(1);
  MLP mlp(3, 5, gen);
  sum(mlp.forward(Tensor::ones({2, 3}))).backward();
  for (const Tensor& p : mlp.parameters()) CHECK(p.grad().defined());
  mlp.zero_grad();
  for (const Tensor& p : mlp.parameters()) CHECK_FALSE(p.grad().defined());
}

TEST_CASE("Linear forward equals a hand computation", "[layers]") {
  Generator gen(1);
  Linear lin(3, 2, gen);
  CHECK(lin.weight.shape() == Shape{2, 3});
  CHECK(lin.num_parameters() == 8);
  lin.weight.copy_(Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3}));
  lin.bias.copy_(Tensor::from_vector({0.5, -1}, {2}));
  // y = x W^T + b
  Tensor x = Tensor::from_vector({1, 0, -1, 2, 1, 0}, {2, 3});
  Tensor y = lin.forward(x);
  CHECK(y.shape() == Shape{2, 2});
  CHECK(y.to_vector() == std::vector<double>{-1.5, -3, 4.5, 12});

  // Leading dims are flattened and restored.
  Tensor y3 = lin.forward(x.reshape({2, 1, 3}));
  CHECK(y3.shape() == Shape{2, 1, 2});
  CHECK(y3.to_vector() == std::vector<double>{-1.5, -3, 4.5, 12});
  Tensor y1 = lin.forward(Tensor::from_vector({1, 0, -1}, {3}));
  CHECK(y1.shape() == Shape{2});
  CHECK(y1.to_vector() == std::vector<double>{-1.5, -3});

  Linear no_bias(3, 2, gen, false);
  CHECK_FALSE(no_bias.bias.defined());
  CHECK(names_of(no_bias) == std::vector<std::string>{"weight"});
  no_bias.weight.copy_(lin.weight);
  CHECK(no_bias.forward(x).to_vector() == std::vector<double>{-2, -2, 4, 13});
}

TEST_CASE("module forwards reject a wrong input, naming the module and shapes", "[layers]") {
  Generator gen(1);
  Linear lin(3, 2, gen);
  REQUIRE_THROWS_WITH(lin.forward(Tensor::zeros({2, 5})), Contains("Linear(in=3, out=2") && Contains("(2,5)"));
  MLP mlp(4, 8, gen);
  REQUIRE_THROWS_WITH(mlp.forward(Tensor::zeros({2, 3})), Contains("MLP(dim=4, hidden=8") && Contains("(2,3)"));
  SwiGLU swiglu(4, 8, gen);
  REQUIRE_THROWS_WITH(swiglu.forward(Tensor::zeros({3})), Contains("SwiGLU(dim=4, hidden=8)") && Contains("(3)"));
  RMSNorm rms(4);
  REQUIRE_THROWS_WITH(rms.forward(Tensor::zeros({2, 2, 5})), Contains("RMSNorm(dim=4") && Contains("(2,2,5)"));
  LayerNorm ln(4);
  REQUIRE_THROWS_WITH(ln.forward(Tensor::zeros({6})), Contains("LayerNorm(dim=4") && Contains("(6)"));
  Embedding emb(10, 4, gen);
  REQUIRE_THROWS_WITH(emb.forward(Tensor::zeros({2, 3})), Contains("Embedding(num=10, dim=4)") && Contains("i64"));
}

TEST_CASE("Embedding looks up rows", "[layers]") {
  Generator gen(1);
  Embedding emb(5, 3, gen);
  Tensor out = emb.forward(Tensor::from_indices({4, 0, 4}, {1, 3}));
  CHECK(out.shape() == Shape{1, 3, 3});
  const std::vector<double> w = emb.weight.to_vector(), o = out.to_vector();
  for (int j = 0; j < 3; ++j) {
    CHECK(o[0 * 3 + j] == w[4 * 3 + j]);
    CHECK(o[1 * 3 + j] == w[0 * 3 + j]);
    CHECK(o[2 * 3 + j] == w[4 * 3 + j]);
  }
}

TEST_CASE("module gradients match finite differences in F64", "[layers]") {
  Generator gen(3);
  SECTION("Linear") {
    Linear m(3, 4, gen);
    check_module_gradients("Linear", m, {2, 3, 3});
  }
  SECTION("Linear without bias, 1-D input") {
    Linear m(3, 4, gen, false);
    check_module_gradients("Linear no bias", m, {3});
  }
  SECTION("MLP, tanh GELU") {
    MLP m(4, 6, gen, GeluForm::Tanh);
    check_module_gradients("MLP tanh", m, {2, 3, 4});
  }
  SECTION("MLP, erf GELU, no bias") {
    MLP m(4, 6, gen, GeluForm::Erf, false);
    check_module_gradients("MLP erf", m, {3, 4});
  }
  SECTION("SwiGLU") {
    SwiGLU m(4, 6, gen);
    check_module_gradients("SwiGLU", m, {2, 3, 4});
  }
  SECTION("RMSNorm") {
    RMSNorm m(5);
    check_module_gradients("RMSNorm", m, {2, 3, 5});
  }
  SECTION("LayerNorm") {
    LayerNorm m(5);
    check_module_gradients("LayerNorm", m, {2, 3, 5});
  }
  SECTION("LayerNorm without bias") {
    LayerNorm m(5, 1e-5, false);
    check_module_gradients("LayerNorm no bias", m, {4, 5});
  }
  SECTION("Embedding (repeated ids accumulate)") {
    Embedding m(6, 3, gen);
    m.to(DType::F64);
    // The finite-difference check wants every row read at least once.
    Tensor all_ids = Tensor::from_indices({0, 2, 2, 5, 1, 0, 3, 4}, {8});
    mixlab::testing::check_parameter_gradients(m, [&] { return m.forward(all_ids); });
    // With a ones upstream gradient, row r's gradient is its read count.
    Tensor ids = Tensor::from_indices({0, 2, 2, 5, 1, 0}, {2, 3});
    m.zero_grad();
    m.forward(ids).backward(Tensor::ones({2, 3, 3}, DType::F64));
    const std::vector<double> g = m.weight.grad().to_vector();
    const std::vector<double> counts = {2, 1, 2, 0, 0, 1};  // times each row is read
    for (int r = 0; r < 6; ++r)
      for (int j = 0; j < 3; ++j) CHECK(g[r * 3 + j] == counts[r]);
  }
}

TEST_CASE("a model over modules: gradients through a small stack", "[layers]") {
  // norm -> swiglu -> residual add -> linear: checks that composed modules
  // (shared input used twice) back-propagate correctly into every parameter.
  Generator gen(4);
  Module root;
  auto norm = root.register_module("norm", std::make_shared<RMSNorm>(4));
  auto ffn = root.register_module("ffn", std::make_shared<SwiGLU>(4, 5, gen));
  auto head = root.register_module("head", std::make_shared<Linear>(4, 3, gen));
  root.to(DType::F64);
  for (const Tensor& p : root.parameters()) uniform_(p, -1.0, 1.0, gen);
  Tensor x = Tensor::uniform({2, 2, 4}, gen, -1.0, 1.0, DType::F64);
  mixlab::testing::check_parameter_gradients(root, [&] { return head->forward(add(x, ffn->forward(norm->forward(x)))); });
}

TEST_CASE("the same seed gives identical parameters", "[layers]") {
  auto values = [](uint64_t seed) {
    Generator gen(seed);
    SwiGLU m(8, 16, gen);
    std::vector<std::vector<double>> out;
    for (const Tensor& p : m.parameters()) out.push_back(p.to_vector());
    return out;
  };
  const auto a = values(7), b = values(7), c = values(8);
  CHECK(a == b);
  CHECK(a != c);
  // The generator advances between tensors: w1 and w3 (same shape) differ.
  CHECK(a[0] != a[2]);
}

TEST_CASE("default init: N(0, 0.02) weights, zero biases, unit norm weights", "[layers]") {
  Generator gen(11);
  Linear lin(64, 128, gen);
  const std::vector<double> w = lin.weight.to_vector();
  double mean = 0, sq = 0;
  for (double v : w) mean += v / w.size();
  for (double v : w) sq += (v - mean) * (v - mean) / w.size();
  CHECK(std::abs(mean) < 0.002);
  CHECK(std::sqrt(sq) == Approx(0.02).epsilon(0.05));
  for (double v : lin.bias.to_vector()) CHECK(v == 0);
  for (double v : RMSNorm(4).weight.to_vector()) CHECK(v == 1);
  LayerNorm ln(4);
  for (double v : ln.weight.to_vector()) CHECK(v == 1);
  for (double v : ln.bias.to_vector()) CHECK(v == 0);

  // out_std reaches the residual projection only.
  MLP mlp(64, 128, gen, GeluForm::Tanh, true, 0.02, 0.5);
  double sq2 = 0;
  const std::vector<double> w2 = mlp.fc2->weight.to_vector();
  for (double v : w2) sq2 += v * v / w2.size();
  CHECK(std::sqrt(sq2) == Approx(0.5).epsilon(0.05));
}

TEST_CASE("init helpers fill in place", "[layers]") {
  Generator gen(12);
  Tensor t = Tensor::zeros({100, 100}, DType::F64);
  t.requires_grad_();
  normal_(t, 0.5, gen, 1.0);
  CHECK(t.requires_grad());
  CHECK(t.is_leaf());
  const std::vector<double> v = t.to_vector();
  double mean = 0, sq = 0;
  for (double x : v) mean += x / v.size();
  for (double x : v) sq += (x - mean) * (x - mean) / v.size();
  CHECK(mean == Approx(1.0).margin(0.02));
  CHECK(std::sqrt(sq) == Approx(0.5).epsilon(0.03));

  uniform_(t, -0.25, 0.75, gen);
  double lo = 1e9, hi = -1e9;
  for (double x : t.to_vector()) lo = std::min(lo, x), hi = std::max(hi, x);
  CHECK(lo >= -0.25);
  CHECK(hi <= 0.75);
  CHECK(hi - lo > 0.9);  // spans the range

  ones_(t);
  for (double x : t.to_vector()) REQUIRE(x == 1);
  zeros_(t);
  for (double x : t.to_vector()) REQUIRE(x == 0);
}

TEST_CASE("scaled_residual_std is base / sqrt(2 n_layers)", "[layers]") {
  CHECK(scaled_residual_std(0.02, 12) == Approx(0.02 / std::sqrt(24.0)));
  CHECK(scaled_residual_std(1.0, 2) == Approx(0.5));
  REQUIRE_THROWS_AS(scaled_residual_std(0.02, 0), Error);
}
