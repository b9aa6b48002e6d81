// Neural-network ops: each forward runs one fused CPU kernel (kernels/cpu/nn_kernels)
// and records a hand-written backward that runs another.
#include "autograd/ops/nn.h"

#include <cmath>

#include "autograd/ops/op_util.h"
#include "autograd/tape.h"
#include "kernels/cpu/nn_kernels.h"

namespace mixlab {

using ops_detail::check_float_compatible;
using ops_detail::check_indices;
using ops_detail::AxisView;
using ops_detail::Backend;
using ops_detail::view_around;

namespace {

// weight/bias of a norm: undefined (no affine) or (C) with x's dtype and device.
void check_norm_param(const char* op, const char* name, const Tensor& p, const Tensor& x) {
  if (!p.defined()) return;
  check_float_compatible(op, {x, p});
  MIXLAB_CHECK(p.shape() == Shape{x.size(-1)}, op, ": ", name, " ", p.shape().str(),
               " must be (C) with C = ", x.size(-1), ", the last extent of x ", x.shape().str());
}

// x of shape (..., C) with C > 0 -> rows R = numel / C; and a valid eps.
void check_norm_input(const char* op, const Tensor& x, double eps) {
  check_float_compatible(op, {x});
  MIXLAB_CHECK(x.ndim() >= 1 && x.size(-1) > 0, op, ": x ", x.describe(),
               " must have a non-empty last axis to normalise over");
  MIXLAB_CHECK(std::isfinite(eps) && eps >= 0, op, ": eps = ", eps, " must be finite and >= 0");
}

// Forward and backward of softmax and log-softmax share everything but the
// formula; the backward needs only the output.
Tensor softmax_like(const char* op, const Tensor& x, int axis, bool log) {
  check_float_compatible(op, {x});
  const Backend backend = Backend::of("nn", op, x);
  const AxisView v = view_around(x, op, axis);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), op, [&] {
    MIXLAB_RUN_KERNEL(backend, softmax_forward, x.data<scalar_t>(), out.data<scalar_t>(), v.outer, v.n, v.inner, log);
  });
  record(op, out, {x}, [op, v, log, backend, y = saved(out)](const Tensor& g) {
    Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
    MIXLAB_DISPATCH_FLOAT(y.dtype(), op, [&] {
      MIXLAB_RUN_KERNEL(backend, softmax_backward, y.data<scalar_t>(), g.data<scalar_t>(), dx.data<scalar_t>(),
                        v.outer, v.n, v.inner, log);
    });
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace

// x (..., n, ...) -> out of the same shape, each line along `axis` summing to 1.
Tensor softmax(const Tensor& x, int axis) { return softmax_like("softmax", x, axis, /*log=*/false); }

// x (..., n, ...) -> out of the same shape: x - logsumexp(x) along `axis`.
Tensor log_softmax(const Tensor& x, int axis) { return softmax_like("log_softmax", x, axis, /*log=*/true); }

// logits (N,V), targets i64 (N) -> mean over counted rows of -log_softmax(logits)[target], shape ().
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, int64_t ignore_index) {
  constexpr const char* op = "cross_entropy";
  check_float_compatible(op, {logits});
  check_indices(op, targets, logits);
  const Backend backend = Backend::of("nn", op, logits);
  MIXLAB_CHECK(logits.ndim() == 2, op, ": logits ", logits.shape().str(), " must be (N, V)");
  MIXLAB_CHECK(targets.ndim() == 1 && targets.size(0) == logits.size(0), op, ": targets ", targets.shape().str(),
               " must have one entry per logits row ", logits.shape().str());
  const int64_t N = logits.size(0), V = logits.size(1);
  const Tensor host_targets = backend.on_cuda() ? targets.to(Device::cpu()) : targets;
  const int64_t bad_row = cpu::cross_entropy_invalid_row(host_targets.data<int64_t>(), N, V, ignore_index);
  if (bad_row >= 0)
    throw Error(detail::concat(op, ": target ", host_targets.to_indices()[bad_row], " at row ", bad_row,
                               " is outside [0, ", V, ") and is not ignore_index (", ignore_index, ")"));

  // Per-row logsumexp in double: the backward rebuilds softmax from it.
  Tensor lse = Tensor::empty(Shape{N}, DType::F64, logits.device());
  cpu::CrossEntropyTotals totals;
  // An explicit branch: the backends differ in algorithm (the CPU kernel
  // returns the summed loss; the GPU one leaves a loss per row).
  if (backend.on_cuda()) {
    // The device leaves each row's loss; the sum runs here in row order, as on the CPU.
    Tensor row_loss = Tensor::empty(Shape{N}, DType::F64, logits.device());
    MIXLAB_DISPATCH_FLOAT(logits.dtype(), op, [&] {
      cuda::cross_entropy_forward(backend.cuda_device(), logits.data<scalar_t>(), targets.data<int64_t>(),
                                  lse.data<double>(), row_loss.data<double>(), N, V, ignore_index);
    });
    const std::vector<double> losses = row_loss.to_vector();
    const std::vector<int64_t> t = host_targets.to_indices();
    for (int64_t i = 0; i < N; ++i)
      if (t[i] != ignore_index) {
        totals.loss_sum += losses[i];
        ++totals.count;
      }
  } else {
    totals = MIXLAB_DISPATCH_FLOAT(logits.dtype(), op, [&] {
      return cpu::cross_entropy_forward(logits.data<scalar_t>(), targets.data<int64_t>(), lse.data<double>(), N, V,
                                        ignore_index);
    });
  }
  const int64_t count = totals.count;
  const double loss = count > 0 ? totals.loss_sum / static_cast<double>(count) : 0.0;
  Tensor out = Tensor::full(Shape{}, loss, logits.dtype(), logits.device());

  record(op, out, {logits, targets},
         [op, N, V, ignore_index, count, backend, x = saved(logits), t = saved(targets), lse](const Tensor& g) {
           Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
           // With every row ignored the loss is the constant 0.
           const double scale = count > 0 ? g.item() / static_cast<double>(count) : 0.0;
           MIXLAB_DISPATCH_FLOAT(x.dtype(), op, [&] {
             MIXLAB_RUN_KERNEL(backend, cross_entropy_backward, x.data<scalar_t>(), t.data<int64_t>(),
                               lse.data<double>(), scale, dx.data<scalar_t>(), N, V, ignore_index);
           });
           return std::vector<Tensor>{dx, Tensor()};
         });
  return out;
}

// x (..., C), weight (C) or undefined, bias (C) or undefined -> out (..., C).
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps) {
  constexpr const char* op = "layer_norm";
  check_norm_input(op, x, eps);
  check_norm_param(op, "weight", weight, x);
  check_norm_param(op, "bias", bias, x);
  const Backend backend = Backend::of("nn", op, x);
  const int64_t C = x.size(-1), R = x.numel() / C;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor mean = Tensor::empty(Shape{R}, x.dtype(), x.device());
  Tensor rstd = Tensor::empty(Shape{R}, x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), op, [&] {
    const scalar_t* w = weight.defined() ? weight.data<scalar_t>() : nullptr;
    const scalar_t* b = bias.defined() ? bias.data<scalar_t>() : nullptr;
    MIXLAB_RUN_KERNEL(backend, layer_norm_forward, x.data<scalar_t>(), w, b, out.data<scalar_t>(),
                      mean.data<scalar_t>(), rstd.data<scalar_t>(), R, C, eps);
  });

  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad(), need_db = bias.requires_grad();
  record(op, out, {x, weight, bias},
         [op, R, C, need_dx, need_dw, need_db, backend, xs = saved(x), w = weight.defined() ? saved(weight) : Tensor(),
          mean, rstd](const Tensor& g) {
           Tensor dx = need_dx ? Tensor::empty(xs.shape(), xs.dtype(), xs.device()) : Tensor();
           Tensor dw = need_dw ? Tensor::empty(Shape{C}, xs.dtype(), xs.device()) : Tensor();
           Tensor db = need_db ? Tensor::empty(Shape{C}, xs.dtype(), xs.device()) : Tensor();
           MIXLAB_DISPATCH_FLOAT(xs.dtype(), op, [&] {
             const scalar_t* wp = w.defined() ? w.data<scalar_t>() : nullptr;
             scalar_t* dxp = need_dx ? dx.data<scalar_t>() : nullptr;
             scalar_t* dwp = need_dw ? dw.data<scalar_t>() : nullptr;
             scalar_t* dbp = need_db ? db.data<scalar_t>() : nullptr;
             MIXLAB_RUN_KERNEL(backend, layer_norm_backward, xs.data<scalar_t>(), wp, mean.data<scalar_t>(),
                               rstd.data<scalar_t>(), g.data<scalar_t>(), dxp, dwp, dbp, R, C);
           });
           return std::vector<Tensor>{dx, dw, db};
         });
  return out;
}

