// Tests for the delta-rule scan (autograd/ops/delta_scan.h): forward and final
// state against a plain F64 token-by-token recurrence written here, F64
// finite-difference gradients of all seven inputs, the chunked form (per-head
// or no decay) against the recurrent one (the same decay spelt per channel) on
// outputs and gradients, F32 against F64, chunk-size and thread-count
// independence, continuing from a final state, and argument errors.
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
  int64_t B = 2, H = 2, T = 15, dk = 5, dv = 7;
  Decay decay = Decay::PerHead;
  bool initial_state = true;
  bool delta_rule = false;  // a = −β k̂, b = k̂ (DeltaNet's transition) instead of free a, b
  double scale = 0.7;
  uint64_t seed = 1;

  std::string describe() const {
    return std::string(decay_name(decay)) + (delta_rule ? ", delta rule" : ", free a b") + ", B " +
           std::to_string(B) + " H " + std::to_string(H) + " T " + std::to_string(T) + " dk " + std::to_string(dk) +
           " dv " + std::to_string(dv);
  }
};

struct Values {
  std::vector<double> q, k, v, g, a, b, s0;
};

double logsigmoid(double x) { return x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x)); }

// Free a, b are scaled so the transition's rank-one part stays moderate
// (|a·b| ~ 0.3); the delta rule's a = −β k̂, b = k̂ with ||k̂|| = 1, β in (0, 2).
Values draw(const Problem& p) {
  Generator gen(p.seed);
  auto randn = [&](int64_t n) { return Tensor::randn({n}, gen, DType::F64).to_vector(); };
  const int64_t n = p.B * p.H * p.T * p.dk;
  Values x;
  x.q = randn(n);
  x.k = randn(n);
  x.v = randn(p.B * p.H * p.T * p.dv);
  if (p.decay != Decay::None) {
    x.g = randn(p.B * p.H * p.T * (p.decay == Decay::PerChannel ? p.dk : 1));
    for (double& e : x.g) e = logsigmoid(e + 1.0);
  }
  x.a = randn(n);
  x.b = randn(n);
  const double free_scale = 0.55 / std::sqrt(static_cast<double>(p.dk));
  for (int64_t r = 0; r < n / p.dk; ++r) {
    double* a = &x.a[r * p.dk];
    double* b = &x.b[r * p.dk];
    if (!p.delta_rule) {
      for (int64_t i = 0; i < p.dk; ++i) a[i] *= free_scale, b[i] *= free_scale;
      continue;
    }
    double norm = 0;
    for (int64_t i = 0; i < p.dk; ++i) norm += b[i] * b[i];
    const double beta = 2.0 / (1.0 + std::exp(-a[0]));
    for (int64_t i = 0; i < p.dk; ++i) b[i] /= std::sqrt(norm), a[i] = -beta * b[i];
  }
  if (p.initial_state) x.s0 = randn(p.B * p.H * p.dk * p.dv);
  return x;
}

struct Inputs {
  Tensor q, k, v, g, a, b, s0;
  std::vector<Tensor*> all() { return {&q, &k, &v, &g, &a, &b, &s0}; }
};

// expand_decay: a per-head decay given as (B, H, T, dk) with equal channels,
// which runs the recurrent form on the same math.
Inputs tensors(const Problem& p, const Values& x, DType dtype, bool requires_grad, bool expand_decay = false) {
  auto make = [&](const std::vector<double>& values, const Shape& shape) {
    if (values.empty()) return Tensor();
    Tensor t = Tensor::from_vector(values, shape, dtype);
    if (requires_grad) t.requires_grad_();
    return t;
  };
  std::vector<double> g = x.g;
  int64_t width = p.decay == Decay::PerChannel ? p.dk : 1;
  if (expand_decay) {
    const int64_t rows = p.B * p.H * p.T;
    g.assign(rows * p.dk, 0.0);  // no decay becomes log decay 0 per channel
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t i = 0; i < p.dk; ++i)
        g[r * p.dk + i] = x.g.empty() ? 0.0 : p.decay == Decay::PerChannel ? x.g[r * p.dk + i] : x.g[r];
    width = p.dk;
  }
  const Shape key{p.B, p.H, p.T, p.dk};
  return {make(x.q, key), make(x.k, key), make(x.v, {p.B, p.H, p.T, p.dv}), make(g, {p.B, p.H, p.T, width}),
          make(x.a, key), make(x.b, key), make(x.s0, {p.B, p.H, p.dk, p.dv})};
}

Tensor run(const Problem& p, Inputs& in, int64_t chunk, Tensor* final_state = nullptr) {
  return delta_scan(in.q, in.k, in.v, in.g, in.a, in.b, in.s0, {.chunk = chunk, .scale = p.scale}, final_state);
}

