#include "tests/autograd/finite_difference.h"

#include <catch2/catch.hpp>
#include <cmath>

namespace mixlab::testing {

double weighted_sum(const Tensor& out, const std::vector<double>& w) {
  const std::vector<double> v = out.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}

std::vector<double> central_differences(const std::vector<double>& x,
                                        const std::function<double(const std::vector<double>&)>& f) {
  const double h = kFiniteDifferenceStep;
  std::vector<double> numeric(x.size()), probe = x;
  for (size_t i = 0; i < x.size(); ++i) {
    probe[i] = x[i] + h;
    const double up = f(probe);
    probe[i] = x[i] - h;
    const double down = f(probe);
    probe[i] = x[i];
    numeric[i] = (up - down) / (2 * h);
  }
  return numeric;
}

GradientAgreement compare_gradients(const std::vector<double>& analytic, const std::vector<double>& numeric) {
  REQUIRE(analytic.size() == numeric.size());
  double diff2 = 0, ref2 = 0;
  GradientAgreement a;
  for (size_t i = 0; i < numeric.size(); ++i) {
    diff2 += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
    ref2 += numeric[i] * numeric[i];
    a.worst = std::max(a.worst, std::abs(analytic[i] - numeric[i]));
  }
  a.error_norm = std::sqrt(diff2);
  a.numeric_norm = std::sqrt(ref2);
  return a;
}

}  // namespace mixlab::testing