// x (..., C), weight (C) or undefined -> out (..., C).
Tensor rms_norm(const Tensor& x, const Tensor& weight, double eps) {
  constexpr const char* op = "rms_norm";
  check_norm_input(op, x, eps);
  check_norm_param(op, "weight", weight, x);
  const Backend backend = Backend::of("nn", op, x);
  const int64_t C = x.size(-1), R = x.numel() / C;
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  Tensor rstd = Tensor::empty(Shape{R}, x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), op, [&] {
    const scalar_t* w = weight.defined() ? weight.data<scalar_t>() : nullptr;
    MIXLAB_RUN_KERNEL(backend, rms_norm_forward, x.data<scalar_t>(), w, out.data<scalar_t>(), rstd.data<scalar_t>(),
                      R, C, eps);
  });

  const bool need_dx = x.requires_grad(), need_dw = weight.requires_grad();
  record(op, out, {x, weight},
         [op, R, C, need_dx, need_dw, backend, xs = saved(x), w = weight.defined() ? saved(weight) : Tensor(),
          rstd](const Tensor& g) {
           Tensor dx = need_dx ? Tensor::empty(xs.shape(), xs.dtype(), xs.device()) : Tensor();
           Tensor dw = need_dw ? Tensor::empty(Shape{C}, xs.dtype(), xs.device()) : Tensor();
           MIXLAB_DISPATCH_FLOAT(xs.dtype(), op, [&] {
             const scalar_t* wp = w.defined() ? w.data<scalar_t>() : nullptr;
             scalar_t* dxp = need_dx ? dx.data<scalar_t>() : nullptr;
             scalar_t* dwp = need_dw ? dw.data<scalar_t>() : nullptr;
             MIXLAB_RUN_KERNEL(backend, rms_norm_backward, xs.data<scalar_t>(), wp, rstd.data<scalar_t>(),
                               g.data<scalar_t>(), dxp, dwp, R, C);
           });
           return std::vector<Tensor>{dx, dw};
         });
  return out;
}

