// Tests for the fused gated linear recurrence (autograd/ops/gated_scan.h):
// forward and final state against a plain F64 token-by-token recurrence written
// here, F64 finite-difference gradients of all six inputs, F32 gradients against
// F64 ones at T = 500 and under extreme decays, independence from the chunk size
// and the thread count, continuing from a final state, and argument errors.
#include <omp.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using mixlab::testing::GradCase;
using mixlab::testing::rel_err;

namespace {

enum class Decay { None, PerHead, PerChannel };

const char* decay_name(Decay d) {
  return d == Decay::None ? "no decay" : d == Decay::PerHead ? "per-head decay" : "per-channel decay";
}

struct Problem {
  int64_t B = 2, H = 2, Hq = 1, T = 15, dk = 5, dv = 12;
  Decay decay = Decay::PerChannel;
  bool bonus = false;
  bool initial_state = true;
  double temperature = 1.0;  // log decay = logsigmoid(randn) / temperature: 0.1 strong, 10 weak
  double scale = 0.7;
  uint64_t seed = 1;

  std::string describe() const {
    return std::string(decay_name(decay)) + (bonus ? ", bonus" : "") + ", B " + std::to_string(B) + " H " +
           std::to_string(H) + " Hq " + std::to_string(Hq) + " T " + std::to_string(T) + " dk " +
           std::to_string(dk) + " dv " + std::to_string(dv) + ", temperature " + std::to_string(temperature);
  }
};

// The six inputs as plain values (undefined ones empty).
struct Values {
  std::vector<double> q, k, v, g, u, s0;
};

double logsigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

Values draw(const Problem& p) {
  Generator gen(p.seed);
  auto randn = [&](int64_t n) { return Tensor::randn({n}, gen, DType::F64).to_vector(); };
  Values x;
  x.q = randn(p.B * p.Hq * p.T * p.dk);
  x.k = randn(p.B * p.Hq * p.T * p.dk);
  x.v = randn(p.B * p.H * p.T * p.dv);
  if (p.decay != Decay::None) {
    x.g = randn(p.B * p.H * p.T * (p.decay == Decay::PerChannel ? p.dk : 1));
    for (double& e : x.g) e = logsigmoid(e) / p.temperature;
  }
  if (p.bonus) x.u = randn(p.H * p.dk);
  if (p.initial_state) x.s0 = randn(p.B * p.H * p.dk * p.dv);
  return x;
}

struct Inputs {
  Tensor q, k, v, g, u, s0;
  std::vector<Tensor*> all() { return {&q, &k, &v, &g, &u, &s0}; }
};

Inputs tensors(const Problem& p, const Values& x, DType dtype, bool requires_grad) {
  auto make = [&](const std::vector<double>& values, const Shape& shape) {
    if (values.empty()) return Tensor();
    Tensor t = Tensor::from_vector(values, shape, dtype);
    if (requires_grad) t.requires_grad_();
    return t;
  };
  return {make(x.q, {p.B, p.Hq, p.T, p.dk}),
          make(x.k, {p.B, p.Hq, p.T, p.dk}),
          make(x.v, {p.B, p.H, p.T, p.dv}),
          make(x.g, {p.B, p.H, p.T, p.decay == Decay::PerChannel ? p.dk : 1}),
          make(x.u, {p.H, p.dk}),
          make(x.s0, {p.B, p.H, p.dk, p.dv})};
}

Tensor run(const Problem& p, Inputs& in, int64_t chunk, Tensor* final_state = nullptr) {
  return gated_scan(in.q, in.k, in.v, in.g, in.u, in.s0, {.chunk = chunk, .bonus = p.bonus, .scale = p.scale},
                    final_state);
}

// S_t = diag(exp(g_t)) S_{t-1} + k_t v_tᵀ; o_t = scale S_tᵀ q_t, or with the bonus
// scale (S_{t-1} + diag(u) k_t v_tᵀ)ᵀ q_t. One token at a time, in F64.
void reference(const Problem& p, const Values& x, std::vector<double>& o, std::vector<double>& final_state) {
  const int64_t dk = p.dk, dv = p.dv, group = p.H / p.Hq;
  o.assign(p.B * p.H * p.T * dv, 0.0);
  final_state.assign(p.B * p.H * dk * dv, 0.0);
  for (int64_t b = 0; b < p.B; ++b)
    for (int64_t h = 0; h < p.H; ++h) {
      const int64_t bh = b * p.H + h, bq = b * p.Hq + h / group;
      std::vector<double> S(dk * dv, 0.0);
      if (!x.s0.empty()) S.assign(x.s0.begin() + bh * dk * dv, x.s0.begin() + (bh + 1) * dk * dv);
      for (int64_t t = 0; t < p.T; ++t) {
        const double* q = &x.q[(bq * p.T + t) * dk];
        const double* k = &x.k[(bq * p.T + t) * dk];
        const double* v = &x.v[(bh * p.T + t) * dv];
        double* out = &o[(bh * p.T + t) * dv];
        if (p.bonus)  // reads the state before this token
          for (int64_t i = 0; i < dk; ++i)
            for (int64_t j = 0; j < dv; ++j)
              out[j] += p.scale * q[i] * (S[i * dv + j] + x.u[h * dk + i] * k[i] * v[j]);
        for (int64_t i = 0; i < dk; ++i) {
          double decay = 1.0;
          if (p.decay == Decay::PerHead) decay = std::exp(x.g[bh * p.T + t]);
          if (p.decay == Decay::PerChannel) decay = std::exp(x.g[(bh * p.T + t) * dk + i]);
          for (int64_t j = 0; j < dv; ++j) S[i * dv + j] = decay * S[i * dv + j] + k[i] * v[j];
        }
        if (!p.bonus)
          for (int64_t i = 0; i < dk; ++i)
            for (int64_t j = 0; j < dv; ++j) out[j] += p.scale * q[i] * S[i * dv + j];
      }
      std::copy(S.begin(), S.end(), final_state.begin() + bh * dk * dv);
    }
}

struct Gradient {
  std::string input;
  std::vector<double> values;
};

// Gradients of sum(o * w) for every defined input.
std::vector<Gradient> gradients(const Problem& p, const Values& x, DType dtype, int64_t chunk, const Tensor& w) {
  Inputs in = tensors(p, x, dtype, true);
  run(p, in, chunk).backward(w.to(dtype));
  const char* names[] = {"q", "k", "v", "log_decay", "u", "initial_state"};
  std::vector<Gradient> out;
  for (size_t i = 0; i < in.all().size(); ++i)
    if (in.all()[i]->defined()) out.push_back({names[i], in.all()[i]->grad().to_vector()});
  return out;
}

// F32 tolerance on a gradient's relative error. The log-decay gradient is a
// (per-chunk) reverse sum of q ⊙ dq − k ⊙ dk whose terms cancel under strong
// decay, so it keeps fewer digits than the others (measured: up to 5.5e-6 at
// T = 500 against 2.5e-7 for the rest).
double f32_tolerance(const std::string& input) { return input == "log_decay" ? 2e-5 : 1e-6; }

bool all_finite(const std::vector<double>& v) {
  for (double e : v)
    if (!std::isfinite(e)) return false;
  return true;
}

}  // namespace

