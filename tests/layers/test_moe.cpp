#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/ops.h"
#include "layers/feedforward.h"
#include "layers/init.h"
#include "layers/moe.h"
#include "tests/autograd/gradcheck.h"
#include "tests/cuda_test_util.h"
#include "tests/layers/param_gradcheck.h"

using namespace mixlab;

namespace {

constexpr int64_t kDim = 6, kHidden = 5;

std::shared_ptr<MoE> make_moe(MoEOptions o, DType dtype = DType::F64) {
  Generator gen(4);
  auto m = std::make_shared<MoE>(kDim, kHidden, o, gen, 0.02, 0.02);
  m->to(dtype);
  Generator init(9);
  for (const Tensor& p : m->parameters()) uniform_(p, -0.6, 0.6, init);
  return m;
}

std::vector<double> row(const Tensor& w, int64_t r) {
  const std::vector<double> v = w.to_vector();
  return {v.begin() + r * w.size(1), v.begin() + (r + 1) * w.size(1)};
}

double dot(const std::vector<double>& a, const double* b) { return std::inner_product(a.begin(), a.end(), b, 0.0); }

// The dropless MoE written as loops: router softmax, top-k, gates
// renormalised over the chosen, SwiGLU experts w2(silu(w1 x) * w3 x).
std::vector<double> reference(const MoE& m, const Tensor& x) {
  const int64_t N = x.numel() / kDim, E = m.options.n_experts, K = m.options.top_k;
  const std::vector<double> xs = x.to_vector();
  std::vector<double> out(N * kDim, 0.0);
  for (int64_t n = 0; n < N; ++n) {
    const double* xn = &xs[n * kDim];
    std::vector<double> logit(E), p(E);
    for (int64_t e = 0; e < E; ++e) logit[e] = dot(row(m.router->weight, e), xn);
    const double top = *std::max_element(logit.begin(), logit.end());
    double z = 0;
    for (int64_t e = 0; e < E; ++e) z += p[e] = std::exp(logit[e] - top);
    for (double& v : p) v /= z;
    std::vector<int64_t> idx(E);
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return p[a] > p[b]; });
    double chosen = 0;
    for (int64_t s = 0; s < K; ++s) chosen += p[idx[s]];
    for (int64_t s = 0; s < K; ++s) {
      const auto& ex = static_cast<const SwiGLU&>(*(*m.experts)[idx[s]]);
      std::vector<double> h(kHidden);
      for (int64_t j = 0; j < kHidden; ++j) {
        const double a = dot(row(ex.w1->weight, j), xn), b = dot(row(ex.w3->weight, j), xn);
        h[j] = a / (1 + std::exp(-a)) * b;
      }
      for (int64_t c = 0; c < kDim; ++c) out[n * kDim + c] += p[idx[s]] / chosen * dot(row(ex.w2->weight, c), h.data());
    }
  }
  return out;
}

}  // namespace

TEST_CASE("moe: dropless forward equals the plain-loop reference", "[moe]") {
  for (int64_t k : {1, 2, 3}) {
    INFO("top_k " << k);
    auto m = make_moe({.n_experts = 4, .top_k = k});
    Generator gen(1);
    const Tensor x = Tensor::randn({2, 5, kDim}, gen, DType::F64);
    NoGradGuard no_grad;
    m->eval();
    CHECK(testing::rel_err(reference(*m, x), m->forward(x).to_vector()) < 1e-12);
    m->train();  // training without a capacity is dropless too
    CHECK(testing::rel_err(reference(*m, x), m->forward(x).to_vector()) < 1e-12);
  }
}

TEST_CASE("moe: F64 gradients of output and auxiliary losses", "[moe][grad]") {
  auto m = make_moe({.n_experts = 3, .top_k = 2, .balance_loss_weight = 0.5, .z_loss_weight = 0.1});
  Generator gen(2);
  const Tensor x = Tensor::randn({2, 6, kDim}, gen, DType::F64);
  // The auxiliary losses are part of what training differentiates.
  auto objective = [&](const Tensor& in) {
    const Tensor y = m->forward(in);  // sets the auxiliary loss read next
    return add(y, m->auxiliary_loss());
  };
  testing::check_gradients({"moe input", {{2, 6, kDim}}, [&](const std::vector<Tensor>& in) { return objective(in[0]); }});
  testing::check_parameter_gradients(*m, [&] { return objective(x); });
}

