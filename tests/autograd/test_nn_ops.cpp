// Tests for the nn ops: F64 gradient checks, forward values against reference
// loops, F32 against F64, thread-count independence, and argument errors.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "kernels/philox.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using mixlab::testing::GradCase;
using mixlab::testing::rel_err;

namespace {

// Runs `fn` with OpenMP limited to `threads`, restoring the previous limit.
template <typename F>
auto with_threads(int threads, F&& fn) {
  const int previous = omp_get_max_threads();
  omp_set_num_threads(threads);
  auto result = fn();
  omp_set_num_threads(previous);
  return result;
}

Tensor leaf(const Shape& shape, uint64_t seed, DType dtype = DType::F64, double low = -1, double high = 1) {
  Generator gen(seed);
  Tensor t = Tensor::uniform(shape, gen, low, high, dtype);
  t.requires_grad_();
  return t;
}

// A detached F32 copy of an F64 tensor, marked as a leaf.
Tensor as_f32_leaf(const Tensor& t) {
  Tensor out = t.detach().to(DType::F32);
  out.requires_grad_();
  return out;
}

const std::vector<int64_t> kTargets = {0, 4, -100, 2, -100, 1};  // two ignored rows

}  // namespace

TEST_CASE("nn ops: F64 gradient checks", "[ops][nn]") {
  const Tensor targets = Tensor::from_indices(kTargets, Shape{6});
  testing::check_all({
      GradCase{"softmax last axis", {{3, 5}}, [](auto& in) { return softmax(in[0], -1); }},
      GradCase{"softmax middle axis", {{2, 4, 3}}, [](auto& in) { return softmax(in[0], 1); }},
      GradCase{"softmax first axis", {{4, 3}}, [](auto& in) { return softmax(in[0], 0); }},
      GradCase{"log_softmax last axis", {{3, 5}}, [](auto& in) { return log_softmax(in[0]); }},
      GradCase{"log_softmax middle axis", {{2, 4, 3}}, [](auto& in) { return log_softmax(in[0], -2); }},
      GradCase{"cross_entropy with ignored rows", {{6, 5}},
               [targets](auto& in) { return cross_entropy(in[0], targets); }, -2.0, 2.0},
      GradCase{"cross_entropy ignore_index 2", {{6, 5}},
               [](auto& in) {
                 Tensor t = Tensor::from_indices({0, 2, 3, 2, 4, 1}, Shape{6});
                 return cross_entropy(in[0], t, /*ignore_index=*/2);
               }},
      GradCase{"layer_norm affine", {{2, 3, 6}, {6}, {6}},
               [](auto& in) { return layer_norm(in[0], in[1], in[2]); }},
      GradCase{"layer_norm no affine", {{4, 7}}, [](auto& in) { return layer_norm(in[0], Tensor(), Tensor()); }},
      GradCase{"layer_norm weight only", {{4, 5}, {5}},
               [](auto& in) { return layer_norm(in[0], in[1], Tensor(), 1e-3); }},
      GradCase{"rms_norm with weight", {{3, 2, 6}, {6}}, [](auto& in) { return rms_norm(in[0], in[1]); }},
      GradCase{"rms_norm no weight", {{4, 7}}, [](auto& in) { return rms_norm(in[0], Tensor()); }},
      GradCase{"dropout p=0.3", {{5, 8}},
               [](auto& in) {
                 Generator gen(11);  // recreated per call: every evaluation uses the same mask
                 return dropout(in[0], 0.3, gen);
               }},
  });
}

TEST_CASE("softmax: rows sum to 1 and match a reference loop", "[ops][nn]") {
  // Large logits: an implementation that skips the max subtraction overflows.
  Generator gen(3);
  Tensor x = Tensor::uniform({4, 3, 5}, gen, -50, 1000, DType::F64);
  const std::vector<double> xv = x.to_vector();
  const std::vector<double> y = softmax(x, 1).to_vector();
  const std::vector<double> ly = log_softmax(x, 1).to_vector();
  for (int o = 0; o < 4; ++o) {
    for (int j = 0; j < 5; ++j) {
      double mx = -INFINITY, sum = 0, ysum = 0;
      for (int k = 0; k < 3; ++k) mx = std::max(mx, xv[(o * 3 + k) * 5 + j]);
      for (int k = 0; k < 3; ++k) sum += std::exp(xv[(o * 3 + k) * 5 + j] - mx);
      for (int k = 0; k < 3; ++k) {
        const int i = (o * 3 + k) * 5 + j;
        CHECK(y[i] == Approx(std::exp(xv[i] - mx) / sum).margin(1e-15));
        CHECK(ly[i] == Approx(xv[i] - mx - std::log(sum)).margin(1e-12));
        ysum += y[i];
      }
      CHECK(ysum == Approx(1.0).epsilon(1e-14));
    }
  }
}

