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

void check_prefill_matches_steps(SequenceMixer& m, int64_t B, int64_t D, int64_t T, double tol) {
  Generator gen(9);
  const Tensor prefix = Tensor::randn({B, 13, D}, gen, DType::F64), x = Tensor::randn({B, T, D}, gen, DType::F64);
  const Tensor next = Tensor::randn({B, D}, gen, DType::F64);
  NoGradGuard no_grad;
  auto prefilled = m.init_state(B), stepped = m.init_state(B);
  m.prefill(prefix, *prefilled);
  for (int64_t t = 0; t < 13; ++t) m.step(slice(prefix, 1, t, t + 1).reshape({B, D}), *stepped);
  const std::vector<double> fast = m.prefill(x, *prefilled).to_vector();
  std::vector<Tensor> steps;
  for (int64_t t = 0; t < T; ++t) steps.push_back(m.step(slice(x, 1, t, t + 1).reshape({B, D}), *stepped).reshape({B, 1, D}));
  CHECK(rel_err(concat(steps, 1).to_vector(), fast) < tol);
  CHECK(rel_err(m.step(next, *stepped).to_vector(), m.step(next, *prefilled).to_vector()) < tol);
}

}  // namespace mixlab::testing
