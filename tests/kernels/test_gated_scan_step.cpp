// The CUDA gated scan's per-token math (kernels/cuda/gated_scan_step.h) run on
// the CPU in the kernel's order, one (batch, head) at a time: its outputs,
// final state and the gradients of all six inputs equal the CPU's chunked
// kernel in F64. The GPU itself runs the same functions between barriers
// (kernels/cuda/gated_scan.cu); the [cuda] tests compare that on a GPU.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "kernels/cuda/gated_scan_step.h"

using namespace mixlab;

namespace {

struct StepCase {
  int64_t B, H, Hq, T, dk, dv, width;  // width: 0 (no decay), 1 (per head) or dk
  bool bonus, initial_state;
};

struct Inputs {
  std::vector<double> q, k, v, g, u, s0, dout;
};

struct Results {
  std::vector<double> o, last, dq, dk, dv, dg, du, ds0;
};

// The kernels' order, sequentially: forward keeping every S_{t-1}, then the
// reverse walk (the kernel replays the states per chunk instead).
Results run_steps(const StepCase& c, const Inputs& in, double scale) {
  const int64_t dk = c.dk, dv = c.dv, T = c.T, group = c.H / c.Hq;
  Results r;
  r.o.assign(c.B * c.H * T * dv, 0);
  r.last.assign(c.B * c.H * dk * dv, 0);
  r.dq.assign(c.B * c.Hq * T * dk, 0);
  r.dk.assign(c.B * c.Hq * T * dk, 0);
  r.dv.assign(c.B * c.H * T * dv, 0);
  r.dg.assign(c.B * c.H * T * c.width, 0);
  r.du.assign(c.bonus ? c.H * dk : 0, 0);
  r.ds0.assign(c.B * c.H * dk * dv, 0);
  std::vector<double> q(dk), k(dk), a(dk), u(dk), row(dk), v(dv), G(dv), scalars(2);
  const cuda::scan::TokenVectors<double> tv{q.data(), k.data(), a.data(), u.data(), row.data(), v.data(), G.data(),
                                            scalars.data()};
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.H; ++h) {
      const int64_t bh = b * c.H + h, qk0 = (b * c.Hq + h / group) * T * dk, v0 = bh * T * dv, g0 = bh * T * c.width;
      auto load = [&](int64_t t, bool with_grad) {
        for (int64_t i = 0; i < dk; ++i) {
          q[i] = in.q[qk0 + t * dk + i];
          k[i] = in.k[qk0 + t * dk + i];
          a[i] = c.width ? std::exp(in.g[g0 + t * c.width + (c.width == 1 ? 0 : i)]) : 1.0;
          u[i] = c.bonus ? in.u[h * dk + i] : 0.0;
        }
        for (int64_t j = 0; j < dv; ++j) {
          v[j] = in.v[v0 + t * dv + j];
          G[j] = with_grad ? scale * in.dout[v0 + t * dv + j] : 0.0;
        }
        scalars[0] = cuda::scan::bonus_weight(tv, dk);
        scalars[1] = cuda::scan::value_grad_dot(tv, dv);
      };
      std::vector<double> S(dk * dv, 0.0);
      if (c.initial_state) std::copy(in.s0.begin() + bh * dk * dv, in.s0.begin() + (bh + 1) * dk * dv, S.begin());
      std::vector<std::vector<double>> before(T);  // S_{t-1}
      for (int64_t t = 0; t < T; ++t) {
        load(t, false);
        before[t] = S;
        if (!c.bonus)
          for (int64_t e = 0; e < dk * dv; ++e) cuda::scan::update_element(S.data(), dv, tv, dv, e);
        for (int64_t j = 0; j < dv; ++j)
          r.o[v0 + t * dv + j] = cuda::scan::output_column(S.data(), dv, tv, dk, j, scale, c.bonus);
        if (c.bonus)
          for (int64_t e = 0; e < dk * dv; ++e) cuda::scan::update_element(S.data(), dv, tv, dv, e);
      }
      std::copy(S.begin(), S.end(), r.last.begin() + bh * dk * dv);
      std::vector<double> dS(dk * dv, 0.0);
      for (int64_t t = T - 1; t >= 0; --t) {
        load(t, true);
        const std::vector<double>& Sp = before[t];
        if (!c.bonus)
          for (int64_t e = 0; e < dk * dv; ++e) cuda::scan::add_output_grad(dS.data(), dv, tv, dv, e);
        double dg_head = 0;
        for (int64_t i = 0; i < dk; ++i) {
          const auto g = cuda::scan::row_grads(dS.data(), Sp.data(), dv, tv, dv, i, c.bonus);
          r.dq[qk0 + t * dk + i] += g.dq;  // heads of a group in order, as the kernel's head sums
          r.dk[qk0 + t * dk + i] += g.dk;
          if (c.bonus) r.du[h * dk + i] += g.du;
          if (c.width == 1) dg_head += g.dg;
          if (c.width > 1) r.dg[g0 + t * dk + i] = g.dg;
        }
        if (c.width == 1) r.dg[g0 + t] = dg_head;
        for (int64_t j = 0; j < dv; ++j)
          r.dv[v0 + t * dv + j] = cuda::scan::column_grad(dS.data(), dv, tv, dk, j, c.bonus);
        for (int64_t e = 0; e < dk * dv; ++e) cuda::scan::carry_element(dS.data(), dv, tv, dv, e, c.bonus);
      }
      std::copy(dS.begin(), dS.end(), r.ds0.begin() + bh * dk * dv);
    }
  return r;
}

