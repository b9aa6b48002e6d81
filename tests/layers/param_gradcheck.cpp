#include "tests/layers/param_gradcheck.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "tests/autograd/finite_difference.h"

namespace mixlab::testing {

namespace {

// The absolute floor of the tolerance rule for a parameter's gradient (an op
// input's is 1e-9, tests/autograd/gradcheck.cpp).
constexpr double kAbsoluteFloor = 1e-8;

}  // namespace

// Compares each parameter's back-propagated gradient of sum(f() * w), for a
// random w, with central differences taken by perturbing the parameter's
// elements in place (the module reads its parameters by handle).
void check_parameter_gradients(Module& m, const std::function<Tensor()>& f, double rtol) {
  Generator gen(99);
  m.zero_grad();
  Tensor out = f();
  REQUIRE(out.dtype() == DType::F64);
  Tensor w = Tensor::uniform(out.shape(), gen, -1.0, 1.0, DType::F64);
  out.backward(w);
  const std::vector<double> wv = w.to_vector();

  for (const auto& [name, p] : m.named_parameters()) {
    INFO("parameter " << name << " " << p.describe());
    REQUIRE(p.grad().defined());
    const std::vector<double> analytic = p.grad().to_vector();
    const std::vector<double> base = p.to_vector();
    NoGradGuard no_grad;
    const std::vector<double> numeric = central_differences(base, [&](const std::vector<double>& v) {
      p.copy_(Tensor::from_vector(v, p.shape(), DType::F64));
      return weighted_sum(f(), wv);
    });
    p.copy_(Tensor::from_vector(base, p.shape(), DType::F64));
    const GradientAgreement a = compare_gradients(analytic, numeric);
    INFO("relative error " << a.relative());
    CHECK(a.numeric_norm > 0);  // every parameter must reach the output
    // Some gradients are exactly zero by symmetry (e.g. a key bias under
    // softmax): there the absolute floor applies.
    CHECK(a.within(rtol, kAbsoluteFloor));
  }
}

}  // namespace mixlab::testing
