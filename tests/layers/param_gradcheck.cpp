#include "tests/layers/param_gradcheck.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"

namespace mixlab::testing {

namespace {

double weighted_sum(const Tensor& out, const std::vector<double>& w) {
  const std::vector<double> v = out.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}

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

  const double h = 1e-6;
  for (const auto& [name, p] : m.named_parameters()) {
    INFO("parameter " << name << " " << p.describe());
    REQUIRE(p.grad().defined());
    const std::vector<double> analytic = p.grad().to_vector();
    const std::vector<double> base = p.to_vector();
    std::vector<double> numeric(base.size());
    NoGradGuard no_grad;
    for (size_t i = 0; i < base.size(); ++i) {
      std::vector<double> v = base;
      v[i] = base[i] + h;
      p.copy_(Tensor::from_vector(v, p.shape(), DType::F64));
      const double up = weighted_sum(f(), wv);
      v[i] = base[i] - h;
      p.copy_(Tensor::from_vector(v, p.shape(), DType::F64));
      const double down = weighted_sum(f(), wv);
      numeric[i] = (up - down) / (2 * h);
    }
    p.copy_(Tensor::from_vector(base, p.shape(), DType::F64));
    double diff2 = 0, ref2 = 0;
    for (size_t i = 0; i < base.size(); ++i) {
      diff2 += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
      ref2 += numeric[i] * numeric[i];
    }
    INFO("relative error " << std::sqrt(diff2) / std::max(std::sqrt(ref2), 1e-12));
    CHECK(ref2 > 0);  // every parameter must reach the output
    // Some gradients are exactly zero by symmetry (e.g. a key bias under
    // softmax); there only finite-difference noise remains, so an absolute
    // floor far below any real gradient applies.
    CHECK((std::sqrt(diff2) <= rtol * std::sqrt(ref2) || std::sqrt(diff2) <= 1e-8));
  }
}

}  // namespace mixlab::testing