// S_t = (diag(e^{g_t}) + a_t b_tᵀ) S_{t-1} + k_t v_tᵀ, o_t = scale S_tᵀ q_t: one
// token at a time in F64, the transition applied as a dk × dk matrix.
void reference(const Problem& p, const Values& x, std::vector<double>& o, std::vector<double>& final_state) {
  const int64_t dk = p.dk, dv = p.dv;
  o.assign(p.B * p.H * p.T * dv, 0.0);
  final_state.assign(p.B * p.H * dk * dv, 0.0);
  for (int64_t bh = 0; bh < p.B * p.H; ++bh) {
    std::vector<double> S(dk * dv, 0.0);
    if (!x.s0.empty()) S.assign(x.s0.begin() + bh * dk * dv, x.s0.begin() + (bh + 1) * dk * dv);
    for (int64_t t = 0; t < p.T; ++t) {
      const int64_t kt = (bh * p.T + t) * dk;
      std::vector<double> M(dk * dk, 0.0), next(dk * dv, 0.0);
      for (int64_t i = 0; i < dk; ++i) {
        double decay = 1.0;
        if (p.decay == Decay::PerHead) decay = std::exp(x.g[bh * p.T + t]);
        if (p.decay == Decay::PerChannel) decay = std::exp(x.g[kt + i]);
        for (int64_t l = 0; l < dk; ++l) M[i * dk + l] = (i == l ? decay : 0.0) + x.a[kt + i] * x.b[kt + l];
      }
      for (int64_t i = 0; i < dk; ++i)
        for (int64_t j = 0; j < dv; ++j) {
          double sum = x.k[kt + i] * x.v[(bh * p.T + t) * dv + j];
          for (int64_t l = 0; l < dk; ++l) sum += M[i * dk + l] * S[l * dv + j];
          next[i * dv + j] = sum;
        }
      S = next;
      for (int64_t j = 0; j < dv; ++j) {
        double sum = 0;
        for (int64_t i = 0; i < dk; ++i) sum += x.q[kt + i] * S[i * dv + j];
        o[(bh * p.T + t) * dv + j] = p.scale * sum;
      }
    }
    std::copy(S.begin(), S.end(), final_state.begin() + bh * dk * dv);
  }
}

struct Gradient {
  std::string input;
  std::vector<double> values;
};

const char* kNames[] = {"q", "k", "v", "log_decay", "a", "b", "initial_state"};

// Gradients of sum(o * w) for every defined input (a log decay expanded over
// channels is summed back to one per head, as the chain rule does).
std::vector<Gradient> gradients(const Problem& p, const Values& x, DType dtype, int64_t chunk, const Tensor& w,
                                bool expand_decay = false) {
  Inputs in = tensors(p, x, dtype, true, expand_decay);
  run(p, in, chunk).backward(w.to(dtype));
  std::vector<Gradient> out;
  for (size_t i = 0; i < in.all().size(); ++i) {
    const Tensor& t = *in.all()[i];
    if (!t.defined()) continue;
    if (i == 3 && expand_decay && p.decay != Decay::PerChannel) {
      if (p.decay == Decay::None) continue;
      out.push_back({kNames[i], sum(t.grad(), 3, true).to_vector()});
      continue;
    }
    out.push_back({kNames[i], t.grad().to_vector()});
  }
  return out;
}

bool all_finite(const std::vector<double>& v) {
  for (double e : v)
    if (!std::isfinite(e)) return false;
  return true;
}

}  // namespace