TEST_CASE("gated_scan: forward and final state match the token-by-token recurrence", "[gated_scan]") {
  const std::vector<std::pair<int64_t, int64_t>> dims = {{5, 12}, {12, 5}, {16, 16}};
  const std::vector<double> temperatures = {0.1, 1.0, 10.0};
  int index = 0;
  for (Decay decay : {Decay::None, Decay::PerHead, Decay::PerChannel})
    for (bool bonus : {false, true})
      for (int64_t T : {1, 15, 63, 64, 500})
        for (int64_t chunk : {1, 7, 16, 64}) {
          Problem p;
          p.decay = decay;
          p.bonus = bonus;
          p.T = T;
          p.dk = dims[index % 3].first;
          p.dv = dims[index % 3].second;
          p.temperature = temperatures[(index / 3) % 3];
          p.initial_state = index % 4 != 3;
          p.Hq = index % 2 ? 1 : 2;  // grouped q/k half the time
          p.seed = 100 + index++;
          INFO(p.describe() << ", chunk " << chunk);
          const Values x = draw(p);
          std::vector<double> o_ref, state_ref;
          reference(p, x, o_ref, state_ref);
          Inputs in = tensors(p, x, DType::F64, false);
          Tensor state;
          const std::vector<double> o = run(p, in, chunk, &state).to_vector();
          CHECK(rel_err(o_ref, o) < 1e-12);
          CHECK(rel_err(state_ref, state.to_vector()) < 1e-12);
        }
}

