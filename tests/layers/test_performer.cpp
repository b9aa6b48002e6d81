// performer: the random features, their redraw schedule, and the causal
// running-max form against dense softmax-kernel attention (docs/mixers.md,
// performer: the key stabiliser). Forward = reference, gradients, decode and prefill come
// from the conformance suite.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/ops.h"
#include "layers/mixers/performer.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

std::shared_ptr<SequenceMixer> make(const std::vector<std::string>& args, int64_t d_model = 8) {
  MixerContext ctx;
  ctx.d_model = d_model;
  Generator gen(3);
  return find_mixer("performer").make(parse_options(mixer_options(), args), ctx, gen);
}

}  // namespace

TEST_CASE("performer: M = d ln d orthogonal features in blocks of d, rows scaled", "[performer]") {
  auto m = make({"performer.n_heads=1"}, 16);  // d = 16: M = int(16 ln 16) = 44
  const Tensor omega = performer_features(*m);
  REQUIRE(omega.shape() == Shape{44, 16});
  const std::vector<double> w = omega.to_vector();
  auto row_dot = [&](int64_t a, int64_t b) {
    double s = 0;
    for (int64_t c = 0; c < 16; ++c) s += w[a * 16 + c] * w[b * 16 + c];
    return s;
  };
  for (int64_t block = 0; block < 44; block += 16)
    for (int64_t a = block; a < std::min<int64_t>(block + 16, 44); ++a)
      for (int64_t b = block; b < a; ++b)
        CHECK(std::abs(row_dot(a, b)) < 1e-4 * std::sqrt(row_dot(a, a) * row_dot(b, b)));  // F32 rounding
  // sqrt_d scaling: every row has norm √d.
  auto scaled = make({"performer.ortho_scaling=sqrt_d"}, 16);
  const std::vector<double> s = performer_features(*scaled).to_vector();
  for (int64_t r = 0; r < 44; ++r) {
    double n2 = 0;
    for (int64_t c = 0; c < 16; ++c) n2 += s[r * 16 + c] * s[r * 16 + c];
    CHECK(n2 == Approx(16.0).epsilon(1e-5));
  }
}

TEST_CASE("performer: features are redrawn every N training steps, never in eval or without gradients", "[performer]") {
  auto m = make({"performer.redraw_interval=3"});
  Generator gen(1);
  const Tensor x = Tensor::randn({1, 5, 8}, gen);
  const std::vector<double> first = performer_features(*m).to_vector();
  for (int i = 0; i < 3; ++i) m->forward(x);  // steps 1..3 use the first draw
  CHECK(performer_draws(*m) == 1);
  m->forward(x);  // step 4 redraws
  CHECK(performer_draws(*m) == 2);
  CHECK(performer_features(*m).to_vector() != first);
  {
    NoGradGuard no_grad;  // evaluation-style calls do not count
    for (int i = 0; i < 10; ++i) m->forward(x);
  }
  m->eval();
  for (int i = 0; i < 10; ++i) m->forward(x);
  CHECK(performer_draws(*m) == 2);
  auto fixed = make({"performer.redraw_interval=1", "performer.fixed_features=true"});
  for (int i = 0; i < 5; ++i) fixed->forward(x);
  CHECK(performer_draws(*fixed) == 1);
  // The draws are a function of the seed: a second mixer built alike agrees.
  auto twin = make({"performer.redraw_interval=3"});
  CHECK(performer_features(*twin).to_vector() == first);
}

TEST_CASE("performer: with both epsilons 0 the causal running-max form is dense softmax-kernel attention",
          "[performer]") {
  // Dense: A_ts = φ(q_t)·φ(k_s) with keys at one global stabiliser, masked to
  // s <= t, rows normalised. The running max rescales exactly, so with no
  // eps the two agree to rounding (docs/mixers.md, performer).
  auto m = testing::make_f64_mixer("performer", 8, {"performer.feature_eps=0", "performer.eps=0", "performer.chunk_size=4"}, 5);
  Generator gen(2);
  const int64_t T = 11;
  const Tensor x = Tensor::randn({1, T, 8}, gen, DType::F64);
  NoGradGuard no_grad;
  m->eval();
  const std::vector<double> fast = m->forward(x).to_vector();
  // Dense with the same parameters: q, k, v projections, features, mask.
  auto lin = [&](const std::string& name) {
    return add(matmul(x, m->parameter(name + ".weight"), false, true), m->parameter(name + ".bias"));
  };
  const Tensor omega = performer_features(*m).to(DType::F64);
  const double xn = std::pow(8.0, -0.25);
  auto feats = [&](const Tensor& y) {  // exp(x̂Ωᵀ − ‖x̂‖²/2), unstabilised (small values here)
    Tensor xs = mul(y, xn);
    return exp(sub(matmul(xs, omega, false, true), mul(sum(square(xs), -1, true), 0.5)));
  };
  Tensor A = matmul(feats(lin("to_q")), feats(lin("to_k")), false, true).reshape({T, T});
  std::vector<double> a = A.to_vector();
  for (int64_t t = 0; t < T; ++t) {
    double z = 0;
    for (int64_t s = 0; s <= t; ++s) z += a[t * T + s];
    for (int64_t s = 0; s < T; ++s) a[t * T + s] = s <= t ? a[t * T + s] / z : 0.0;
  }
  Tensor o = matmul(Tensor::from_vector(a, {T, T}, DType::F64), lin("to_v").reshape({T, 8}));
  const Tensor dense = add(matmul(o, m->parameter("to_out.weight"), false, true), m->parameter("to_out.bias"));
  CHECK(testing::rel_err(dense.to_vector(), fast) < 1e-10);
}

TEST_CASE("performer: bad options name the key", "[performer]") {
  CHECK_THROWS_WITH(make({"performer.kernel=cosine"}), Catch::Contains("performer.kernel") && Catch::Contains("relu"));
  CHECK_THROWS_WITH(make({"performer.n_heads=3"}), Catch::Contains("performer.n_heads"));
  CHECK_THROWS_WITH(make({"performer.ortho_scaling=one"}), Catch::Contains("performer.ortho_scaling"));
  CHECK_THROWS_WITH(make({"performer.causal=false"})->init_state(1), Catch::Contains("no decode form"));
}
