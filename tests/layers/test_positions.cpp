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
  Rope ntk{10000.0, 4.0};
  CHECK(ntk.effective_base(8) == Approx(10000.0 * std::pow(4.0, 8.0 / 6.0)));
  testing::check_all({{"rope apply", {{2, 3, 4, 6}}, [](const std::vector<Tensor>& x) { return Rope{}.apply(x[0], 2); }}});
}