TEST_CASE("gated_scan: continuing from a final state equals one call", "[gated_scan]") {
  for (Decay decay : {Decay::PerHead, Decay::PerChannel})
    for (bool bonus : {false, true}) {
      Problem whole;
      whole.decay = decay;
      whole.bonus = bonus;
      whole.T = 90;
      INFO(whole.describe());
      const Values x = draw(whole);
      Inputs in = tensors(whole, x, DType::F64, false);
      Tensor state_whole;
      const std::vector<double> o_whole = run(whole, in, 16, &state_whole).to_vector();
      // Tokens [0, 37) then [37, 90), the second call starting from the first's final state.
      Tensor state_first, state_second;
      auto part = [&](const Tensor& t, int64_t a, int64_t b) { return t.defined() ? slice(t, 2, a, b) : Tensor(); };
      const GatedScanOptions opts{.chunk = 16, .bonus = bonus, .scale = whole.scale};
      Tensor o1 = gated_scan(part(in.q, 0, 37), part(in.k, 0, 37), part(in.v, 0, 37), part(in.g, 0, 37), in.u, in.s0,
                             opts, &state_first);
      Tensor o2 = gated_scan(part(in.q, 37, 90), part(in.k, 37, 90), part(in.v, 37, 90), part(in.g, 37, 90), in.u,
                             state_first, opts, &state_second);
      CHECK(rel_err(o_whole, concat({o1, o2}, 2).to_vector()) < 1e-12);
      CHECK(rel_err(state_whole.to_vector(), state_second.to_vector()) < 1e-12);
    }
}

TEST_CASE("gated_scan: F64 gradient checks of all inputs", "[gated_scan]") {
  // Inputs arrive uniform in [-1, 1]; the log decay is mapped into [-1.2, -0.2].
  auto to_log_decay = [](const Tensor& x) { return add(mul(x, 0.5), -0.7); };
  std::vector<GradCase> cases;
  struct Variant {
    Decay decay;
    bool bonus;
    int64_t T, dk, dv, chunk;
  };
  // Chunk 3 over T 7: several chunks and a short last one. Chunk 32 over T 37 with
  // per-channel decay: two sub-chunks, so the off-diagonal sub-block products run.
  const std::vector<Variant> variants = {
      {Decay::None, false, 7, 3, 2, 3},       {Decay::None, true, 7, 3, 2, 3},
      {Decay::PerHead, false, 7, 3, 2, 3},    {Decay::PerHead, true, 7, 3, 2, 3},
      {Decay::PerChannel, false, 7, 3, 2, 3}, {Decay::PerChannel, true, 7, 3, 2, 3},
      {Decay::PerChannel, false, 37, 2, 2, 32}, {Decay::PerChannel, true, 37, 2, 2, 32},
      {Decay::PerHead, false, 37, 2, 2, 32}};
  for (const Variant& c : variants) {
    const int64_t B = c.T > 10 ? 1 : 2, H = 2, Hq = 1;
    std::vector<Shape> shapes = {{B, Hq, c.T, c.dk}, {B, Hq, c.T, c.dk}, {B, H, c.T, c.dv}};
    if (c.decay != Decay::None) shapes.push_back({B, H, c.T, c.decay == Decay::PerChannel ? c.dk : 1});
    if (c.bonus) shapes.push_back({H, c.dk});
    shapes.push_back({B, H, c.dk, c.dv});
    const bool has_decay = c.decay != Decay::None;
    const int64_t chunk = c.chunk;
    const bool bonus = c.bonus;
    cases.push_back(GradCase{std::string(decay_name(c.decay)) + (c.bonus ? " bonus" : "") + " T " +
                                 std::to_string(c.T) + " chunk " + std::to_string(c.chunk),
                             shapes, [=](const std::vector<Tensor>& in) {
                               size_t i = 3;
                               const Tensor g = has_decay ? to_log_decay(in[i++]) : Tensor();
                               const Tensor u = bonus ? in[i++] : Tensor();
                               return gated_scan(in[0], in[1], in[2], g, u, in[i],
                                                 {.chunk = chunk, .bonus = bonus, .scale = 0.8});
                             }});
  }
  testing::check_all(cases);
}

