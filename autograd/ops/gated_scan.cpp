// Gated linear recurrence op: the forward saves the state entering every chunk
// (B·H·ceil(T/C)·dk·dv values); the backward runs the chunked reverse pass from
// those states (kernels/cpu/gated_scan.cpp, where the log-decay gradient is derived).
#include "autograd/ops/gated_scan.h"

#include <cmath>

#include "autograd/ops/log_decay_check.h"
#include "autograd/ops/op_util.h"
#include "autograd/ops/reduce.h"
#include "autograd/tape.h"
#include "kernels/cpu/gated_scan.h"

namespace mixlab {

using namespace ops_detail;

namespace {

constexpr const char* kOp = "gated_scan";

}  // namespace

// q, k (B,Hq,T,dk), v (B,H,T,dv), log_decay (B,H,T,dk|1) or none, u (H,dk) or none,
// initial_state (B,H,dk,dv) or none -> o (B,H,T,dv); *final_state (B,H,dk,dv).
Tensor gated_scan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& u,
                  const Tensor& initial_state, const GatedScanOptions& opts, Tensor* final_state) {
  check_float_compatible(kOp, {q, k, v});
  for (const Tensor* t : {&log_decay, &u, &initial_state})
    if (t->defined()) check_float_compatible(kOp, {q, *t});
  MIXLAB_CHECK(q.ndim() == 4 && k.shape() == q.shape() && v.ndim() == 4 && v.size(0) == q.size(0) &&
                   v.size(2) == q.size(2) && q.size(1) > 0 && v.size(1) % q.size(1) == 0,
               kOp, ": q ", q.shape().str(), ", k ", k.shape().str(), " must be (B,Hq,T,dk) and v ", v.shape().str(),
               " (B,H,T,dv) with Hq dividing H");
  const int64_t B = q.size(0), Hq = q.size(1), T = q.size(2), dk = q.size(3), H = v.size(1), dv = v.size(3);
  MIXLAB_CHECK(opts.chunk >= 1, kOp, ": chunk ", opts.chunk, " must be >= 1");
  MIXLAB_CHECK(std::isfinite(opts.scale), kOp, ": scale ", opts.scale, " must be finite");
  const int64_t width = check_log_decay(kOp, log_decay, B, H, T, dk);
  MIXLAB_CHECK(opts.bonus == u.defined(), kOp, ": u must be given iff bonus is on (bonus ",
               opts.bonus ? "on" : "off", ", u ", u.defined() ? u.shape().str() : std::string("undefined"), ")");
  MIXLAB_CHECK(!u.defined() || (u.shape() == Shape{H, dk}), kOp, ": u ", u.shape().str(), " must be (H,dk) = (", H,
               ",", dk, ")");
  MIXLAB_CHECK(!initial_state.defined() || (initial_state.shape() == Shape{B, H, dk, dv}), kOp, ": initial_state ",
               initial_state.shape().str(), " must be (B,H,dk,dv) = (", B, ",", H, ",", dk, ",", dv, ")");

  const cpu::GatedScanShape shape{B, H, Hq, T, dk, dv, width};
  const cpu::GatedScanConfig config{opts.chunk, opts.bonus, opts.scale};
  const bool grad = needs_grad({q, k, v, log_decay, u, initial_state});
  Tensor out = Tensor::empty({B, H, T, dv}, q.dtype(), q.device());
  Tensor states = grad ? Tensor::empty({B, H, cpu::gated_scan_chunks(shape, config), dk, dv}, q.dtype(), q.device())
                       : Tensor();
  Tensor last = final_state ? Tensor::empty({B, H, dk, dv}, q.dtype(), q.device()) : Tensor();
  // Explicit branches below: the GPU runs the recurrent form (one block per
  // (batch, head), arguments in one GatedScanArgs) and its backward replays
  // chunks in device scratch; the CPU runs the chunked form.
  const Backend backend = Backend::of("gated_scan", kOp, q);
  const cuda::GatedScanArgs args{B, H, Hq, T, dk, dv, width, opts.chunk, opts.bonus, opts.scale};
  MIXLAB_DISPATCH_FLOAT(q.dtype(), kOp, [&] {
    auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
    if (backend.on_cuda())
      cuda::gated_scan_forward(backend.cuda_device(), args, ptr(q), ptr(k), ptr(v), ptr(log_decay), ptr(u),
                               ptr(initial_state), ptr(out), ptr(last), ptr(states));
    else
      cpu::gated_scan_forward(shape, config, ptr(q), ptr(k), ptr(v), ptr(log_decay), ptr(u), ptr(initial_state),
                              ptr(out), ptr(last), ptr(states));
  });
  if (final_state) *final_state = last;
  if (!grad) return out;

  const bool want_dg = log_decay.requires_grad(), want_du = u.requires_grad(), want_ds0 = initial_state.requires_grad();
  const bool want_dq = q.requires_grad(), want_dk = k.requires_grad(), want_dv = v.requires_grad();
  auto keep = [](const Tensor& t) { return t.defined() ? saved(t) : Tensor(); };
  record(kOp, out, {q, k, v, log_decay, u, initial_state},
         [=, sq = saved(q), sk = saved(k), sv = saved(v), sg = keep(log_decay), su = keep(u)](const Tensor& g) {
           // dq, dk, dv are always computed: dg is built from the per-head dq and dk.
           auto like = [&](const Shape& s) { return Tensor::empty(s, g.dtype(), g.device()); };
           Tensor dq = like(sq.shape()), dk = like(sk.shape()), dv = like(sv.shape());
           Tensor dg = want_dg ? like(sg.shape()) : Tensor(), du = want_du ? like(su.shape()) : Tensor();
           Tensor ds0 = want_ds0 ? like({shape.B, shape.H, shape.dk, shape.dv}) : Tensor();
           MIXLAB_DISPATCH_FLOAT(g.dtype(), kOp, [&] {
             auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
             if (backend.on_cuda()) {
               Tensor scratch = like({cuda::gated_scan_backward_scratch(args)});
               cuda::gated_scan_backward(backend.cuda_device(), args, ptr(sq), ptr(sk), ptr(sv), ptr(sg), ptr(su),
                                         ptr(states), g.data<scalar_t>(), ptr(dq), ptr(dk), ptr(dv), ptr(dg), ptr(du),
                                         ptr(ds0), ptr(scratch));
             } else {
               cpu::gated_scan_backward(shape, config, ptr(sq), ptr(sk), ptr(sv), ptr(sg), ptr(su), ptr(states),
                                        g.data<scalar_t>(), ptr(dq), ptr(dk), ptr(dv), ptr(dg), ptr(du), ptr(ds0));
             }
           });
           return std::vector<Tensor>{want_dq ? dq : Tensor(), want_dk ? dk : Tensor(), want_dv ? dv : Tensor(), dg,
                                      du, ds0};
         });
  return out;
}

}  // namespace mixlab
