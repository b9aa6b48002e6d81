#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/positions.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;

TEST_CASE("alibi: slopes follow the paper for powers of two and others", "[positions]") {
  const std::vector<double> eight = alibi_slopes(8);
  for (int h = 0; h < 8; ++h) CHECK(eight[h] == Approx(std::pow(2.0, -(h + 1))));
  // 6 heads: the 4-head slopes, then every other slope of 8 heads.
  CHECK(alibi_slopes(6) == std::vector<double>{0.25, 0.0625, 0.015625, 0.00390625, 0.5, 0.125});
  Tensor b = alibi_bias({0.5}, 2, 3, 5, 3, DType::F64);  // queries at 5, 6; keys at 3, 4, 5
  CHECK(b.to_vector() == std::vector<double>{-1.0, -0.5, 0.0, -1.5, -1.0, -0.5});
}

TEST_CASE("rope: rotations keep norms and make scores depend on relative position", "[positions]") {
  Rope rope;
  Generator gen(1);
  Tensor q = Tensor::randn({1, 1, 1, 8}, gen, DType::F64), k = Tensor::randn({1, 1, 1, 8}, gen, DType::F64);
  auto score = [&](int64_t m, int64_t n) { return sum(mul(rope.apply(q, m), rope.apply(k, n))).item(); };
  CHECK(score(3, 1) == Approx(score(10, 8)).epsilon(1e-12));
  CHECK(score(7, 7) == Approx(sum(mul(q, k)).item()).epsilon(1e-12));
  CHECK(sum(square(rope.apply(q, 5))).item() == Approx(sum(square(q)).item()).epsilon(1e-12));
  // Position 0 is the identity; dimension i pairs with i + d/2.
  CHECK(rope.apply(q, 0).to_vector() == q.to_vector());
  Rope ntk = Rope::ntk(10000.0, 4.0);
  CHECK(ntk.effective_base(8) == Approx(10000.0 * std::pow(4.0, 8.0 / 6.0)));
  testing::check_all({{"rope apply", {{2, 3, 4, 6}}, [](const std::vector<Tensor>& x) { return Rope{}.apply(x[0], 2); }}});
}

TEST_CASE("rope: YaRN keeps high frequencies, interpolates low ones, blends between", "[positions]") {
  // d = 64, base 10000, trained at 2048, extended 8x.
  Rope yarn{.base = 10000.0, .scaling = Rope::Scaling::Yarn, .factor = 8.0, .original_length = 2048};
  const std::vector<double> theta = yarn.frequencies(64), plain = Rope{}.frequencies(64);
  int extrapolated = 0, interpolated = 0, blended = 0;
  for (size_t i = 0; i < theta.size(); ++i) {
    const double rotations = 2048 * plain[i] / (2 * M_PI);
    if (rotations > 32) {
      CHECK(theta[i] == plain[i]);  // many rotations: positions already seen, keep
      ++extrapolated;
    } else if (rotations < 1) {
      CHECK(theta[i] == Approx(plain[i] / 8).epsilon(1e-14));  // under one rotation: interpolate
      ++interpolated;
    } else {
      CHECK(theta[i] < plain[i]);
      CHECK(theta[i] > plain[i] / 8);
      ++blended;
    }
  }
  CHECK(extrapolated > 0);
  CHECK(interpolated > 0);
  CHECK(blended > 0);
  // Scores scale by mscale² = (0.1 ln 8 + 1)²: q·k at equal positions.
  Generator gen(2);
  Tensor q = Tensor::randn({1, 1, 1, 64}, gen, DType::F64), k = Tensor::randn({1, 1, 1, 64}, gen, DType::F64);
  const double mscale = 0.1 * std::log(8.0) + 1.0;
  CHECK(sum(mul(yarn.apply(q, 9), yarn.apply(k, 9))).item() ==
        Approx(mscale * mscale * sum(mul(q, k)).item()).epsilon(1e-12));
}