TEST_CASE("gated_scan: F32 gradients match F64 at T = 500", "[gated_scan]") {
  for (Decay decay : {Decay::PerHead, Decay::PerChannel})
    for (bool bonus : {false, true})
      for (double temperature : {0.1, 1.0}) {
        Problem p;
        p.decay = decay;
        p.bonus = bonus;
        p.temperature = temperature;
        p.B = 1;
        p.T = 500;
        p.dk = 16;
        p.dv = 12;
        p.seed = 7;
        INFO(p.describe());
        const Values x = draw(p);
        Generator gen(8);
        const Tensor w = Tensor::randn({p.B, p.H, p.T, p.dv}, gen, DType::F64);
        const auto ref = gradients(p, x, DType::F64, 64, w);
        const auto f32 = gradients(p, x, DType::F32, 64, w);
        Inputs in64 = tensors(p, x, DType::F64, false), in32 = tensors(p, x, DType::F32, false);
        CHECK(rel_err(run(p, in64, 64).to_vector(), run(p, in32, 64).to_vector()) < 1e-5);
        for (size_t i = 0; i < ref.size(); ++i) {
          INFO("gradient of " << ref[i].input);
          CHECK(all_finite(f32[i].values));
          CHECK(rel_err(ref[i].values, f32[i].values) < f32_tolerance(ref[i].input));
        }
      }
}

TEST_CASE("gated_scan: extreme log decays (0, tiny, -50, -1e4) stay finite in F32", "[gated_scan]") {
  for (Decay decay : {Decay::PerHead, Decay::PerChannel})
    for (bool bonus : {false, true}) {
      Problem p;
      p.decay = decay;
      p.bonus = bonus;
      p.T = 150;
      p.dk = 12;
      p.dv = 7;
      INFO(p.describe());
      Values x = draw(p);
      const double extremes[] = {0.0, -1e-8, -50.0, -1e4, -0.3};
      for (size_t i = 0; i < x.g.size(); ++i) x.g[i] = extremes[(i * 7 + i / 5) % 5];
      std::vector<double> o_ref, state_ref;
      reference(p, x, o_ref, state_ref);
      Inputs in32 = tensors(p, x, DType::F32, false);
      Tensor state;
      const std::vector<double> o = run(p, in32, 64, &state).to_vector();
      CHECK(all_finite(o));
      CHECK(rel_err(o_ref, o) < 1e-5);
      CHECK(rel_err(state_ref, state.to_vector()) < 1e-5);
      Generator gen(11);
      const Tensor w = Tensor::randn({p.B, p.H, p.T, p.dv}, gen, DType::F64);
      const auto ref = gradients(p, x, DType::F64, 64, w);
      const auto f32 = gradients(p, x, DType::F32, 64, w);
      for (size_t i = 0; i < ref.size(); ++i) {
        INFO("gradient of " << ref[i].input);
        CHECK(all_finite(f32[i].values));
        CHECK(rel_err(ref[i].values, f32[i].values) < f32_tolerance(ref[i].input));
      }
    }
}

TEST_CASE("gated_scan: results do not depend on the chunk size beyond rounding", "[gated_scan]") {
  for (Decay decay : {Decay::None, Decay::PerHead, Decay::PerChannel})
    for (bool bonus : {false, true}) {
      Problem p;
      p.decay = decay;
      p.bonus = bonus;
      p.T = 100;
      p.dk = 12;
      p.dv = 5;
      p.temperature = 0.5;
      INFO(p.describe());
      const Values x = draw(p);
      Generator gen(9);
      const Tensor w = Tensor::randn({p.B, p.H, p.T, p.dv}, gen, DType::F64);
      for (DType dtype : {DType::F64, DType::F32}) {
        const auto base = gradients(p, x, dtype, 64, w);
        for (int64_t chunk : {1, 7, 16, 33, 100, 128}) {
          INFO(dtype_name(dtype) << ", chunk " << chunk);
          const auto other = gradients(p, x, dtype, chunk, w);
          for (size_t i = 0; i < base.size(); ++i) {
            INFO("gradient of " << base[i].input);
            // Chunks change only the order of rounding.
            CHECK(rel_err(base[i].values, other[i].values) <
                  (dtype == DType::F64 ? 1e-12 : f32_tolerance(base[i].input)));
          }
        }
      }
    }
}

