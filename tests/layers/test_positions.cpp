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
  testing::check_all({{"rope apply", {{2, 3, 4,
      6}}, [](const std::vector<Tensor>& x) { return Rope{}.apply(x[0], 2); }}});
}

TEST_CASE("rope: YaRN's inverse frequencies equal Hugging Face's and the YaRN reference's", "[positions]") {
  // From scripts/peer/yarn_reference.py (HF _compute_yarn_parameters with
  // truncate = True, jquesnelle/yarn: ramp ends floored/ceiled to whole
  // dimension pairs, linear in the pair index between them).
  struct Case {
    int64_t d;
    double base, factor;
    int64_t original_length;
    std::vector<double> theta;
  };
  const std::vector<Case> cases = {
      // d 64, base 10000.0, factor 8.0, original length 2048: low 8, high 21
      {64, 10000.0, 8.0, 2048, {1.0, 0.7498942093324559, 0.5623413251903491, 0.4216965034285822, 0.31622776601683794,
          0.23713737056616552, 0.1778279410038923, 0.1333521432163324, 0.1, 0.06994205606273868, 0.048664153141472516,
          0.033654624792858, 0.02310895213199969, 0.015733152470255213, 0.010601281098308962, 0.007052276804709887,
          0.004615384615384615, 0.0029563137098683355, 0.001838423563122295, 0.0010947889992857424,
          0.0006081303192631497, 0.0002964217132077069, 0.00022228492625486534, 0.0001666901790204155, 0.000125,
          9.373677616655698e-05, 7.029266564879364e-05, 5.271206292857278e-05, 3.952847075210474e-05,
          2.9642171320770692e-05, 2.2228492625486534e-05, 1.666901790204155e-05}},
      // d 8, base 10000.0, factor 4.0, original length 6: low 0, high 0.001
      {8, 10000.0, 4.0, 6, {1.0, 0.025, 0.0025, 0.00025}},
      // d 16, base 500.0, factor 4.0, original length 40: low 0, high 3
      {16, 500.0, 4.0, 40, {1.0, 0.3448974733700777, 0.10573712634405642, 0.024312311811651825, 0.011180339887498949,
          0.005141427971489448, 0.0023643540225079395, 0.0010872796380204908}},
  };
  for (const Case& c : cases) {
    Rope yarn{.base = c.base, .scaling = Rope::Scaling::Yarn, .factor = c.factor, .original_length = c.original_length};
    CHECK(testing::rel_err(c.theta, yarn.frequencies(c.d)) < 1e-14);
    // The paper's continuous ramp is a different function of the dimension.
    yarn.ramp = Rope::Ramp::Continuous;
    CHECK(testing::rel_err(c.theta, yarn.frequencies(c.d)) > 1e-6);
  }
}

TEST_CASE("rope: YaRN keeps high frequencies, interpolates low ones, blends between", "[positions]") {
  // d = 64, base 10000, trained at 2048, extended 8x; both ramps.
  for (Rope::Ramp ramp : {Rope::Ramp::Reference, Rope::Ramp::Continuous}) {
    Rope yarn{.base = 10000.0, .scaling = Rope::Scaling::Yarn, .factor = 8.0, .original_length = 2048, .ramp = ramp};
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
}
