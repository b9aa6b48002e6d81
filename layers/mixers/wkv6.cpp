// The RWKV-6 WKV operator: recurrent and chunked forms (see wkv6.h).
//
// Chunked form (after fla's `ops/rwkv6/chunk_naive.py` equations; docs/mixers.md),
// per chunk of L tokens, with W_t = Σ_{τ≤t} lw_τ (inclusive cumulative log
// decay inside the chunk) and Wex_t = W_t − lw_t (exclusive):
//   o_t = (r_t ⊙ e^{Wex_t}) S_prev                                  inter-chunk
//       + Σ_{s<t} [Σ_i r_ti k_si e^{Wex_ti − W_si}] v_s             intra-chunk
//       + (Σ_i r_ti u_i k_ti) v_t                                   bonus
//   S_next = diag(e^{W_last}) S_prev + Σ_s (k_s ⊙ e^{W_last − W_s}) ⊗ v_s.
// Numerics (docs/mixers.md, numerical traps 1 and 2): every exponent is a sum of
// log decays over tokens *between* two positions, so every exponentiated
// factor is ≤ 1; entries that must vanish are masked to −∞ *before* exp (never
// e^{+big}·0). The intra-chunk term is never split as (r e^{Wex}) · (k e^{−W})
// over a whole chunk, which overflows under strong decay; instead, with
// sub-chunks of c tokens:
//   - a query sub-chunk I against the keys of earlier sub-chunks J < I uses the
//     reference point g_I = W at the token just before I:
//       q̃_t = r_t ⊙ e^{Wex_t − g_I} (t in I),  k̃_s = k_s ⊙ e^{g_I − W_s} (s in J),
//     both ≤ 1 because W only falls along the chunk; A = q̃ k̃ᵀ is a matmul;
//   - the diagonal blocks (s < t inside one sub-chunk) are formed element by
//     element: e^{Wex_t − W_s} per channel, a (c, c, S) tensor per sub-chunk.
// The differences W_a − W_b are never formed by subtracting two cumulative
// sums: after one huge decay both are huge and their difference would lose all
// precision in F32. They are summed directly: exclusive / reverse-exclusive
// cumsums (shifted inclusive ones), per-sub-chunk totals combined through a
// 0/1 matrix, and, in the diagonal blocks, a reverse cumsum over τ of the log
// decays masked to τ < t for each query t.
// All chunks are processed at once (batched over batch·heads·chunks); only the
// hand-over of the state from chunk to chunk loops, over chunks.
// A sequence that is not a multiple of the chunk is padded at the end with
// k = v = r = 0 and lw = 0, which changes neither the outputs kept nor the
// final state.
#include "layers/mixers/wkv6.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "autograd/error.h"
#include "autograd/ops.h"