TEST_CASE("gated_scan: results do not depend on the thread count", "[gated_scan]") {
  Problem p;
  p.B = 2;
  p.H = 4;
  p.Hq = 2;
  p.T = 150;
  p.bonus = true;
  const Values x = draw(p);
  Generator gen(10);
  const Tensor w = Tensor::randn({p.B, p.H, p.T, p.dv}, gen, DType::F64);
  const int previous = omp_get_max_threads();
  omp_set_num_threads(1);
  const auto one = gradients(p, x, DType::F32, 64, w);
  omp_set_num_threads(2);
  const auto two = gradients(p, x, DType::F32, 64, w);
  omp_set_num_threads(previous);
  REQUIRE(one.size() == two.size());
  for (size_t i = 0; i < one.size(); ++i) CHECK(one[i].values == two[i].values);
}

TEST_CASE("gated_scan: only the inputs that require a gradient get one", "[gated_scan]") {
  Problem p;
  p.bonus = true;
  const Values x = draw(p);
  Inputs in = tensors(p, x, DType::F64, false);
  in.g.requires_grad_();
  in.u.requires_grad_();
  Tensor o = run(p, in, 4);
  o.backward(Tensor::ones(o.shape(), DType::F64));
  CHECK(in.g.grad().defined());
  CHECK(in.u.grad().defined());
  CHECK_FALSE(in.q.grad().defined());
  CHECK_FALSE(in.s0.grad().defined());
  // The same log-decay gradient as when everything requires one.
  const auto all = gradients(p, x, DType::F64, 4, Tensor::ones(o.shape(), DType::F64));
  REQUIRE(all[3].input == "log_decay");
  CHECK(rel_err(all[3].values, in.g.grad().to_vector()) < 1e-14);
}

TEST_CASE("gated_scan: bad arguments throw mixlab::Error", "[gated_scan]") {
  const Tensor q = Tensor::zeros({1, 2, 5, 3}), v = Tensor::zeros({1, 4, 5, 2});
  const Tensor g = Tensor::full({1, 4, 5, 3}, -0.5), u = Tensor::zeros({4, 3}), s0 = Tensor::zeros({1, 4, 3, 2});
  REQUIRE_NOTHROW(gated_scan(q, q, v, g, u, s0, {.chunk = 2, .bonus = true}));
  REQUIRE_NOTHROW(gated_scan(q, q, v, Tensor::full({1, 4, 5, 1}, -0.5), Tensor(), Tensor(), {}));
  REQUIRE_THROWS_WITH(gated_scan(q, q, Tensor::zeros({1, 3, 5, 2}), g, Tensor(), Tensor(), {}),
                      Catch::Contains("Hq dividing H"));
  REQUIRE_THROWS_AS(gated_scan(q, Tensor::zeros({1, 2, 5, 4}), v, Tensor(), Tensor(), Tensor(), {}), Error);
  REQUIRE_THROWS_WITH(gated_scan(q, q, v, Tensor::full({1, 4, 5, 2}, -0.5), Tensor(), Tensor(), {}),
                      Catch::Contains("log_decay (1,4,5,2)"));
  REQUIRE_THROWS_WITH(gated_scan(q, q, v, Tensor::full({1, 4, 5, 3}, 0.25), Tensor(), Tensor(), {}),
                      Catch::Contains("<= 0"));
  REQUIRE_THROWS_WITH(gated_scan(q, q, v, g, u, Tensor(), {}), Catch::Contains("iff bonus"));
  REQUIRE_THROWS_WITH(gated_scan(q, q, v, g, Tensor(), Tensor(), {.bonus = true}), Catch::Contains("iff bonus"));
  REQUIRE_THROWS_AS(gated_scan(q, q, v, g, Tensor::zeros({2, 3}), Tensor(), {.bonus = true}), Error);
  REQUIRE_THROWS_AS(gated_scan(q, q, v, g, Tensor(), Tensor::zeros({1, 4, 2, 3}), {}), Error);
  REQUIRE_THROWS_WITH(gated_scan(q, q, v, g, Tensor(), Tensor(), {.chunk = 0}), Catch::Contains("chunk 0"));
  REQUIRE_THROWS_AS(gated_scan(q, q, v.to(DType::F64), g, Tensor(), Tensor(), {}), Error);
}
