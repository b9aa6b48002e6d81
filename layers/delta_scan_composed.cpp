// The chunked WY/UT delta-rule scan from ops (see delta_scan_composed.h; the
// equations are those of kernels/cpu/delta_scan_chunked.cpp).
#include "layers/delta_scan_composed.h"

#include <vector>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace mixlab {

namespace {

// A (C, C) additive mask: 0 where s <= t (strict: s < t), −1e30 elsewhere, so
// that exp(x + mask) is exactly 0 off the visible triangle and the positive
// exponents there never reach exp.
Tensor causal_mask(int64_t C, bool strict, DType dtype) {
  std::vector<double> m(C * C);
  for (int64_t t = 0; t < C; ++t)
    for (int64_t s = 0; s < C; ++s) m[t * C + s] = (strict ? s < t : s <= t) ? 0.0 : -1e30;
  return Tensor::from_vector(m, {C, C}, dtype);
}

}  // namespace

Tensor delta_scan_composed(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& log_decay,
                           const Tensor& a, const Tensor& b, const Tensor& initial_state,
                           const DeltaScanOptions& opts, Tensor* final_state) {
  MIXLAB_CHECK(q.ndim() == 4 && v.ndim() == 4, "delta_scan_composed: q ", q.shape().str(), " and v ",
               v.shape().str(), " must be (B,H,T,d)");
  MIXLAB_CHECK(!log_decay.defined() || log_decay.size(3) == 1, "delta_scan_composed: log_decay ",
               log_decay.shape().str(), " must be per head (B,H,T,1) or undefined");
  MIXLAB_CHECK(opts.chunk >= 1, "delta_scan_composed: chunk ", opts.chunk, " must be >= 1");
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), dk = q.size(3), dv = v.size(3);
  const int64_t C = std::min(opts.chunk, T), N = (T + C - 1) / C, pad = N * C - T;
  const DType dt = q.dtype();
  // (B,H,T,d) -> (B,H,N,C,d), zero-padded: padded tokens leave the state as is.
  auto chunks = [&](const Tensor& t) {
    const int64_t d = t.size(3);
    Tensor full = pad ? concat({t, Tensor::zeros({B, H, pad, d}, dt, t.device())}, 2) : t;
    return full.reshape({B, H, N, C, d});
  };
  Tensor Q = chunks(q), K = chunks(k), V = chunks(v), A = chunks(a), Bm = chunks(b);
  Tensor g = log_decay.defined() ? chunks(log_decay) : Tensor::zeros({B, H, N, C, 1}, dt, q.device());
  Tensor c = cumsum(g, 3), before = sub(c, g);  // c_t, c_{t-1} from the chunk start
  Tensor cT = transpose(c, 3, 4);              // (B,H,N,1,C)
  Tensor Dq = exp(add(sub(c, cT), causal_mask(C, false, dt)));
  Tensor Dm = exp(add(sub(before, cT), causal_mask(C, true, dt)));
  Tensor last = slice(c, 3, C - 1, C);  // (B,H,N,1,1)
  Tensor to_end = exp(sub(last, c)), total = exp(last);

  Tensor MA = mul(matmul(Bm, A, false, true), Dm), MK = mul(matmul(Bm, K, false, true), Dm);
  Tensor PA = mul(matmul(Q, A, false, true), Dq), PK = mul(matmul(Q, K, false, true), Dq);
  // [W1 | W2] = (I − MA)⁻¹ [diag(e^{c_{t-1}}) B | MK V], so that U = W1 S0 + W2:
  // forward substitution one chunk row at a time, all chunks at once
  // (row t = rhs_t + MA[t, :t] · rows[:t]).
  Tensor rhs = concat({mul(Bm, exp(before)), matmul(MK, V)}, 4);  // (B,H,N,C,dk+dv)
  std::vector<Tensor> rows = {slice(rhs, 3, 0, 1)};
  for (int64_t t = 1; t < C; ++t) {
    Tensor weights = slice(slice(MA, 3, t, t + 1), 4, 0, t);  // (B,H,N,1,t)
    rows.push_back(add(slice(rhs, 3, t, t + 1), matmul(weights, concat(rows, 3))));
  }
  Tensor W = concat(rows, 3);
  Tensor W1 = slice(W, 4, 0, dk), W2 = slice(W, 4, dk, dk + dv);
  Tensor Qd = mul(Q, exp(c)), Ad = mul(A, to_end), Kd = mul(K, to_end);

  auto chunk_of = [&](const Tensor& t, int64_t n) {
    return slice(t, 2, n, n + 1).reshape({B, H, t.size(3), t.size(4)});
  };
  Tensor S = initial_state.defined() ? initial_state : Tensor::zeros({B, H, dk, dv}, dt, q.device());
  std::vector<Tensor> outs;
  for (int64_t n = 0; n < N; ++n) {
    Tensor Vn = chunk_of(V, n);
    Tensor U = add(matmul(chunk_of(W1, n), S), chunk_of(W2, n));
    outs.push_back(add(add(matmul(chunk_of(Qd, n), S), matmul(chunk_of(PA, n), U)), matmul(chunk_of(PK, n), Vn)));
    S = add(add(mul(S, chunk_of(total, n)), matmul(chunk_of(Ad, n), U, true, false)),
            matmul(chunk_of(Kd, n), Vn, true, false));
  }
  if (final_state) *final_state = S.detach();
  Tensor o = concat(outs, 2);
  if (pad) o = slice(o, 2, 0, T);
  return mul(o, opts.scale);
}

}  // namespace mixlab