TEST_CASE("softmax: hand values", "[ops][nn]") {
  Tensor x = Tensor::from_vector({0, std::log(3.0)}, {1, 2}, DType::F64);
  const std::vector<double> y = softmax(x).to_vector();
  CHECK(y[0] == Approx(0.25));
  CHECK(y[1] == Approx(0.75));
}

TEST_CASE("cross_entropy: equals -mean log_softmax at the counted targets", "[ops][nn]") {
  Tensor logits = leaf({6, 5}, 4, DType::F64, -3, 3);
  Tensor targets = Tensor::from_indices(kTargets, Shape{6});
  const double loss = cross_entropy(logits, targets).item();
  const std::vector<double> ls = log_softmax(logits).to_vector();
  double ref = 0;
  int counted = 0;
  for (int i = 0; i < 6; ++i) {
    if (kTargets[i] == -100) continue;
    ref -= ls[i * 5 + kTargets[i]];
    ++counted;
  }
  CHECK(counted == 4);
  CHECK(loss == Approx(ref / counted).epsilon(1e-13));
}

TEST_CASE("cross_entropy: gradient is (softmax - onehot) / count, 0 on ignored rows", "[ops][nn]") {
  Tensor logits = leaf({6, 5}, 5);
  Tensor targets = Tensor::from_indices(kTargets, Shape{6});
  cross_entropy(logits, targets).backward();
  const std::vector<double> g = logits.grad().to_vector();
  const std::vector<double> p = softmax(logits.detach()).to_vector();
  for (int i = 0; i < 6; ++i)
    for (int v = 0; v < 5; ++v) {
      const double want = kTargets[i] == -100 ? 0.0 : (p[i * 5 + v] - (v == kTargets[i] ? 1.0 : 0.0)) / 4.0;
      CHECK(g[i * 5 + v] == Approx(want).margin(1e-15));
    }
}

TEST_CASE("cross_entropy: every row ignored gives 0 and a zero gradient", "[ops][nn]") {
  Tensor logits = leaf({3, 4}, 6);
  Tensor targets = Tensor::from_indices({-100, -100, -100}, Shape{3});
  Tensor loss = cross_entropy(logits, targets);
  CHECK(loss.shape() == Shape{});
  CHECK(loss.item() == 0.0);
  loss.backward();
  for (double v : logits.grad().to_vector()) CHECK(v == 0.0);
}

TEST_CASE("cross_entropy: huge logits stay finite", "[ops][nn]") {
  Tensor logits = Tensor::from_vector({1000, 0, -1000, 1000}, {2, 2}, DType::F32);
  Tensor targets = Tensor::from_indices({1, 0}, Shape{2});
  // Row 0: logsumexp 1000 minus logit 0 = 1000; row 1: logsumexp 1000 minus logit -1000 = 2000.
  CHECK(cross_entropy(logits, targets).item() == Approx(1500.0));
}

TEST_CASE("layer_norm and rms_norm: forward matches a reference loop", "[ops][nn]") {
  const int R = 5, C = 7;
  const double eps = 1e-5;
  Tensor x = leaf({R, C}, 7, DType::F64, -2, 3);
  Tensor w = leaf({C}, 8);
  Tensor b = leaf({C}, 9);
  const std::vector<double> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
  const std::vector<double> ln = layer_norm(x, w, b, eps).to_vector();
  const std::vector<double> ln_plain = layer_norm(x, Tensor(), Tensor(), eps).to_vector();
  const std::vector<double> rn = rms_norm(x, w, eps).to_vector();
  const std::vector<double> rn_plain = rms_norm(x, Tensor(), eps).to_vector();
  for (int r = 0; r < R; ++r) {
    double mean = 0, var = 0, ms = 0;
    for (int c = 0; c < C; ++c) mean += xv[r * C + c] / C;
    for (int c = 0; c < C; ++c) {
      var += (xv[r * C + c] - mean) * (xv[r * C + c] - mean) / C;
      ms += xv[r * C + c] * xv[r * C + c] / C;
    }
    double plain_mean = 0, plain_sq = 0;
    for (int c = 0; c < C; ++c) {
      const int i = r * C + c;
      const double xhat = (xv[i] - mean) / std::sqrt(var + eps);
      const double xrms = xv[i] / std::sqrt(ms + eps);
      CHECK(ln[i] == Approx(xhat * wv[c] + bv[c]).margin(1e-13));
      CHECK(ln_plain[i] == Approx(xhat).margin(1e-13));
      CHECK(rn[i] == Approx(xrms * wv[c]).margin(1e-13));
      CHECK(rn_plain[i] == Approx(xrms).margin(1e-13));
      plain_mean += ln_plain[i] / C;
      plain_sq += ln_plain[i] * ln_plain[i] / C;
    }
    CHECK(plain_mean == Approx(0.0).margin(1e-13));
    CHECK(plain_sq == Approx(var / (var + eps)).epsilon(1e-12));
  }
}