TEST_CASE("moe: auxiliary losses follow Switch and ST-MoE", "[moe]") {
  auto m = make_moe({.n_experts = 4, .top_k = 2, .balance_loss_weight = 1.0, .z_loss_weight = 0.0});
  Generator gen(3);
  const Tensor x = Tensor::randn({1, 8, kDim}, gen, DType::F64);
  NoGradGuard no_grad;
  m->forward(x);
  const double balance = m->auxiliary_loss().item();
  const ExpertLoad load = m->take_load();
  // By hand: f_e from the routed counts, P_e the mean router probability.
  const Tensor probs = softmax(m->router->forward(x.reshape({8, kDim})), -1);
  const std::vector<double> P = mean(probs, 0).to_vector();
  double expected = 0;
  for (int e = 0; e < 4; ++e) expected += 4.0 * static_cast<double>(load.assignments[e]) / 16.0 * P[e];
  CHECK(balance == Approx(expected).epsilon(1e-12));
  CHECK(load.routed == 16);
  CHECK(std::accumulate(load.assignments.begin(), load.assignments.end(), int64_t{0}) == 16);
  CHECK(load.balance_loss == Approx(balance));
  // Perfectly balanced routing with uniform probabilities gives exactly 1.
  auto z_only = make_moe({.n_experts = 4, .top_k = 2, .balance_loss_weight = 0.0, .z_loss_weight = 1.0});
  z_only->forward(x);
  const Tensor logits = z_only->router->forward(x.reshape({8, kDim}));
  const std::vector<double> lv = logits.to_vector();
  double z = 0;
  for (int n = 0; n < 8; ++n) {
    double s = 0;
    for (int e = 0; e < 4; ++e) s += std::exp(lv[n * 4 + e]);
    z += std::log(s) * std::log(s) / 8.0;
  }
  CHECK(z_only->auxiliary_loss().item() == Approx(z).epsilon(1e-12));
}

TEST_CASE("moe: capacity drops the overflow in training only, first choices first", "[moe]") {
  auto m = make_moe({.n_experts = 2, .top_k = 1, .capacity_factor = 0.5});
  Generator gen(5);
  const Tensor x = Tensor::randn({1, 12, kDim}, gen, DType::F64);
  NoGradGuard no_grad;
  m->train();
  const std::vector<double> y = m->forward(x).to_vector();
  const ExpertLoad load = m->take_load();
  // capacity = ceil(0.5 · 12 · 1 / 2) = 3 tokens per expert.
  int64_t expected_dropped = 0;
  for (int64_t a : load.assignments) expected_dropped += std::max<int64_t>(0, a - 3);
  CHECK(load.dropped == expected_dropped);
  CHECK(load.dropped > 0);
  // Exactly the dropped tokens (top-1: all their assignments) come out zero,
  // and they are the later tokens of each overflowing expert.
  int64_t zero_rows = 0;
  for (int64_t n = 0; n < 12; ++n) {
    bool zero = true;
    for (int64_t c = 0; c < kDim; ++c) zero = zero && y[n * kDim + c] == 0.0;
    zero_rows += zero;
  }
  CHECK(zero_rows == load.dropped);
  for (int64_t c = 0; c < kDim; ++c) CHECK(y[c] != 0.0);  // the first token always fits
  m->eval();
  CHECK(testing::rel_err(reference(*m, x), m->forward(x).to_vector()) < 1e-12);  // eval is dropless
  CHECK(m->take_load().dropped == 0);
}

TEST_CASE("moe: on a GPU (routing by Thrust sorts) it equals the CPU, with capacity and dropless", "[moe][cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  for (const MoEOptions& o : {MoEOptions{.n_experts = 4, .top_k = 2, .capacity_factor = 0.6},
                             MoEOptions{.n_experts = 8, .top_k = 3, .capacity_factor = 0.0, .z_loss_weight = 0.1}}) {
    INFO("E " << o.n_experts << " k " << o.top_k << " capacity factor " << o.capacity_factor);
    auto cpu = make_moe(o), gpu = make_moe(o);
    gpu->to(Device::cuda());
    Generator gen(12);
    const Tensor x = Tensor::randn({3, 41, kDim}, gen, DType::F64), up = Tensor::randn({3, 41, kDim}, gen, DType::F64);
    for (bool training : {true, false}) {
      INFO((training ? "training" : "eval"));
      cpu->train(training);
      gpu->train(training);
      for (const Tensor& p : cpu->parameters()) p.zero_grad();
      for (const Tensor& p : gpu->parameters()) p.zero_grad();
      Tensor cx = x.detach().requires_grad_(true), gx = x.to(Device::cuda()).requires_grad_(true);
      Tensor cy = cpu->forward(cx), gy = gpu->forward(gx);
      CHECK(test::relative_difference(gy, cy) < 1e-12);
      const ExpertLoad a = cpu->take_load(), b = gpu->take_load();
      CHECK(b.assignments == a.assignments);
      CHECK(b.dropped == a.dropped);
      if (!training) continue;
      CHECK((a.dropped > 0) == (o.capacity_factor > 0));
      Tensor closs = add(sum(mul(cy, up)), cpu->auxiliary_loss());
      Tensor gloss = add(sum(mul(gy, up.to(Device::cuda()))), gpu->auxiliary_loss());
      closs.backward();
      gloss.backward();
      CHECK(test::relative_difference(gx.grad(), cx.grad()) < 1e-12);
      const auto cp = cpu->named_parameters(), gp = gpu->named_parameters();
      for (size_t i = 0; i < cp.size(); ++i) {
        INFO(cp[i].first);
        CHECK(test::relative_difference(gp[i].second.grad(), cp[i].second.grad()) < 1e-12);
      }
    }
  }
}

TEST_CASE("moe: bad options name the key", "[moe]") {
  CHECK_THROWS_WITH(make_moe({.n_experts = 2, .top_k = 3}), Catch::Contains("moe.top_k"));
  CHECK_THROWS_WITH(make_moe({.expert = "relu"}), Catch::Contains("moe.expert") && Catch::Contains("swiglu, mlp"));
  CHECK_THROWS_WITH(make_moe({.capacity_factor = -1}), Catch::Contains("moe.capacity_factor"));
}
