#pragma once
// The finite-difference core of both gradient checks (tests/autograd/gradcheck.h
// for ops' inputs, tests/layers/param_gradcheck.h for a module's parameters):
// central differences of a scalar function over a tensor's elements in F64,
// and the rule that says whether an analytic gradient agrees with them.
#include <algorithm>
#include <functional>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab::testing {

// The step h: in F64 the round-off of f(x ± h) is ~1e-16·|f| / h ≈ 1e-10
// relative, the truncation error O(h²) ≈ 1e-12, both far below the 1e-6
// tolerance.
constexpr double kFiniteDifferenceStep = 1e-6;

// sum(out * w): the scalar the checks differentiate, w the gradient seeded
// into backward().
double weighted_sum(const Tensor& out, const std::vector<double>& w);

// numeric[i] = (f(x + h·e_i) − f(x − h·e_i)) / 2h for every element i of x;
// f is handed the perturbed copy of x.
std::vector<double> central_differences(const std::vector<double>& x,
                                        const std::function<double(const std::vector<double>&)>& f);

// How far an analytic gradient lies from the numeric one.
struct GradientAgreement {
  double error_norm = 0;    // ||analytic − numeric||
  double numeric_norm = 0;  // ||numeric||
  double worst = 0;         // max_i |analytic_i − numeric_i|

  double relative() const { return error_norm / std::max(numeric_norm, 1e-12); }
  // The tolerance rule: relative error within rtol, or an absolute error
  // within atol. The floor is for gradients that are exactly zero (e.g. a key
  // bias under softmax, by symmetry), where only finite-difference noise
  // remains; it lies far below any real gradient.
  bool within(double rtol, double atol) const { return relative() <= rtol || error_norm <= atol; }
};

GradientAgreement compare_gradients(const std::vector<double>& analytic, const std::vector<double>& numeric);

}  // namespace mixlab::testing
