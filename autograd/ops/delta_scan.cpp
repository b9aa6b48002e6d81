// Delta-rule scan op: the forward saves the state entering every chunk
// (B·H·ceil(T/C)·dk·dv values); the backward recomputes from those states
// (kernels/cpu/delta_scan.cpp and delta_scan_chunked.cpp, where the gradients
// are derived).
#include "autograd/ops/delta_scan.h"

#include <cmath>

#include "autograd/ops/log_decay_check.h"
#include "autograd/ops/op_util.h"
#include "autograd/ops/reduce.h"
#include "autograd/tape.h"
#include "kernels/cpu/delta_scan.h"

namespace mixlab {

using namespace ops_detail;

namespace {

constexpr const char* kOp = "delta_scan";

}  // namespace

Tensor delta_scan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& a,
                  const Tensor& b, const Tensor& initial_state, const DeltaScanOptions& opts, Tensor* final_state) {
  check_float_compatible(kOp, {q, k, v, a, b});
  for (const Tensor* t : {&log_decay, &initial_state})
    if (t->defined()) check_float_compatible(kOp, {q, *t});
  MIXLAB_CHECK(q.ndim() == 4 && k.shape() == q.shape() && a.shape() == q.shape() && b.shape() == q.shape() &&
                   v.ndim() == 4 && v.size(0) == q.size(0) && v.size(1) == q.size(1) && v.size(2) == q.size(2),
               kOp, ": q ", q.shape().str(), ", k ", k.shape().str(), ", a ", a.shape().str(), ", b ",
               b.shape().str(), " must all be (B,H,T,dk) and v ", v.shape().str(), " (B,H,T,dv)");
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), dk = q.size(3), dv = v.size(3);
  MIXLAB_CHECK(opts.chunk >= 1, kOp, ": chunk ", opts.chunk, " must be >= 1");
  MIXLAB_CHECK(std::isfinite(opts.scale), kOp, ": scale ", opts.scale, " must be finite");
  const int64_t width = check_log_decay(kOp, log_decay, B, H, T, dk);
  MIXLAB_CHECK(!initial_state.defined() || (initial_state.shape() == Shape{B, H, dk, dv}), kOp, ": initial_state ",
               initial_state.shape().str(), " must be (B,H,dk,dv) = (", B, ",", H, ",", dk, ",", dv, ")");

  const cpu::DeltaScanShape shape{B, H, T, dk, dv, width};
  const cpu::DeltaScanConfig config{opts.chunk, opts.scale};
  const bool grad = needs_grad({q, k, v, log_decay, a, b, initial_state});
  Tensor out = Tensor::empty({B, H, T, dv}, q.dtype(), q.device());
  Tensor states = grad ? Tensor::empty({B, H, cpu::delta_scan_chunks(shape, config), dk, dv}, q.dtype(), q.device())
                       : Tensor();
  Tensor last = final_state ? Tensor::empty({B, H, dk, dv}, q.dtype(), q.device()) : Tensor();
  // Explicit branches below: the GPU runs the recurrent form for every decay
  // (one block per (batch, head), arguments in one DeltaScanArgs) and its
  // backward replays chunks in device scratch; the CPU picks its form by the decay.
  const Backend backend = Backend::of("delta_scan", kOp, q);
  const cuda::DeltaScanArgs args{B, H, T, dk, dv, width, opts.chunk, opts.scale};
  MIXLAB_DISPATCH_FLOAT(q.dtype(), kOp, [&] {
    auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
    if (backend.on_cuda())
      cuda::delta_scan_forward(backend.cuda_device(), args, ptr(q), ptr(k), ptr(v), ptr(log_decay), ptr(a), ptr(b),
                               ptr(initial_state), ptr(out), ptr(last), ptr(states));
    else
      cpu::delta_scan_forward(shape, config, ptr(q), ptr(k), ptr(v), ptr(log_decay), ptr(a), ptr(b),
                              ptr(initial_state), ptr(out), ptr(last), ptr(states));
  });
  if (final_state) *final_state = last;
  if (!grad) return out;

  const bool want_dg = log_decay.requires_grad(), want_ds0 = initial_state.requires_grad();
  const bool want[5] = {q.requires_grad(), k.requires_grad(), v.requires_grad(), a.requires_grad(),
                        b.requires_grad()};
  auto keep = [](const Tensor& t) { return t.defined() ? saved(t) : Tensor(); };
  record(kOp, out, {q, k, v, log_decay, a, b, initial_state},
         [=, sq = saved(q), sk = saved(k), sv = saved(v), sg = keep(log_decay), sa = saved(a),
          sb = saved(b)](const Tensor& g) {
           // dq, dk, dv, da, db are always computed: the backward pass builds all of them anyway.
           auto like = [&](const Shape& s) { return Tensor::empty(s, g.dtype(), g.device()); };
           Tensor dq = like(sq.shape()), dk = like(sk.shape()), dv = like(sv.shape());
           Tensor da = like(sa.shape()), db = like(sb.shape());
           Tensor dg = want_dg ? like(sg.shape()) : Tensor();
           Tensor ds0 = want_ds0 ? like({shape.B, shape.H, shape.dk, shape.dv}) : Tensor();
           MIXLAB_DISPATCH_FLOAT(g.dtype(), kOp, [&] {
             auto ptr = [](const Tensor& t) { return t.defined() ? t.data<scalar_t>() : nullptr; };
             if (backend.on_cuda()) {
               Tensor scratch = like({cuda::delta_scan_backward_scratch(args)});
               cuda::delta_scan_backward(backend.cuda_device(), args, ptr(sq), ptr(sk), ptr(sv), ptr(sg), ptr(sa),
                                         ptr(sb), ptr(states), g.data<scalar_t>(), ptr(dq), ptr(dk), ptr(dv),
                                         ptr(dg), ptr(da), ptr(db), ptr(ds0), ptr(scratch));
             } else {
               cpu::delta_scan_backward(shape, config, ptr(sq), ptr(sk), ptr(sv), ptr(sg), ptr(sa), ptr(sb),
                                        ptr(states), g.data<scalar_t>(), ptr(dq), ptr(dk), ptr(dv), ptr(dg),
                                        ptr(da), ptr(db), ptr(ds0));
             }
           });
           auto pick = [&](int i, const Tensor& t) { return want[i] ? t : Tensor(); };
           return std::vector<Tensor>{pick(0, dq), pick(1, dk), pick(2, dv), dg, pick(3, da), pick(4, db), ds0};
         });
  return out;
}

}  // namespace mixlab
