// Tests for the sequence-axis ops (cumsum, causal_conv1d): F64 gradient checks,
// forward values against direct loops, F32 against F64, thread-count
// independence, and argument errors.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using mixlab::testing::GradCase;
using mixlab::testing::rel_err;

namespace {

Tensor leaf(const Shape& shape, uint64_t seed, DType dtype = DType::F64) {
  Generator gen(seed);
  Tensor t = Tensor::uniform(shape, gen, -1, 1, dtype);
  t.requires_grad_();
  return t;
}

// out[b,t,c] = bias[c] + sum_j w[c,j] * x[b,t-K+1+j,c], written as directly as possible.
std::vector<double> conv_reference(const std::vector<double>& x, const std::vector<double>& w,
                                   const std::vector<double>* bias, int B, int T, int C, int K) {
  std::vector<double> out(static_cast<size_t>(B) * T * C);
  for (int b = 0; b < B; ++b)
    for (int t = 0; t < T; ++t)
      for (int c = 0; c < C; ++c) {
        double acc = bias ? (*bias)[c] : 0.0;
        for (int j = 0; j < K; ++j) {
          const int s = t - K + 1 + j;
          if (s >= 0) acc += w[c * K + j] * x[(b * T + s) * C + c];
        }
        out[(b * T + t) * C + c] = acc;
      }
  return out;
}

}  // namespace

TEST_CASE("scan ops: F64 gradient checks", "[ops][scan]") {
  std::vector<GradCase> cases;
  for (int axis : {0, 1, 2, -1})
    for (bool reverse : {false, true})
      cases.push_back(GradCase{"cumsum axis " + std::to_string(axis) + (reverse ? " reverse" : ""),
                               {{2, 3, 4}},
                               [axis, reverse](auto& in) { return cumsum(in[0], axis, reverse); }});
  cases.push_back(GradCase{"cumsum 1-d", {{7}}, [](auto& in) { return cumsum(in[0], 0); }});
  for (int K : {1, 3, 4}) {
    cases.push_back(GradCase{"causal_conv1d K=" + std::to_string(K) + " bias",
                             {{2, 5, 3}, {3, K}, {3}},
                             [](auto& in) { return causal_conv1d(in[0], in[1], in[2]); }});
    cases.push_back(GradCase{"causal_conv1d K=" + std::to_string(K) + " no bias",
                             {{2, 5, 3}, {3, K}},
                             [](auto& in) { return causal_conv1d(in[0], in[1], Tensor()); }});
  }
  // More taps than time steps: most taps only ever see the zero padding.
  cases.push_back(GradCase{"causal_conv1d K > T", {{2, 3, 2}, {2, 4}, {2}},
                           [](auto& in) { return causal_conv1d(in[0], in[1], in[2]); }});
  // Enough channels and taps for several column blocks and tap chunks in the kernel.
  cases.push_back(GradCase{"causal_conv1d C=20 K=10", {{1, 12, 20}, {20, 10}, {20}},
                           [](auto& in) { return causal_conv1d(in[0], in[1], in[2]); }});
  testing::check_all(cases);
}

TEST_CASE("cumsum: matches a direct loop in both directions", "[ops][scan]") {
  const int A = 3, N = 5, I = 19;  // I > one column block of the kernel
  Tensor x = leaf({A, N, I}, 2);
  const std::vector<double> xv = x.to_vector();
  const std::vector<double> fwd = cumsum(x, 1).to_vector();
  const std::vector<double> rev = cumsum(x, 1, /*reverse=*/true).to_vector();
  for (int a = 0; a < A; ++a)
    for (int i = 0; i < I; ++i) {
      double run = 0;
      for (int k = 0; k < N; ++k) {
        run += xv[(a * N + k) * I + i];
        CHECK(fwd[(a * N + k) * I + i] == Approx(run).margin(1e-14));
      }
      run = 0;
      for (int k = N - 1; k >= 0; --k) {
        run += xv[(a * N + k) * I + i];
        CHECK(rev[(a * N + k) * I + i] == Approx(run).margin(1e-14));
      }
    }
}

TEST_CASE("cumsum: hand values", "[ops][scan]") {
  Tensor x = Tensor::from_vector({1, 2, 3, 4}, {4}, DType::F32);
  CHECK(cumsum(x, 0).to_vector() == std::vector<double>{1, 3, 6, 10});
  CHECK(cumsum(x, -1, true).to_vector() == std::vector<double>{10, 9, 7, 4});
}

TEST_CASE("causal_conv1d: matches a direct loop", "[ops][scan]") {
  const int B = 2, T = 9, C = 18;
  for (int K : {1, 2, 4, 11}) {
    INFO("K = " << K);
    Tensor x = leaf({B, T, C}, 3), w = leaf({C, K}, 4), b = leaf({C}, 5);
    const std::vector<double> xv = x.to_vector(), wv = w.to_vector(), bv = b.to_vector();
    CHECK(rel_err(conv_reference(xv, wv, &bv, B, T, C, K), causal_conv1d(x, w, b).to_vector()) < 1e-15);
    CHECK(rel_err(conv_reference(xv, wv, nullptr, B, T, C, K), causal_conv1d(x, w, Tensor()).to_vector()) < 1e-15);
  }
}

