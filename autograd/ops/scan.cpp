// Sequence-axis ops: each forward runs one CPU kernel (kernels/cpu/scan_kernels)
// and records a hand-written backward.
#include "autograd/ops/scan.h"

#include "autograd/ops/op_util.h"
#include "autograd/tape.h"
#include "kernels/cpu/scan_kernels.h"

namespace mixlab {

using ops_detail::check_float_compatible;
using ops_detail::AxisView;
using ops_detail::Backend;
using ops_detail::view_around;

namespace {

Tensor run_cumsum(const Backend& backend, const Tensor& x, const AxisView& v, bool reverse) {
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), "cumsum", [&] {
    MIXLAB_RUN_KERNEL(backend, cumsum, x.data<scalar_t>(), out.data<scalar_t>(), v.outer, v.n, v.inner, reverse);
  });
  return out;
}

}  // namespace

// x (..., n, ...) -> out of the same shape: out[.., k, ..] = sum_{i<=k} x[.., i, ..]
// along `axis` (sum_{i>=k} when reverse).
Tensor cumsum(const Tensor& x, int axis, bool reverse) {
  check_float_compatible("cumsum", {x});
  const Backend backend = Backend::of("scan", "cumsum", x);
  const AxisView v = view_around(x, "cumsum", axis);
  Tensor out = run_cumsum(backend, x, v, reverse);
  // Input i reaches every output at or after it (before it when reverse), so the
  // gradient is the cumulative sum of g in the opposite direction.
  record("cumsum", out, {x},
         [backend, v, reverse](const Tensor& g) { return std::vector<Tensor>{run_cumsum(backend, g, v, !reverse)}; });
  return out;
}

// x (B,T,C), weight (C,K), bias (C) or undefined -> out (B,T,C).
Tensor causal_conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  constexpr const char* op = "causal_conv1d";
  check_float_compatible(op, {x, weight});
  if (bias.defined()) check_float_compatible(op, {x, bias});
  const Backend backend = Backend::of("scan", op, x);
  MIXLAB_CHECK(x.ndim() == 3, op, ": x ", x.shape().str(), " must be (B, T, C)");
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  MIXLAB_CHECK(weight.ndim() == 2 && weight.size(0) == C && weight.size(1) >= 1, op, ": weight ",
               weight.shape().str(), " must be (C, K) with C = ", C, " channels of x ", x.shape().str(), " and K >= 1");
  const int64_t K = weight.size(1);
  MIXLAB_CHECK(!bias.defined() || bias.shape() == Shape{C}, op, ": bias ", bias.shape().str(), " must be (C) with C = ",
               C, " channels of x ", x.shape().str());

  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), op, [&] {
    const scalar_t* b = bias.defined() ? bias.data<scalar_t>() : nullptr;
    MIXLAB_RUN_KERNEL(backend, causal_conv1d_forward, x.data<scalar_t>(), weight.data<scalar_t>(), b,
                      out.data<scalar_t>(), B, T, C, K);
  });

  // Save only what the wanted gradients read: dx needs the weight, dweight needs x.
  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad(), need_db = bias.requires_grad();
  record(op, out, {x, weight, bias},
         [op, B, T, C, K, need_dx, need_dw, need_db, backend, xs = need_dw ? saved(x) : Tensor(),
          w = need_dx ? saved(weight) : Tensor()](const Tensor& g) {
           Tensor dx = need_dx ? Tensor::empty(g.shape(), g.dtype(), g.device()) : Tensor();
           Tensor dw = need_dw ? Tensor::empty(Shape{C, K}, g.dtype(), g.device()) : Tensor();
           Tensor db = need_db ? Tensor::empty(Shape{C}, g.dtype(), g.device()) : Tensor();
           MIXLAB_DISPATCH_FLOAT(g.dtype(), op, [&] {
             const scalar_t* xp = need_dw ? xs.data<scalar_t>() : nullptr;
             const scalar_t* wp = need_dx ? w.data<scalar_t>() : nullptr;
             scalar_t* dxp = need_dx ? dx.data<scalar_t>() : nullptr;
             scalar_t* dwp = need_dw ? dw.data<scalar_t>() : nullptr;
             scalar_t* dbp = need_db ? db.data<scalar_t>() : nullptr;
             MIXLAB_RUN_KERNEL(backend, causal_conv1d_backward, xp, wp, g.data<scalar_t>(), dxp, dwp, dbp, B, T, C,
                               K);
           });
           return std::vector<Tensor>{dx, dw, db};
         });
  return out;
}

}  // namespace mixlab
