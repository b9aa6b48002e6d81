// The finite-difference core both gradient checks share
// (tests/autograd/finite_difference.h): the differences themselves, and a
// tolerance rule that rejects a wrong gradient.
#include <catch2/catch.hpp>
#include <cmath>

#include "tests/autograd/finite_difference.h"

using namespace mixlab::testing;

namespace {

// f(x) = Σ x_i³ + x_0·x_1, whose gradient is 3x_i² (+ the cross terms).
double cubic(const std::vector<double>& x) {
  double s = x[0] * x[1];
  for (double v : x) s += v * v * v;
  return s;
}

std::vector<double> cubic_gradient(const std::vector<double>& x) {
  std::vector<double> g(x.size());
  for (size_t i = 0; i < x.size(); ++i) g[i] = 3 * x[i] * x[i];
  g[0] += x[1];
  g[1] += x[0];
  return g;
}

}  // namespace

TEST_CASE("finite differences: central differences of a known function", "[autograd][gradcheck]") {
  const std::vector<double> x = {0.3, -1.2, 0.7, 2.0};
  const std::vector<double> numeric = central_differences(x, cubic);
  const std::vector<double> exact = cubic_gradient(x);
  REQUIRE(numeric.size() == x.size());
  // Central, not one-sided: a forward difference's O(h) error (3·x·h ≈ 6e-6
  // at x = 2) would exceed this bound.
  for (size_t i = 0; i < x.size(); ++i) CHECK(std::abs(numeric[i] - exact[i]) < 1e-8);
  const GradientAgreement right = compare_gradients(exact, numeric);
  CHECK(right.within(1e-6, 1e-9));
  CHECK(right.relative() < 1e-8);
}

TEST_CASE("finite differences: the tolerance rule rejects a wrong gradient", "[autograd][gradcheck]") {
  const std::vector<double> x = {0.3, -1.2, 0.7, 2.0};
  const std::vector<double> numeric = central_differences(x, cubic);
  std::vector<double> wrong = cubic_gradient(x);
  wrong[2] *= 1.001;  // one element off by 0.1%
  const GradientAgreement a = compare_gradients(wrong, numeric);
  CHECK(a.worst == Approx(0.001 * 3 * 0.7 * 0.7).epsilon(1e-4));
  CHECK_FALSE(a.within(1e-6, 1e-9));
  CHECK(a.within(1e-3, 1e-9));  // the relative bound, not the floor, accepts it
  // A zero gradient: only the absolute floor can accept finite-difference noise.
  const GradientAgreement zero = compare_gradients({0.0, 0.0}, {3e-10, -2e-10});
  CHECK(zero.within(1e-6, 1e-9));
  CHECK_FALSE(zero.within(1e-6, 1e-10));
}
