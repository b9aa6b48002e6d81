#include "tests/autograd/gradcheck.h"

#include <catch2/catch.hpp>
#include <cmath>

namespace mixlab::testing {

namespace {

double weighted_sum(const Tensor& out, const std::vector<double>& w) {
  std::vector<double> v = out.to_vector();
  double s = 0;
  for (size_t i = 0; i < v.size(); ++i) s += v[i] * w[i];
  return s;
}

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

  const double h = 1e-6;
  for (size_t k = 0; k < inputs.size(); ++k) {
    INFO("case " << c.name << ", input " << k << " " << inputs[k].shape().str());
    Tensor g = inputs[k].grad();
    REQUIRE(g.defined());
    const std::vector<double> analytic = g.to_vector();
    std::vector<double> base = inputs[k].to_vector();
    std::vector<double> numeric(base.size());
    NoGradGuard no_grad;
    for (size_t i = 0; i < base.size(); ++i) {
      std::vector<Tensor> probe(inputs.begin(), inputs.end());
      std::vector<double> v = base;
      v[i] = base[i] + h;
      probe[k] = Tensor::from_vector(v, inputs[k].shape(), DType::F64);
      double up = weighted_sum(c.fn(probe), wv);
      v[i] = base[i] - h;
      probe[k] = Tensor::from_vector(v, inputs[k].shape(), DType::F64);
      double down = weighted_sum(c.fn(probe), wv);
      numeric[i] = (up - down) / (2 * h);
    }
    double diff2 = 0, ref2 = 0, worst = 0;
    for (size_t i = 0; i < base.size(); ++i) {
      diff2 += (analytic[i] - numeric[i]) * (analytic[i] - numeric[i]);
      ref2 += numeric[i] * numeric[i];
      worst = std::max(worst, std::abs(analytic[i] - numeric[i]));
    }
    const double rel = std::sqrt(diff2) / std::max(std::sqrt(ref2), 1e-12);
    INFO("relative error " << rel << ", worst element error " << worst);
    CHECK((rel <= c.rtol || std::sqrt(diff2) <= 1e-9));
  }
}

void check_all(const std::vector<GradCase>& cases) {
  for (const GradCase& c : cases) {
    DYNAMIC_SECTION(c.name) { check_gradients(c); }
  }
}

}  // namespace mixlab::testing