double max_relative(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double worst = 0, scale = 1e-300;
  for (size_t i = 0; i < a.size(); ++i) scale = std::max(scale, std::abs(b[i]));
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::abs(a[i] - b[i]) / scale);
  return worst;
}

}  // namespace

TEST_CASE("gated scan step: the CUDA kernel's recurrent math equals the chunked CPU kernel (F64)",
          "[kernels][gated_scan]") {
  const std::vector<StepCase> cases = {{1, 1, 1, 1, 3, 2, 0, false, false}, {2, 2, 2, 19, 4, 5, 0, false, true},
                                       {2, 4, 1, 23, 3, 6, 1, false, true}, {1, 2, 2, 30, 6, 4, 6, false, false},
                                       {2, 2, 2, 17, 5, 3, 5, true, true},  {1, 4, 2, 21, 4, 4, 1, true, false}};
  Generator gen(42);
  for (const StepCase& c : cases) {
    INFO("B " << c.B << " H " << c.H << " Hq " << c.Hq << " T " << c.T << " dk " << c.dk << " dv " << c.dv
              << " decay width " << c.width << (c.bonus ? " bonus" : ""));
    auto leaf = [&](Shape shape, bool log_decay = false) {
      Tensor t = Tensor::randn(shape, gen, DType::F64);
      if (log_decay) t = neg(softplus(t));
      return t.detach().requires_grad_(true);
    };
    Tensor q = leaf({c.B, c.Hq, c.T, c.dk}), k = leaf({c.B, c.Hq, c.T, c.dk}), v = leaf({c.B, c.H, c.T, c.dv});
    Tensor g = c.width ? leaf({c.B, c.H, c.T, c.width}, true) : Tensor();
    Tensor u = c.bonus ? leaf({c.H, c.dk}) : Tensor(), s0 = c.initial_state ? leaf({c.B, c.H, c.dk, c.dv}) : Tensor();
    Tensor dout = Tensor::randn({c.B, c.H, c.T, c.dv}, gen, DType::F64);
    const double scale = 0.7;
    Tensor last;
    Tensor o = gated_scan(q, k, v, g, u, s0, GatedScanOptions{8, c.bonus, scale}, &last);
    o.backward(dout);

    auto values = [](const Tensor& t) { return t.defined() ? t.to_vector() : std::vector<double>{}; };
    const Inputs in{values(q), values(k), values(v), values(g), values(u), values(s0), values(dout)};
    const Results r = run_steps(c, in, scale);
    CHECK(max_relative(r.o, o.to_vector()) < 1e-12);
    CHECK(max_relative(r.last, last.to_vector()) < 1e-12);
    CHECK(max_relative(r.dq, q.grad().to_vector()) < 1e-12);
    CHECK(max_relative(r.dk, k.grad().to_vector()) < 1e-12);
    CHECK(max_relative(r.dv, v.grad().to_vector()) < 1e-12);
    if (c.width) CHECK(max_relative(r.dg, g.grad().to_vector()) < 1e-11);
    if (c.bonus) CHECK(max_relative(r.du, u.grad().to_vector()) < 1e-12);
    if (c.initial_state) CHECK(max_relative(r.ds0, s0.grad().to_vector()) < 1e-12);
  }
}