namespace mixlab {

namespace {

void check_wkv_inputs(const char* op, const Tensor& r, const Tensor& k, const Tensor& v, const Tensor& lw,
                      const Tensor& u, const Tensor& state) {
  MIXLAB_CHECK(r.ndim() == 4 && r.size(2) >= 1, op, ": r must be (B, H, T, S) with T >= 1, got ", r.describe());
  const Shape& s = r.shape();
  MIXLAB_CHECK(k.shape() == s && v.shape() == s && lw.shape() == s, op, ": r, k, v and log_decay must have one shape: ",
               r.describe(), ", ", k.describe(), ", ", v.describe(), ", ", lw.describe());
  MIXLAB_CHECK((u.shape() == Shape{s[1], s[3]}), op, ": u must be (H, S) = (", s[1], ", ", s[3], "), got ", u.describe());
  MIXLAB_CHECK((!state.defined() || state.shape() == Shape{s[0], s[1], s[3], s[3]}), op, ": state must be (B, H, S, S), got ",
               state.describe());
}

Tensor zero_state(int64_t B, int64_t H, int64_t S, const Tensor& like) {
  return Tensor::zeros({B, H, S, S}, like.dtype(), like.device());
}

constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// (c, c, 1): 0 where key s < query t, −∞ elsewhere (added to exponents before exp).
Tensor strictly_causal_mask(int64_t c, const Tensor& like) {
  std::vector<double> m(c * c);
  for (int64_t t = 0; t < c; ++t)
    for (int64_t s = 0; s < c; ++s) m[t * c + s] = s < t ? 0.0 : kNegInf;
  return Tensor::from_vector(m, {c, c, 1}, like.dtype(), like.device());
}

// x shifted by one along `axis` (of extent n): forward (toward the end, a zero
// first) or backward (a zero last).
Tensor shift_one(const Tensor& x, int axis, bool forward) {
  const int64_t n = x.size(axis);
  Shape zero_shape = x.shape();
  zero_shape[axis] = 1;
  const Tensor zero = Tensor::zeros(zero_shape, x.dtype(), x.device());
  return forward ? concat({zero, slice(x, axis, 0, n - 1)}, axis) : concat({slice(x, axis, 1, n), zero}, axis);
}

// Σ_{τ<t} x_τ and Σ_{τ>t} x_τ along `axis`: the inclusive cumsum shifted, never
// inclusive − x (which cancels catastrophically after one huge decay).
Tensor exclusive_cumsum(const Tensor& x, int axis) { return shift_one(cumsum(x, axis), axis, true); }
Tensor reverse_exclusive_cumsum(const Tensor& x, int axis) { return shift_one(cumsum(x, axis, true), axis, false); }

// (c, c, 1) with 1 where τ < t, else 0.
Tensor strictly_lower_ones(int64_t c, const Tensor& like) {
  std::vector<double> m(c * c);
  for (int64_t t = 0; t < c; ++t)
    for (int64_t s = 0; s < c; ++s) m[t * c + s] = s < t ? 1.0 : 0.0;
  return Tensor::from_vector(m, {c, c, 1}, like.dtype(), like.device());
}

// Intra-chunk pairs inside one sub-chunk (s < t), element by element. The
// exponent Σ_{s<τ<t} lw_τ is summed per (t, s) as a reverse cumsum over τ of
// lw masked to τ < t, so it never subtracts two cumulative sums.
// rr, kk, vv, lw (M, L, S) -> (M, L, S).
Tensor diagonal_blocks(const Tensor& rr, const Tensor& kk, const Tensor& vv, const Tensor& lw, int64_t c) {
  const int64_t M = rr.size(0), L = rr.size(1), S = rr.size(2), blocks = M * (L / c);
  Tensor before_t = mul(lw.reshape({blocks, 1, c, S}), strictly_lower_ones(c, rr));  // [t, τ]: lw_τ if τ < t
  Tensor exponent = add(reverse_exclusive_cumsum(before_t, 2), strictly_causal_mask(c, rr));
  Tensor terms = mul(mul(exp(exponent), rr.reshape({blocks, c, 1, S})), kk.reshape({blocks, 1, c, S}));
  Tensor A = sum(terms, -1);  // (blocks, c, c)
  return matmul(A, vv.reshape({blocks, c, S})).reshape({M, L, S});
}

// Intra-chunk pairs between sub-chunks: queries of sub-chunk I = 1..n−1
// against the keys of sub-chunks J < I, as matmuls around the reference point
// at the start of I: q̃_t = r_t e^{Σ_{τ in I, τ<t} lw_τ} and
// k̃_s = k_s e^{Σ_{τ in J, τ>s} lw_τ + Σ_{J<m<I} total_m}, both ≤ 1, each a sum
// of non-positive terms (no cancellation).
// rr, kk, vv, lw (M, L, S) -> (M, L, S) (the first sub-chunk gets zeros).
Tensor off_diagonal_blocks(const Tensor& rr, const Tensor& kk, const Tensor& vv, const Tensor& lw, int64_t c) {
  const int64_t M = rr.size(0), L = rr.size(1), S = rr.size(2), n = L / c, X = (n - 1) * c;
  const Tensor lw_sub = lw.reshape({M, n, c, S});
  // between[I, J] = Σ_{J<m<I} total_m for I = 1..n−1, J = 0..n−2, through a 0/1
  // matrix; pairs with J ≥ I get −∞.
  std::vector<double> pick((n - 1) * (n - 1) * n, 0.0), mask((n - 1) * (n - 1));
  for (int64_t I = 1; I < n; ++I)
    for (int64_t J = 0; J < n - 1; ++J) {
      for (int64_t m = J + 1; m < I; ++m) pick[((I - 1) * (n - 1) + J) * n + m] = 1.0;
      mask[(I - 1) * (n - 1) + J] = J < I ? 0.0 : kNegInf;
    }
  const Tensor totals = sum(lw_sub, 2);  // (M, n, S)
  const Tensor between =
      matmul(Tensor::from_vector(pick, {(n - 1) * (n - 1), n}, rr.dtype(), rr.device()), totals)
          .reshape({M, n - 1, n - 1, 1, S});
  const Tensor key_exponent =
      add(add(between, slice(reverse_exclusive_cumsum(lw_sub, 2), 1, 0, n - 1).reshape({M, 1, n - 1, c, S})),
          Tensor::from_vector(mask, {n - 1, n - 1, 1, 1}, rr.dtype(), rr.device()));  // (M, n−1, n−1, c, S)
  Tensor keys = mul(slice(kk, 1, 0, X).reshape({M, 1, X, S}), exp(key_exponent.reshape({M, n - 1, X, S})));
  Tensor q = mul(slice(rr, 1, c, L).reshape({M, n - 1, c, S}), exp(slice(exclusive_cumsum(lw_sub, 2), 1, 1, n)));
  Tensor A = matmul(q, keys, false, true).reshape({M, X, X});
  Tensor o = matmul(A, slice(vv, 1, 0, X));  // (M, X, S)
  return concat({Tensor::zeros({M, c, S}, rr.dtype(), rr.device()), o}, 1);
}

}  // namespace

WkvResult wkv6_recurrent(const Tensor& r, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& u,
                         const Tensor& state) {
  check_wkv_inputs("wkv6_recurrent", r, k, v, log_decay, u, state);
  const int64_t B = r.size(0), H = r.size(1), T = r.size(2), S = r.size(3);
  Tensor st = state.defined() ? state : zero_state(B, H, S, r);
  const Tensor bonus = u.reshape({1, H, S, 1});  // diag(u) on the key rows
  std::vector<Tensor> outs;
  outs.reserve(T);
  for (int64_t t = 0; t < T; ++t) {
    Tensor kv = matmul(slice(k, 2, t, t + 1), slice(v, 2, t, t + 1), true, false);  // (B,H,S,S)
    outs.push_back(matmul(slice(r, 2, t, t + 1), add(st, mul(kv, bonus))));
    st = add(mul(st, exp(slice(log_decay, 2, t, t + 1)).reshape({B, H, S, 1})), kv);
  }
  return {outs.size() == 1 ? outs[0] : concat(outs, 2), st};
}

WkvResult wkv6_chunked(const Tensor& r, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& u,
                       const Tensor& state, int64_t chunk, int64_t sub_chunk) {
  check_wkv_inputs("wkv6_chunked", r, k, v, log_decay, u, state);
  MIXLAB_CHECK(sub_chunk >= 1 && chunk >= sub_chunk && chunk % sub_chunk == 0, "wkv6_chunked: chunk ", chunk,
               " must be a positive multiple of sub_chunk ", sub_chunk);
  const int64_t B = r.size(0), H = r.size(1), T = r.size(2), S = r.size(3), G = B * H;
  const int64_t c = sub_chunk;
  // A sequence shorter than a chunk runs as one chunk of whole sub-chunks.
  const int64_t L = std::min(chunk, (T + c - 1) / c * c);
  const int64_t N = (T + L - 1) / L, padded = N * L, M = G * N;
  auto chunks = [&](const Tensor& x) {  // (B,H,T,S) -> (G·N, L, S), zero-padded at the end
    Tensor p = padded == T ? x : concat({x, Tensor::zeros({B, H, padded - T, S}, x.dtype(), x.device())}, 2);
    return p.reshape({M, L, S});
  };
  const Tensor rr = chunks(r), kk = chunks(k), vv = chunks(v), lw = chunks(log_decay);

  Tensor o = diagonal_blocks(rr, kk, vv, lw, c);
  if (L > c) o = add(o, off_diagonal_blocks(rr, kk, vv, lw, c));

  // Each chunk's own contribution to the state and its total decay, all at once.
  const Tensor update = matmul(mul(kk, exp(reverse_exclusive_cumsum(lw, 1))), vv, true, false).reshape({G, N, S, S});
  const Tensor chunk_decay = exp(sum(lw, 1)).reshape({G, N, S, 1});
  Tensor st = state.defined() ? state.reshape({G, 1, S, S}) : Tensor::zeros({G, 1, S, S}, r.dtype(), r.device());
  std::vector<Tensor> before;  // the state entering each chunk
  before.reserve(N);
  for (int64_t j = 0; j < N; ++j) {
    before.push_back(st);
    st = add(mul(st, slice(chunk_decay, 1, j, j + 1)), slice(update, 1, j, j + 1));
  }
  const Tensor entering = (N == 1 ? before[0] : concat(before, 1)).reshape({M, S, S});
  o = add(o, matmul(mul(rr, exp(exclusive_cumsum(lw, 1))), entering));

  o = o.reshape({B, H, padded, S});
  if (padded != T) o = slice(o, 2, 0, T);
  const Tensor bonus = mul(sum(mul(mul(r, k), u.reshape({1, H, 1, S})), -1, true), v);
  return {add(o, bonus), st.reshape({B, H, S, S})};
}

WkvResult wkv6_fused(const Tensor& r, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& u,
                     const Tensor& state, int64_t chunk) {
  WkvResult result;
  result.out = gated_scan(r, k, v, log_decay, u, state, {.chunk = chunk, .bonus = true}, &result.state);
  return result;
}

}  // namespace mixlab