TEST_CASE("causal_conv1d: causality, changing x at t leaves earlier outputs alone", "[ops][scan]") {
  const int B = 1, T = 6, C = 3, K = 3;
  Tensor x = leaf({B, T, C}, 6), w = leaf({C, K}, 7);
  std::vector<double> xv = x.to_vector();
  const std::vector<double> before = causal_conv1d(x, w, Tensor()).to_vector();
  xv[4 * C + 1] += 1.0;  // t = 4, c = 1
  const std::vector<double> after =
      causal_conv1d(Tensor::from_vector(xv, {B, T, C}, DType::F64), w, Tensor()).to_vector();
  for (int t = 0; t < T; ++t)
    for (int c = 0; c < C; ++c) {
      const bool reached = c == 1 && t >= 4 && t < 4 + K;
      CHECK((before[t * C + c] != after[t * C + c]) == reached);
    }
}

TEST_CASE("scan ops: gradients do not depend on the thread count", "[ops][scan]") {
  // Large enough for the kernels' parallel paths.
  Tensor x = leaf({4, 300, 40}, 8, DType::F32), w = leaf({40, 4}, 9, DType::F32), b = leaf({40}, 10, DType::F32);
  Tensor g = leaf({4, 300, 40}, 11, DType::F32).detach();
  auto grads = [&] {
    for (Tensor* t : {&x, &w, &b}) t->zero_grad();
    causal_conv1d(x, w, b).backward(g);
    cumsum(x, 1).backward(g);
    std::vector<std::vector<double>> out;
    for (Tensor* t : {&x, &w, &b}) out.push_back(t->grad().to_vector());
    return out;
  };
  const int previous = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = grads();
  omp_set_num_threads(2);
  const auto two = grads();
  omp_set_num_threads(previous);
  CHECK(one == two);
}

TEST_CASE("scan ops: F32 matches F64 in forward and backward", "[ops][scan]") {
  const int B = 3, T = 64, C = 24, K = 4;
  std::vector<Tensor> in64 = {leaf({B, T, C}, 12), leaf({C, K}, 13), leaf({C}, 14)};
  std::vector<Tensor> in32;
  for (const Tensor& t : in64) {
    in32.push_back(t.detach().to(DType::F32));
    in32.back().requires_grad_();
  }
  auto fn = [](const std::vector<Tensor>& in) {
    return cumsum(causal_conv1d(in[0], in[1], in[2]), 1, /*reverse=*/true);
  };
  Tensor out64 = fn(in64), out32 = fn(in32);
  REQUIRE(out32.dtype() == DType::F32);
  CHECK(rel_err(out64.to_vector(), out32.to_vector()) < 1e-5);
  Tensor g = leaf(out64.shape(), 15).detach();
  out64.backward(g);
  out32.backward(g.to(DType::F32));
  for (size_t k = 0; k < in64.size(); ++k) {
    INFO("input " << k);
    CHECK(rel_err(in64[k].grad().to_vector(), in32[k].grad().to_vector()) < 1e-5);
  }
}

TEST_CASE("scan ops: bad arguments throw mixlab::Error", "[ops][scan]") {
  Tensor x = Tensor::zeros({2, 5, 3});
  SECTION("cumsum") {
    REQUIRE_THROWS_AS(cumsum(x, 3), Error);
    REQUIRE_THROWS_AS(cumsum(x, -4), Error);
    REQUIRE_THROWS_AS(cumsum(Tensor::scalar(1.0), 0), Error);
    REQUIRE_THROWS_AS(cumsum(Tensor::from_indices({1, 2}, Shape{2}), 0), Error);
  }
  SECTION("causal_conv1d") {
    Tensor w = Tensor::zeros({3, 2});
    REQUIRE_NOTHROW(causal_conv1d(x, w, Tensor::zeros({3})));
    REQUIRE_THROWS_AS(causal_conv1d(Tensor::zeros({5, 3}), w, Tensor()), Error);       // x not (B,T,C)
    REQUIRE_THROWS_WITH(causal_conv1d(x, Tensor::zeros({4, 2}), Tensor()),            // channel mismatch
                        Catch::Contains("weight (4,2)") && Catch::Contains("C = 3"));
    REQUIRE_THROWS_AS(causal_conv1d(x, Tensor::zeros({3, 0}), Tensor()), Error);      // no taps
    REQUIRE_THROWS_AS(causal_conv1d(x, Tensor::zeros({3}), Tensor()), Error);         // 1-d weight
    REQUIRE_THROWS_AS(causal_conv1d(x, w, Tensor::zeros({4})), Error);                // bias shape
    REQUIRE_THROWS_AS(causal_conv1d(x, w, Tensor::zeros({3}, DType::F64)), Error);    // bias dtype
    REQUIRE_THROWS_AS(causal_conv1d(x, Tensor(), Tensor()), Error);                   // no weight
  }
}
