#include "tests/layers/mixer_forms.h"

#include <catch2/catch.hpp>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"

namespace mixlab::testing {

std::shared_ptr<SequenceMixer> make_f64_mixer(const std::string& name, int64_t d_model,
                                              const std::vector<std::string>& args, uint64_t seed) {
  MixerContext ctx;
  ctx.d_model = d_model;
  ctx.n_layers = 2;
  Generator gen(seed);
  auto m = find_mixer(name).make(parse_options(mixer_options(), args), ctx, gen);
  m->to(DType::F64);
  Generator pgen(seed + 18);
  for (const Tensor& p : m->parameters()) uniform_(p, -0.5, 0.5, pgen);
  return m;
}

FormOutcome forward_backward(SequenceMixer& m, const Tensor& x_in, const Tensor& w) {
  Tensor x = x_in.detach();
  x.requires_grad_(true);
  m.zero_grad();
  Tensor y = m.forward(x);
  y.backward(w);
  FormOutcome r{y.to_vector(), {x.grad().to_vector()}};
  for (const Tensor& p : m.parameters()) {
    REQUIRE(p.grad().defined());
    r.grads.push_back(p.grad().to_vector());
  }
  return r;
}

void check_same_outcome(const FormOutcome& a, const FormOutcome& b, double out_tol, double grad_tol) {
  CHECK(rel_err(a.out, b.out) < out_tol);
  REQUIRE(a.grads.size() == b.grads.size());
  for (size_t i = 0; i < a.grads.size(); ++i) {
    INFO("gradient " << i << " (0 = input)");
    CHECK(rel_err(a.grads[i], b.grads[i]) < grad_tol);
  }
}

}  // namespace mixlab::testing
