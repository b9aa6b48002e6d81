// Tests for the long convolution op (autograd/ops/long_conv.h): F64
// gradient checks of both algorithms, forward values against a direct loop
// over the definition, FFT = direct in F32, thread-count independence, the
// choice Auto makes, and argument errors.
#include <omp.h>

#include <catch2/catch.hpp>
#include <array>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "autograd/ops/long_conv.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using mixlab::testing::GradCase;
using mixlab::testing::rel_err;

namespace {

Tensor uniform(const Shape& shape, uint64_t seed, DType dtype = DType::F64) {
  Generator gen(seed);
  return Tensor::uniform(shape, gen, -1, 1, dtype);
}

const char* label(LongConvAlgorithm a) { return a == LongConvAlgorithm::Fft ? "fft" : "direct"; }

// y[b,t,c] = sum_{s <= min(t, K-1)} h[c,s] x[b,t-s,c], written out.
std::vector<double> by_definition(const std::vector<double>& x, const std::vector<double>& h, int64_t B, int64_t T,
                                  int64_t C, int64_t K) {
  std::vector<double> y(B * T * C, 0.0);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t t = 0; t < T; ++t)
      for (int64_t c = 0; c < C; ++c)
        for (int64_t s = 0; s <= t && s < K; ++s) y[(b * T + t) * C + c] += h[c * K + s] * x[(b * T + t - s) * C + c];
  return y;
}

}  // namespace

TEST_CASE("long_conv: F64 gradients of both algorithms", "[ops][long_conv]") {
  std::vector<GradCase> cases;
  for (LongConvAlgorithm a : {LongConvAlgorithm::Fft, LongConvAlgorithm::Direct}) {
    const std::string n = label(a);
    auto conv = [a](auto& in) { return long_conv(in[0], in[1], a); };
    cases.push_back(GradCase{n + " K = T", {{2, 7, 3}, {3, 7}}, conv});
    cases.push_back(GradCase{n + " K < T", {{2, 9, 4}, {4, 3}}, conv});
    // Taps at and past T never reach an output: their gradient is zero.
    cases.push_back(GradCase{n + " K > T", {{2, 5, 2}, {2, 11}}, conv});
    cases.push_back(GradCase{n + " T = 1", {{3, 1, 2}, {2, 4}}, conv});
    // T + K - 1 just past a power of two, so the padding boundary is exercised.
    cases.push_back(GradCase{n + " T=17 K=16", {{1, 17, 2}, {2, 16}}, conv});
  }
  testing::check_all(cases);
}

TEST_CASE("long_conv: both algorithms equal the definition", "[ops][long_conv]") {
  for (auto [B, T, C, K] : std::vector<std::array<int64_t, 4>>{{2, 13, 5, 13}, {1, 40, 3, 7}, {3, 6, 2, 20}}) {
    const Tensor x = uniform({B, T, C}, 1), h = uniform({C, K}, 2);
    const std::vector<double> ref = by_definition(x.to_vector(), h.to_vector(), B, T, C, K);
    for (LongConvAlgorithm a : {LongConvAlgorithm::Fft, LongConvAlgorithm::Direct, LongConvAlgorithm::Auto}) {
      INFO("B=" << B << " T=" << T << " C=" << C << " K=" << K << " " << static_cast<int>(a));
      CHECK(rel_err(ref, long_conv(x, h, a).to_vector()) < 1e-13);
    }
  }
}

TEST_CASE("long_conv: F32 FFT equals the direct path, forward and backward", "[ops][long_conv]") {
  const int64_t B = 2, T = 300, C = 6, K = 300;
  Tensor y[2], gx[2], gh[2];
  int i = 0;
  for (LongConvAlgorithm a : {LongConvAlgorithm::Fft, LongConvAlgorithm::Direct}) {
    Tensor x = uniform({B, T, C}, 5, DType::F32), h = uniform({C, K}, 6, DType::F32) * 0.05;
    x.requires_grad_();
    h = h.detach();
    h.requires_grad_();
    y[i] = long_conv(x, h, a);
    sum(mul(y[i], uniform({B, T, C}, 7, DType::F32))).backward();
    gx[i] = x.grad();
    gh[i] = h.grad();
    ++i;
  }
  CHECK(rel_err(y[1].to_vector(), y[0].to_vector()) < 1e-5);
  CHECK(rel_err(gx[1].to_vector(), gx[0].to_vector()) < 1e-5);
  CHECK(rel_err(gh[1].to_vector(), gh[0].to_vector()) < 1e-5);
}

TEST_CASE("long_conv: results do not depend on the thread count", "[ops][long_conv]") {
  const Tensor x = uniform({4, 64, 16}, 8, DType::F32), h = uniform({16, 64}, 9, DType::F32);
  const Tensor g = uniform({4, 64, 16}, 10, DType::F32);
  std::vector<std::vector<double>> runs;
  const int before = omp_get_max_threads();
  for (int threads : {1, 2, 3}) {
    omp_set_num_threads(threads);
    Tensor xl = x.clone(), hl = h.clone();
    xl.requires_grad_();
    hl.requires_grad_();
    Tensor y = long_conv(xl, hl, LongConvAlgorithm::Fft);
    sum(mul(y, g)).backward();
    std::vector<double> all = y.to_vector(), dh = hl.grad().to_vector(), dx = xl.grad().to_vector();
    all.insert(all.end(), dh.begin(), dh.end());
    all.insert(all.end(), dx.begin(), dx.end());
    runs.push_back(all);
  }
  omp_set_num_threads(before);
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] == runs[2]);
}

TEST_CASE("long_conv: bad shapes name the op and the shapes", "[ops][long_conv]") {
  const Tensor x = uniform({2, 5, 3}, 1);
  CHECK_THROWS_WITH(long_conv(x, uniform({4, 5}, 2)), Catch::Contains("long_conv: filter (4,5) must be (C, K)"));
  CHECK_THROWS_WITH(long_conv(uniform({5, 3}, 1), uniform({3, 5}, 2)), Catch::Contains("must be (B, T, C)"));
}