TEST_CASE("layer_norm and rms_norm: parameter gradients do not depend on the thread count", "[ops][nn]") {
  // Large enough to take the parallel paths.
  Tensor x = leaf({700, 96}, 10, DType::F32);
  Tensor w = leaf({96}, 11, DType::F32);
  Tensor b = leaf({96}, 12, DType::F32);
  Tensor g = leaf({700, 96}, 13, DType::F32).detach();
  auto grads = [&] {
    for (Tensor* t : {&x, &w, &b}) t->zero_grad();
    layer_norm(x, w, b).backward(g);
    rms_norm(x, w).backward(g);
    std::vector<std::vector<double>> out;
    for (Tensor* t : {&x, &w, &b}) out.push_back(t->grad().to_vector());
    return out;
  };
  const auto one = with_threads(1, grads);
  const auto two = with_threads(2, grads);
  CHECK(one == two);
}

TEST_CASE("dropout: zero fraction is about p and survivors are scaled by 1/(1-p)", "[ops][nn]") {
  const double p = 0.3;
  const int64_t n = 200000;
  Generator gen(21);
  Tensor x = Tensor::uniform({n}, gen, 1, 2, DType::F64);
  const uint64_t before = gen.offset();
  const std::vector<double> xv = x.to_vector();
  const std::vector<double> y = dropout(x, p, gen).to_vector();
  CHECK(gen.offset() == before + n);  // the mask took n counters
  int64_t zeros = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (y[i] == 0) {
      ++zeros;
    } else {
      REQUIRE(y[i] == Approx(xv[i] / (1 - p)).epsilon(1e-15));
    }
  }
  // Binomial standard deviation here is ~0.001; 0.01 is ten of them.
  CHECK(static_cast<double>(zeros) / n == Approx(p).margin(0.01));
}

TEST_CASE("dropout: the mask follows Philox counters, independent of thread count", "[ops][nn]") {
  const int64_t n = 100000;  // above the kernel's parallel threshold
  Tensor x = Tensor::ones({n}, DType::F32);
  auto run = [&] {
    Generator gen(5);
    return dropout(x, 0.5, gen).to_vector();
  };
  const std::vector<double> one = with_threads(1, run);
  const std::vector<double> two = with_threads(2, run);
  CHECK(one == two);
  // Element i is kept iff philox::uniform(seed, first + i) >= p, first = 0 for a fresh generator.
  for (int64_t i = 0; i < 1000; ++i) CHECK((one[i] != 0) == (philox::uniform(5, i) >= 0.5));
  // Successive calls take new counters, so they draw different masks.
  Generator gen(5);
  const std::vector<double> first = dropout(x, 0.5, gen).to_vector();
  const std::vector<double> second = dropout(x, 0.5, gen).to_vector();
  CHECK(first == one);
  CHECK(first != second);
}

TEST_CASE("dropout: backward applies the forward mask scaled by 1/(1-p)", "[ops][nn]") {
  const double p = 0.25;
  Tensor x = leaf({40, 30}, 22, DType::F64, 1, 2);
  Generator gen(23);
  Tensor y = dropout(x, p, gen);
  y.backward(Tensor::ones(y.shape(), DType::F64));
  const std::vector<double> yv = y.to_vector(), gv = x.grad().to_vector();
  for (size_t i = 0; i < yv.size(); ++i) CHECK(gv[i] == (yv[i] != 0 ? 1.0 / (1 - p) : 0.0));
}

TEST_CASE("dropout: identity in eval mode and at p=0, p=1 zeroes everything", "[ops][nn]") {
  Tensor x = leaf({3, 4}, 24);
  Generator gen(1);
  CHECK(dropout(x, 0.5, gen, /*training=*/false).to_vector() == x.to_vector());
  CHECK(dropout(x, 0.0, gen).to_vector() == x.to_vector());
  CHECK(gen.offset() == 0);  // identity cases draw nothing
  for (double v : dropout(x, 1.0, gen).to_vector()) CHECK(v == 0.0);
}