// x (any shape) -> out (same shape). Takes numel counters from `gen` when it draws a
// mask; the identity cases (!training, p == 0) return x and take none.
Tensor dropout(const Tensor& x, double p, Generator& gen, bool training) {
  constexpr const char* op = "dropout";
  check_float_compatible(op, {x});
  MIXLAB_CHECK(p >= 0 && p <= 1, op, ": p = ", p, " is outside [0, 1]");
  if (!training || p == 0) return x;
  const Backend backend = Backend::of("nn", op, x);
  const int64_t n = x.numel();
  const uint64_t seed = gen.seed(), first = gen.take(static_cast<uint64_t>(n));
  // The same Philox counters on both devices: the same elements are dropped.
  auto apply = [backend, n, p, seed, first](const Tensor& in, const Tensor& out) {
    MIXLAB_DISPATCH_FLOAT(in.dtype(), "dropout", [&] {
      MIXLAB_RUN_KERNEL(backend, dropout_apply, in.data<scalar_t>(), out.data<scalar_t>(), n, p, seed, first);
    });
  };
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  apply(x, out);
  // The backward recomputes the mask from (seed, first) rather than saving it.
  record(op, out, {x}, [apply](const Tensor& g) {
    Tensor dx = Tensor::empty(g.shape(), g.dtype(), g.device());
    apply(g, dx);
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace mixlab
