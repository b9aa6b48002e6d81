#include "tests/autograd/gradcheck.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "tests/autograd/finite_difference.h"

namespace mixlab::testing {

namespace {

// The absolute floor of the tolerance rule for an op's input gradient.
constexpr double kAbsoluteFloor = 1e-9;

}  // namespace

double rel_err(const std::vector<double>& ref, const std::vector<double>& out) {
  REQUIRE(ref.size() == out.size());
  double d = 0, r = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    d += (ref[i] - out[i]) * (ref[i] - out[i]);
    r += ref[i] * ref[i];
  }
  return std::sqrt(d) / std::max(std::sqrt(r), 1e-300);
}

void check_gradients(const GradCase& c) {
  Generator gen(c.seed);
  std::vector<Tensor> inputs;
  for (const Shape& s : c.inputs) {
    Tensor t = Tensor::uniform(s, gen, c.low, c.high, DType::F64);
    t.requires_grad_();
    inputs.push_back(t);
  }
  Tensor out = c.fn(inputs);
  REQUIRE(out.dtype() == DType::F64);
  Tensor w = Tensor::uniform(out.shape(), gen, -1.0, 1.0, DType::F64);
  const std::vector<double> wv = w.to_vector();
  out.backward(w);

  for (size_t k = 0; k < inputs.size(); ++k) {
    INFO("case " << c.name << ", input " << k << " " << inputs[k].shape().str());
    Tensor g = inputs[k].grad();
    REQUIRE(g.defined());
    NoGradGuard no_grad;
    const std::vector<double> numeric = central_differences(inputs[k].to_vector(), [&](const std::vector<double>& v) {
      std::vector<Tensor> probe(inputs.begin(), inputs.end());
      probe[k] = Tensor::from_vector(v, inputs[k].shape(), DType::F64);
      return weighted_sum(c.fn(probe), wv);
    });
    const GradientAgreement a = compare_gradients(g.to_vector(), numeric);
    INFO("relative error " << a.relative() << ", worst element error " << a.worst);
    CHECK(a.within(c.rtol, kAbsoluteFloor));
  }
}

void check_all(const std::vector<GradCase>& cases) {
  for (const GradCase& c : cases) {
    DYNAMIC_SECTION(c.name) { check_gradients(c); }
  }
}

}  // namespace mixlab::testing