TEST_CASE("nn ops: F32 matches F64 in forward and backward", "[ops][nn]") {
  const Tensor targets = Tensor::from_indices(kTargets, Shape{6});
  struct Case {
    const char* name;
    std::vector<Shape> shapes;
    std::function<Tensor(const std::vector<Tensor>&)> fn;
  };
  const std::vector<Case> cases = {
      {"softmax", {{4, 6, 5}}, [](auto& in) { return softmax(in[0], 1); }},
      {"log_softmax", {{4, 33}}, [](auto& in) { return log_softmax(in[0]); }},
      {"cross_entropy", {{6, 9}}, [targets](auto& in) { return cross_entropy(in[0], targets); }},
      {"layer_norm", {{8, 24}, {24}, {24}}, [](auto& in) { return layer_norm(in[0], in[1], in[2]); }},
      {"rms_norm", {{8, 24}, {24}}, [](auto& in) { return rms_norm(in[0], in[1]); }},
      {"dropout", {{8, 24}}, [](auto& in) {
         Generator gen(3);
         return dropout(in[0], 0.2, gen);
       }},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::vector<Tensor> in64, in32;
      for (size_t k = 0; k < c.shapes.size(); ++k) {
        in64.push_back(leaf(c.shapes[k], 30 + k));
        in32.push_back(as_f32_leaf(in64.back()));
      }
      Tensor out64 = c.fn(in64), out32 = c.fn(in32);
      REQUIRE(out32.dtype() == DType::F32);
      CHECK(rel_err(out64.to_vector(), out32.to_vector()) < 1e-5);
      Tensor g = leaf(out64.shape(), 40).detach();
      out64.backward(g);
      out32.backward(g.to(DType::F32));
      for (size_t k = 0; k < c.shapes.size(); ++k) {
        INFO("input " << k);
        CHECK(rel_err(in64[k].grad().to_vector(), in32[k].grad().to_vector()) < 1e-5);
      }
    }
  }
}

TEST_CASE("nn ops: bad arguments throw mixlab::Error", "[ops][nn]") {
  Tensor x = Tensor::zeros({8, 5});
  Tensor ids = Tensor::from_indices({0, 1}, Shape{2});
  SECTION("softmax") {
    REQUIRE_THROWS_AS(softmax(x, 2), Error);
    REQUIRE_THROWS_AS(log_softmax(x, -3), Error);
    REQUIRE_THROWS_AS(softmax(ids), Error);
    REQUIRE_THROWS_AS(softmax(Tensor::scalar(1.0)), Error);
    REQUIRE_THROWS_AS(softmax(Tensor()), Error);
  }
  SECTION("cross_entropy") {
    REQUIRE_THROWS_AS(cross_entropy(x, Tensor::from_indices(std::vector<int64_t>(7, 0), Shape{7})), Error);
    REQUIRE_THROWS_WITH(cross_entropy(x, Tensor::from_indices(std::vector<int64_t>(7, 0), Shape{7})),
                        Catch::Contains("targets (7)") && Catch::Contains("(8,5)"));
    std::vector<int64_t> t(8, 1);
    t[3] = 5;
    REQUIRE_THROWS_WITH(cross_entropy(x, Tensor::from_indices(t, Shape{8})),
                        Catch::Contains("target 5 at row 3") && Catch::Contains("[0, 5)"));
    t[3] = -1;
    REQUIRE_THROWS_AS(cross_entropy(x, Tensor::from_indices(t, Shape{8})), Error);
    REQUIRE_NOTHROW(cross_entropy(x, Tensor::from_indices(t, Shape{8}), /*ignore_index=*/-1));
    REQUIRE_THROWS_AS(cross_entropy(x, Tensor::zeros({8})), Error);                      // f32 targets
    REQUIRE_THROWS_AS(cross_entropy(Tensor::zeros({2, 4, 5}), ids), Error);              // 3-d logits
    REQUIRE_THROWS_AS(cross_entropy(x, Tensor::from_indices(t, Shape{2, 4})), Error);    // 2-d targets
  }
  SECTION("layer_norm and rms_norm") {
    REQUIRE_THROWS_AS(layer_norm(x, Tensor::ones({4}), Tensor()), Error);
    REQUIRE_THROWS_WITH(layer_norm(x, Tensor(), Tensor::ones({5, 1})), Catch::Contains("bias (5,1)"));
    REQUIRE_THROWS_AS(layer_norm(x, Tensor::ones({5}, DType::F64), Tensor()), Error);
    REQUIRE_THROWS_AS(layer_norm(x, Tensor(), Tensor(), -1.0), Error);
    REQUIRE_THROWS_AS(layer_norm(Tensor::zeros({3, 0}), Tensor(), Tensor()), Error);
    REQUIRE_THROWS_AS(rms_norm(x, Tensor::ones({6})), Error);
    REQUIRE_THROWS_AS(rms_norm(Tensor::from_indices({1, 2}, Shape{2}), Tensor()), Error);
  }
  SECTION("dropout") {
    Generator gen(1);
    REQUIRE_THROWS_AS(dropout(x, 1.5, gen), Error);
    REQUIRE_THROWS_AS(dropout(x, -0.1, gen), Error);
    REQUIRE_THROWS_AS(dropout(x, NAN, gen), Error);
    REQUIRE_THROWS_AS(dropout(ids, 0.5, gen), Error);
  }
}