TEST_CASE("delta_scan: forward and final state match the token-by-token recurrence", "[delta_scan]") {
  int index = 0;
  for (Decay decay : {Decay::None, Decay::PerHead, Decay::PerChannel})
    for (bool delta_rule : {false, true})
      for (int64_t T : {1, 15, 64, 130})
        for (int64_t chunk : {1, 7, 64}) {
          Problem p;
          p.decay = decay;
          p.delta_rule = delta_rule;
          p.T = T;
          p.dk = index % 2 ? 5 : 8;
          p.dv = index % 3 ? 7 : 4;
          p.initial_state = index % 4 != 3;
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

TEST_CASE("delta_scan: F64 gradient checks of all inputs", "[delta_scan]") {
  // Inputs arrive uniform in [-1, 1]; the log decay is mapped into [-1.2, -0.2]
  // and a, b scaled so the transition stays moderate.
  auto to_log_decay = [](const Tensor& x) { return add(mul(x, 0.5), -0.7); };
  struct Variant {
    Decay decay;
    int64_t T, dk, dv, chunk;
  };
  // Chunk 3 over T 7: several chunks and a short last one.
  const std::vector<Variant> variants = {{Decay::None, 7, 3, 2, 3},       {Decay::PerHead, 7, 3, 2, 3},
                                         {Decay::PerChannel, 7, 3, 2, 3}, {Decay::PerHead, 9, 4, 3, 16},
                                         {Decay::None, 9, 4, 3, 1},       {Decay::PerChannel, 9, 2, 3, 4}};
  std::vector<GradCase> cases;
  for (const Variant& c : variants) {
    const int64_t B = 2, H = 2;
    std::vector<Shape> shapes = {{B, H, c.T, c.dk}, {B, H, c.T, c.dk}, {B, H, c.T, c.dv}};
    const bool has_decay = c.decay != Decay::None;
    if (has_decay) shapes.push_back({B, H, c.T, c.decay == Decay::PerChannel ? c.dk : 1});
    shapes.push_back({B, H, c.T, c.dk});
    shapes.push_back({B, H, c.T, c.dk});
    shapes.push_back({B, H, c.dk, c.dv});
    const int64_t chunk = c.chunk;
    cases.push_back(GradCase{std::string(decay_name(c.decay)) + " T " + std::to_string(c.T) + " chunk " +
                                 std::to_string(c.chunk),
                             shapes, [=](const std::vector<Tensor>& in) {
                               size_t i = 3;
                               const Tensor g = has_decay ? to_log_decay(in[i++]) : Tensor();
                               const Tensor a = mul(in[i], 0.6), b = mul(in[i + 1], 0.6);
                               return delta_scan(in[0], in[1], in[2], g, a, b, in[i + 2],
                                                 {.chunk = chunk, .scale = 0.8});
                             }});
  }
  testing::check_all(cases);
}

TEST_CASE("delta_scan: the chunked and the recurrent form agree in F64, gradients included", "[delta_scan]") {
  for (Decay decay : {Decay::None, Decay::PerHead})
    for (bool delta_rule : {false, true})
      for (int64_t chunk : {1, 16, 64}) {
        Problem p;
        p.decay = decay;
        p.delta_rule = delta_rule;
        p.T = 150;
        p.dk = 12;
        p.dv = 9;
        INFO(p.describe() << ", chunk " << chunk);
        const Values x = draw(p);
        Generator gen(4);
        const Tensor w = Tensor::randn({p.B, p.H, p.T, p.dv}, gen, DType::F64);
        Inputs chunked = tensors(p, x, DType::F64, false), recurrent = tensors(p, x, DType::F64, false, true);
        Tensor s_chunked, s_recurrent;
        CHECK(rel_err(run(p, recurrent, chunk, &s_recurrent).to_vector(),
                      run(p, chunked, chunk, &s_chunked).to_vector()) < 1e-10);
        CHECK(rel_err(s_recurrent.to_vector(), s_chunked.to_vector()) < 1e-10);
        const auto a = gradients(p, x, DType::F64, chunk, w), b = gradients(p, x, DType::F64, chunk, w, true);
        REQUIRE(a.size() == b.size());
        for (size_t i = 0; i < a.size(); ++i) {
          INFO("gradient of " << a[i].input);
          CHECK(rel_err(b[i].values, a[i].values) < 1e-10);
        }
      }
}

TEST_CASE("delta_scan: continuing from a final state equals one call", "[delta_scan]") {
  for (Decay decay : {Decay::None, Decay::PerHead, Decay::PerChannel}) {
    Problem whole;
    whole.decay = decay;
    whole.T = 90;
    INFO(whole.describe());
    const Values x = draw(whole);
    Inputs in = tensors(whole, x, DType::F64, false);
    Tensor state_whole;
    const std::vector<double> o_whole = run(whole, in, 16, &state_whole).to_vector();
    Tensor state_first, state_second;
    auto part = [&](const Tensor& t, int64_t a, int64_t b) { return t.defined() ? slice(t, 2, a, b) : Tensor(); };
    const DeltaScanOptions opts{.chunk = 16, .scale = whole.scale};
    Tensor o1 = delta_scan(part(in.q, 0, 37), part(in.k, 0, 37), part(in.v, 0, 37), part(in.g, 0, 37),
                           part(in.a, 0, 37), part(in.b, 0, 37), in.s0, opts, &state_first);
    Tensor o2 = delta_scan(part(in.q, 37, 90), part(in.k, 37, 90), part(in.v, 37, 90), part(in.g, 37, 90),
                           part(in.a, 37, 90), part(in.b, 37, 90), state_first, opts, &state_second);
    CHECK(rel_err(o_whole, concat({o1, o2}, 2).to_vector()) < 1e-12);
    CHECK(rel_err(state_whole.to_vector(), state_second.to_vector()) < 1e-12);
  }
}

TEST_CASE("delta_scan: F32 matches F64 at T = 500 and across chunk sizes", "[delta_scan]") {
  for (Decay decay : {Decay::None, Decay::PerHead, Decay::PerChannel}) {
    Problem p;
    p.decay = decay;
    p.delta_rule = true;
    p.B = 1;
    p.T = 500;
    p.dk = 16;
    p.dv = 12;
    INFO(p.describe());
    const Values x = draw(p);
    Generator gen(8);
    const Tensor w = Tensor::randn({p.B, p.H, p.T, p.dv}, gen, DType::F64);
    const auto ref = gradients(p, x, DType::F64, 64, w);
    for (int64_t chunk : {16, 64}) {
      INFO("chunk " << chunk);
      const auto f32 = gradients(p, x, DType::F32, chunk, w);
      Inputs in64 = tensors(p, x, DType::F64, false), in32 = tensors(p, x, DType::F32, false);
      CHECK(rel_err(run(p, in64, 64).to_vector(), run(p, in32, chunk).to_vector()) < 1e-5);
      for (size_t i = 0; i < ref.size(); ++i) {
        INFO("gradient of " << ref[i].input);
        CHECK(all_finite(f32[i].values));
        CHECK(rel_err(ref[i].values, f32[i].values) < 2e-5);
      }
    }
  }
}

TEST_CASE("delta_scan: results do not depend on the thread count", "[delta_scan]") {
  for (Decay decay : {Decay::PerHead, Decay::PerChannel}) {
    Problem p;
    p.decay = decay;
    p.H = 4;
    p.T = 100;
    const Values x = draw(p);
    Generator gen(10);
    const Tensor w = Tensor::randn({p.B, p.H, p.T, p.dv}, gen, DType::F64);
    const int previous = omp_get_max_threads();
    omp_set_num_threads(1);
    const auto one = gradients(p, x, DType::F32, 32, w);
    omp_set_num_threads(2);
    const auto two = gradients(p, x, DType::F32, 32, w);
    omp_set_num_threads(previous);
    REQUIRE(one.size() == two.size());
    for (size_t i = 0; i < one.size(); ++i) CHECK(one[i].values == two[i].values);
  }
}

TEST_CASE("delta_scan: only the inputs that require a gradient get one", "[delta_scan]") {
  Problem p;
  const Values x = draw(p);
  Inputs in = tensors(p, x, DType::F64, false);
  in.g.requires_grad_();
  in.b.requires_grad_();
  Tensor o = run(p, in, 4);
  o.backward(Tensor::ones(o.shape(), DType::F64));
  CHECK(in.g.grad().defined());
  CHECK(in.b.grad().defined());
  CHECK_FALSE(in.q.grad().defined());
  CHECK_FALSE(in.a.grad().defined());
  CHECK_FALSE(in.s0.grad().defined());
  const auto all = gradients(p, x, DType::F64, 4, Tensor::ones(o.shape(), DType::F64));
  REQUIRE(all[3].input == "log_decay");
  CHECK(rel_err(all[3].values, in.g.grad().to_vector()) < 1e-14);
}

TEST_CASE("delta_scan: bad arguments throw mixlab::Error", "[delta_scan]") {
  const Tensor q = Tensor::zeros({1, 2, 5, 3}), v = Tensor::zeros({1, 2, 5, 4});
  const Tensor g = Tensor::full({1, 2, 5, 3}, -0.5), s0 = Tensor::zeros({1, 2, 3, 4});
  REQUIRE_NOTHROW(delta_scan(q, q, v, g, q, q, s0, {.chunk = 2}));
  REQUIRE_NOTHROW(delta_scan(q, q, v, Tensor::full({1, 2, 5, 1}, -0.5), q, q, Tensor(), {}));
  REQUIRE_THROWS_WITH(delta_scan(q, q, v, g, Tensor::zeros({1, 2, 5, 4}), q, Tensor(), {}),
                      Catch::Contains("must all be (B,H,T,dk)"));
  REQUIRE_THROWS_AS(delta_scan(q, q, Tensor::zeros({1, 3, 5, 4}), g, q, q, Tensor(), {}), Error);
  REQUIRE_THROWS_AS(delta_scan(q, q, v, g, q, Tensor(), Tensor(), {}), Error);
  REQUIRE_THROWS_WITH(delta_scan(q, q, v, Tensor::full({1, 2, 5, 2}, -0.5), q, q, Tensor(), {}),
                      Catch::Contains("log_decay (1,2,5,2)"));
  REQUIRE_THROWS_WITH(delta_scan(q, q, v, Tensor::full({1, 2, 5, 3}, 0.25), q, q, Tensor(), {}),
                      Catch::Contains("<= 0"));
  REQUIRE_THROWS_AS(delta_scan(q, q, v, g, q, q, Tensor::zeros({1, 2, 4, 3}), {}), Error);
  REQUIRE_THROWS_WITH(delta_scan(q, q, v, g, q, q, Tensor(), {.chunk = 0}), Catch::Contains("chunk 0"));
  REQUIRE_THROWS_AS(delta_scan(q, q, v.to(DType::F64), g, q, q, Tensor(), {}), Error);
}
