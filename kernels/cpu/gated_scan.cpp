// Chunked gated linear recurrence (see gated_scan.h for the math and layout).
//
// Each (batch, head) runs sequentially over chunks of C tokens. Inside a chunk,
// with the state S0 entering it and b_t the cumulative log decay from the
// chunk start (bq_t the one the query at t sees: b_t, or b_{t-1} with the
// bonus, b_{-1} = 0):
//   O   = scale · [ (Q ⊙ e^{bq}) S0 + A V ],   A_ts = Σ_i q_ti k_si e^{bq_ti − b_si}
//         for s <= t (s < t with the bonus, whose diagonal is q_t·(u ⊙ k_t));
//   S_L = diag(e^{b_L}) S0 + (K ⊙ e^{b_L − b})ᵀ V.
// Every exponent is a difference b_t − b_s with s at or before t, so no factor
// exceeds 1 (docs/mixers.md, numerical trap 1): the masked entries are never
// exponentiated. Per-head decay builds A as (Q Kᵀ) ⊙ D with D_ts = e^{bq_t − b_s}.
// Per-channel decay cannot factor out of the dot product, so the chunk is cut
// into sub-chunks of kSubChunk tokens (trap 2): a block of queries in sub-chunk
// n against keys of earlier sub-chunks is one GEMM of
// (Q_n ⊙ e^{bq − b_r}) (K ⊙ e^{b_r − b})ᵀ with the reference point r the last
// token before sub-chunk n (both factors <= 1); the diagonal sub-blocks are
// summed element by element, their decays e^{b_t − b_s} kept as running products
// of the tokens' factors e^{g} <= 1 (one multiply per pair and channel instead of
// an exp of a difference; at most kSubChunk roundings).
//
// The cumulative log decays are kept in double whatever T is (trap 3): a
// difference of two long float cumulative sums would lose the small exponent
// of nearby tokens. Only the differences are rounded to T before exp.
//
// The backward walks the chunks in reverse, carrying dS (the gradient of the
// state leaving the chunk) and recomputing A from the saved chunk-entry states.
#include "kernels/cpu/gated_scan.h"

#include <Eigen/Core>
#include <algorithm>
#include <limits>
#include <vector>

namespace mixlab::cpu {

namespace {

// Tokens per sub-chunk for per-channel decay: the element-wise diagonal
// sub-blocks cost C·(kSubChunk+1)/2·dk multiply-adds per chunk, and the
// off-diagonal GEMMs get thinner as it shrinks. `mixlab bench scan` (1 thread,
// T 1k, dk = dv = 64): 8 ran 20% slower than 16; 32 the same as 16.
constexpr int64_t kSubChunk = 16;

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Arr = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstMap = Eigen::Map<const Mat<T>>;
template <typename T>
using MutMap = Eigen::Map<Mat<T>>;
using Cum = Arr<double>;
using CumRow = Eigen::Array<double, 1, Eigen::Dynamic>;

// Cumulative log decays of one chunk of L tokens, width w (1 = per head,
// broadcast over key channels; no decay is width 1 of zeros).
struct ChunkDecay {
  bool per_channel = false;
  Cum b;   // (L, w): Σ_{s<=t} g_s from the chunk start
  Cum bq;  // (L, w): b_t, or b_{t-1} (0 at t = 0) with the bonus
};

template <typename T>
void chunk_decay(const T* g, int64_t L, int64_t w, bool bonus, ChunkDecay& d) {
  d.per_channel = w > 1;
  const int64_t width = std::max<int64_t>(w, 1);
  d.b.resize(L, width);
  d.bq.resize(L, width);
  if (!g) {
    d.b.setZero();
    d.bq.setZero();
    return;
  }
  for (int64_t t = 0; t < L; ++t)
    for (int64_t i = 0; i < width; ++i) {
      const double before = t ? d.b(t - 1, i) : 0.0;
      d.b(t, i) = before + static_cast<double>(g[t * width + i]);
      d.bq(t, i) = bonus ? before : d.b(t, i);
    }
}

// e^{sign·(X_t − Y_ref)} for the rows t in [r0, r0 + n) of X, (n, w) in T; the
// reference row is zero when ref < 0. Differences are taken in double and
// rounded once, in plain loops the compiler vectorises, then Eigen's vectorised
// exp (on a cast expression Eigen would call the scalar libm exp per element).
template <typename T>
Arr<T> exp_difference(const Cum& X, int64_t r0, int64_t n, const Cum& Y, int64_t ref, double sign) {
  const int64_t w = X.cols();
  Arr<T> E(n, w);
  const std::vector<double> zero(ref < 0 ? w : 0, 0.0);
  const double* y = ref < 0 ? zero.data() : Y.data() + ref * w;
  for (int64_t t = 0; t < n; ++t) {
    const double* x = X.data() + (r0 + t) * w;
    T* e = E.data() + t * w;
    for (int64_t i = 0; i < w; ++i) e[i] = static_cast<T>(sign * (x[i] - y[i]));
  }
  E = E.exp();
  return E;
}
// e^{X_t − Y_ref}, t in [r0, r0 + n): a later position against an earlier reference.
template <typename T>
Arr<T> exp_rows_minus_ref(const Cum& X, int64_t r0, int64_t n, const Cum& Y, int64_t ref) {
  return exp_difference<T>(X, r0, n, Y, ref, 1.0);
}
// e^{Y_ref − X_t}, t in [r0, r0 + n): a later reference against earlier positions.
template <typename T>
Arr<T> exp_ref_minus_rows(const Cum& Y, int64_t ref, const Cum& X, int64_t r0, int64_t n) {
  return exp_difference<T>(X, r0, n, Y, ref, -1.0);
}

// M (rows, dk) ⊙ E with E (rows, w), broadcast over columns when w = 1.
template <typename T>
void mul_rows(Mat<T>& M, const Arr<T>& E) {
  if (E.cols() == 1)
    M.array().colwise() *= E.col(0);
  else
    M.array() *= E;
}

// Per-head decay: D_ts = e^{bq_t − b_s} where visible, else 0.
template <typename T>
void decay_mask(const ChunkDecay& d, bool bonus, Mat<T>& D) {
  const int64_t L = d.b.rows();
  D.resize(L, L);
  // Exponents first (masked ones -inf) in plain loops the compiler vectorises,
  // then one vectorised exp.
  const double* b = d.b.data();  // width 1: one value per token
  for (int64_t t = 0; t < L; ++t) {
    const double bq = d.bq(t, 0);
    const int64_t seen = bonus ? t : t + 1;
    T* row = D.data() + t * L;
    for (int64_t s = 0; s < seen; ++s) row[s] = static_cast<T>(bq - b[s]);
    for (int64_t s = seen; s < L; ++s) row[s] = -std::numeric_limits<T>::infinity();
  }
  D.array() = D.array().exp();
}

// e^{g_t} for the tokens [n0, n0 + n) of the chunk, (n, dk).
template <typename T>
Arr<T> token_decay(const ChunkDecay& d, int64_t n0, int64_t n) {
  Cum g(n, d.b.cols());
  for (int64_t t = 0; t < n; ++t)
    g.row(t) = n0 + t ? CumRow(d.b.row(n0 + t) - d.b.row(n0 + t - 1)) : CumRow(d.b.row(0));
  Arr<T> a = g.template cast<T>();
  return a.exp();
}

// A (L, L): the intra-chunk scores without the bonus diagonal (zero where not visible).
template <typename T>
void intra_scores(const ConstMap<T>& Q, const ConstMap<T>& K, const ChunkDecay& d, bool bonus, Mat<T>& D,
                  Mat<T>& A) {
  const int64_t L = Q.rows();
  if (!d.per_channel) {
    decay_mask(d, bonus, D);
    A.noalias() = Q * K.transpose();
    A.array() *= D.array();
    return;
  }
  A.setZero(L, L);
  Mat<T> KR(std::min(kSubChunk, L), K.cols());
  for (int64_t n0 = 0; n0 < L; n0 += kSubChunk) {
    const int64_t n = std::min(kSubChunk, L - n0), r = n0 - 1;
    if (n0 > 0) {  // queries of this sub-chunk against all earlier keys, through reference r
      Mat<T> Qn = Q.middleRows(n0, n), Kp = K.topRows(n0);
      mul_rows(Qn, exp_rows_minus_ref<T>(d.bq, n0, n, d.b, r));
      mul_rows(Kp, exp_ref_minus_rows<T>(d.b, r, d.b, 0, n0));
      A.block(n0, 0, n, n0).noalias() = Qn * Kp.transpose();
    }
    // The diagonal sub-block: KR row s holds k_s ⊙ e^{b_t − b_s}, kept as a running
    // product of the tokens' decays (every factor <= 1, no exp per pair).
    const Arr<T> a = token_decay<T>(d, n0, n);
    for (int64_t t = 0; t < n; ++t) {
      if (bonus && t > 0)  // the query at t sees e^{b_{t-1} − b_s}: KR before this token's decay
        A.row(n0 + t).segment(n0, t).noalias() = Q.row(n0 + t) * KR.topRows(t).transpose();
      KR.topRows(t).array().rowwise() *= a.row(t);
      KR.row(t) = K.row(n0 + t);
      if (!bonus) A.row(n0 + t).segment(n0, t + 1).noalias() = Q.row(n0 + t) * KR.topRows(t + 1).transpose();
    }
  }
}

// Gradients of Q and K through A given dA (read only where visible); D is the
// per-head mask intra_scores left. Overwrites dQ and dK (L, dk).
template <typename T>
void intra_grads(const ConstMap<T>& Q, const ConstMap<T>& K, const ChunkDecay& d, bool bonus, const Mat<T>& D,
                 Mat<T>& dA, Mat<T>& dQ, Mat<T>& dK) {
  const int64_t L = Q.rows();
  if (!d.per_channel) {
    dA.array() *= D.array();
    dQ.noalias() = dA * K;
    dK.noalias() = dA.transpose() * Q;
    return;
  }
  dQ.setZero(L, Q.cols());
  dK.setZero(L, K.cols());
  Mat<T> R(std::min(kSubChunk, L), K.cols()), KR(R.rows(), K.cols());
  for (int64_t n0 = 0; n0 < L; n0 += kSubChunk) {
    const int64_t n = std::min(kSubChunk, L - n0), end = n0 + n;
    if (n0 > 0) {  // dq_t for t in this sub-chunk from earlier keys, reference n0 − 1
      const int64_t r = n0 - 1;
      Mat<T> Kp = K.topRows(n0);
      mul_rows(Kp, exp_ref_minus_rows<T>(d.b, r, d.b, 0, n0));
      Mat<T> part = dA.block(n0, 0, n, n0) * Kp;
      mul_rows(part, exp_rows_minus_ref<T>(d.bq, n0, n, d.b, r));
      dQ.middleRows(n0, n) += part;
    }
    if (end < L) {  // dk_s for s in this sub-chunk from later queries, reference end − 1
      const int64_t r = end - 1;
      Mat<T> Qa = Q.bottomRows(L - end);
      mul_rows(Qa, exp_rows_minus_ref<T>(d.bq, end, L - end, d.b, r));
      Mat<T> part = dA.block(end, n0, L - end, n).transpose() * Qa;
      mul_rows(part, exp_ref_minus_rows<T>(d.b, r, d.b, n0, n));
      dK.middleRows(n0, n) += part;
    }
    // The diagonal sub-block: R row s holds e^{b_t − b_s} as a running product.
    const Arr<T> a = token_decay<T>(d, n0, n);
    for (int64_t t = 0; t < n; ++t) {
      if (!bonus) {
        R.topRows(t).array().rowwise() *= a.row(t);
        R.row(t).setOnes();
      }
      const int64_t m = bonus ? t : t + 1;  // keys s < m are visible to the query at t
      if (m > 0) {
        const auto dA_row = dA.row(n0 + t).segment(n0, m);
        KR.topRows(m) = (K.middleRows(n0, m).array() * R.topRows(m).array()).matrix();
        dQ.row(n0 + t).noalias() += dA_row * KR.topRows(m);
        dK.middleRows(n0, m).array() +=
            (R.topRows(m).array().colwise() * dA_row.transpose().array()).rowwise() * Q.row(n0 + t).array();
      }
      if (bonus) {
        R.topRows(t).array().rowwise() *= a.row(t);
        R.row(t).setOnes();
      }
    }
  }
}

// S ← diag(e^{b_L}) S: the decay of the whole chunk applied to the state rows.
template <typename T>
void decay_state_rows(const ChunkDecay& d, Mat<T>& S) {
  const int64_t last = d.b.rows() - 1;
  if (d.per_channel)
    S.array().colwise() *= Eigen::Array<T, Eigen::Dynamic, 1>(d.b.row(last).transpose().template cast<T>()).exp();
  else
    S *= std::exp(static_cast<T>(d.b(last, 0)));
}

struct HeadPointers {
  int64_t q_offset, v_offset, g_offset, state_offset;
};

HeadPointers head_offsets(const GatedScanShape& s, int64_t b, int64_t h) {
  const int64_t hq = h / (s.H / s.Hq);
  return {(b * s.Hq + hq) * s.T * s.dk, (b * s.H + h) * s.T * s.dv, (b * s.H + h) * s.T * s.decay_width,
          (b * s.H + h) * s.dk * s.dv};
}

}  // namespace

template <typename T>
void gated_scan_forward(const GatedScanShape& s, const GatedScanConfig& c, const T* q, const T* k, const T* v,
                        const T* g, const T* u, const T* s0, T* o, T* final_state, T* chunk_states) {
  const int64_t C = c.chunk, N = gated_scan_chunks(s, c), dk = s.dk, dv = s.dv, w = s.decay_width;
  const T scale = static_cast<T>(c.scale);
  // Always a parallel region, even for one head: Eigen then keeps its GEMMs on
  // the calling thread instead of opening a nested team for each small product.
#pragma omp parallel for schedule(dynamic)
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t b = bh / s.H, h = bh % s.H;
    const HeadPointers p = head_offsets(s, b, h);
    Mat<T> S = s0 ? Mat<T>(ConstMap<T>(s0 + p.state_offset, dk, dv)) : Mat<T>::Zero(dk, dv);
    ChunkDecay d;
    Mat<T> A, D, O, Qd, Kd;
    for (int64_t ci = 0; ci < N; ++ci) {
      const int64_t t0 = ci * C, L = std::min(C, s.T - t0);
      if (chunk_states) MutMap<T>(chunk_states + (bh * N + ci) * dk * dv, dk, dv) = S;
      chunk_decay(g ? g + p.g_offset + t0 * w : nullptr, L, w, c.bonus, d);
      ConstMap<T> Q(q + p.q_offset + t0 * dk, L, dk), K(k + p.q_offset + t0 * dk, L, dk),
          V(v + p.v_offset + t0 * dv, L, dv);
      intra_scores(Q, K, d, c.bonus, D, A);
      if (c.bonus)
        for (int64_t t = 0; t < L; ++t)
          A(t, t) = (Q.row(t).array() * ConstMap<T>(u + h * dk, 1, dk).array() * K.row(t).array()).sum();
      O.noalias() = A * V;
      Qd = Q;
      mul_rows(Qd, exp_rows_minus_ref<T>(d.bq, 0, L, d.bq, -1));
      O.noalias() += Qd * S;
      MutMap<T>(o + p.v_offset + t0 * dv, L, dv) = O * scale;
      Kd = K;
      mul_rows(Kd, exp_ref_minus_rows<T>(d.b, L - 1, d.b, 0, L));
      decay_state_rows(d, S);
      S.noalias() += Kd.transpose() * V;
    }
    if (final_state) MutMap<T>(final_state + p.state_offset, dk, dv) = S;
  }
}

// The log-decay gradient. Write a_t = e^{g_t}, dS_t for the total gradient of S_t,
// rowdot(X, Y)_i = Σ_j X_ij Y_ij, and dq^s, dk^s for the gradients of q and k
// through the state (all of dq, dk without the bonus; the u-terms excluded with it).
// S_t = diag(a_t) S_{t-1} + k_t v_tᵀ gives dk^s_t = dS_t v_t and
//   dg_t = a_t ⊙ rowdot(dS_t, S_{t-1}) = rowdot(dS_t, S_t − k_t v_tᵀ) = P_t − k_t ⊙ dk^s_t,
// with P_t = rowdot(dS_t, S_t). S_t is read by the query r = t (inclusive) or
// r = t + 1 (bonus) and by S_{t+1}: dS_t = scale q_r dO_rᵀ + diag(a_{t+1}) dS_{t+1}, and
//   rowdot(scale q_r dO_rᵀ, S_t) = q_r ⊙ (scale S_t dO_r) = q_r ⊙ dq^s_r,
//   rowdot(diag(a_{t+1}) dS_{t+1}, S_t) = rowdot(dS_{t+1}, S_{t+1} − k_{t+1} v_{t+1}ᵀ)
//                                        = P_{t+1} − k_{t+1} ⊙ dk^s_{t+1},
// so P_t = q_r ⊙ dq^s_r + P_{t+1} − k_{t+1} ⊙ dk^s_{t+1}. Unrolled to the end of the
// sequence (P_T = 0: the final state carries no gradient) this is the usual identity
//   dg_t = Σ_{τ>=t} (q_τ ⊙ dq_τ − k_τ ⊙ dk_τ)          (inclusive),
//   dg_t = Σ_{τ>t} q_τ ⊙ dq^s_τ − Σ_{τ>=t} k_τ ⊙ dk^s_τ  (bonus),
// a reverse cumulative sum (per-head decay sums it over the channels i). Summed
// over the whole sequence in F32 its terms cancel under strong decay (measured
// 2.4e-5 relative error against F64 at T = 500, growing with T), so the sum restarts at each chunk's
// last token e from P_e computed directly: P_e = rowdot(D_e, S_e) (+ q_e ⊙ dq_e when
// inclusive), D_e the gradient of S_e from the later chunks (the carried dS) and
// S_e the saved state entering the next chunk (measured then: 5.5e-6, not growing
// with T; the other gradients agree to 2.5e-7). The initial state needs no term of
// its own: its contribution sits inside q ⊙ dq. Checked against central
// differences (F64) and F64 against F32 at T = 500 in tests/autograd/test_gated_scan.cpp.
template <typename T>
void gated_scan_backward(const GatedScanShape& s, const GatedScanConfig& c, const T* q, const T* k, const T* v,
                         const T* g, const T* u, const T* chunk_states, const T* dout, T* dq, T* dk, T* dv, T* dg,
                         T* du, T* ds0) {
  const int64_t C = c.chunk, N = gated_scan_chunks(s, c), dkw = s.dk, dvw = s.dv, w = s.decay_width;
  const int64_t group = s.H / s.Hq;
  const T scale = static_cast<T>(c.scale);
  // Heads sharing q/k write their dq/dk apart, summed below in head order (deterministic).
  std::vector<T> head_dq, head_dk;
  if (group > 1) {
    head_dq.resize(static_cast<size_t>(s.B * s.H * s.T * dkw));
    head_dk.resize(head_dq.size());
  }
  std::vector<double> head_du(du ? static_cast<size_t>(s.B * s.H * dkw) : 0);
#pragma omp parallel for schedule(dynamic)
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const int64_t b = bh / s.H, h = bh % s.H;
    const HeadPointers p = head_offsets(s, b, h);
    T* hdq = group > 1 ? head_dq.data() + bh * s.T * dkw : dq + p.q_offset;
    T* hdk = group > 1 ? head_dk.data() + bh * s.T * dkw : dk + p.q_offset;
    ConstMap<T> U(c.bonus ? u + h * dkw : nullptr, 1, c.bonus ? dkw : 0);
    Mat<T> dS = Mat<T>::Zero(dkw, dvw), G, A, D, dA, dQ, dK, dV, Qd, Kd, part;
    ChunkDecay d;
    CumRow run = CumRow::Zero(dkw), du_acc = CumRow::Zero(dkw);  // the running P_t of dg; du of this head
    for (int64_t ci = N - 1; ci >= 0; --ci) {
      const int64_t t0 = ci * C, L = std::min(C, s.T - t0);
      chunk_decay(g ? g + p.g_offset + t0 * w : nullptr, L, w, c.bonus, d);
      ConstMap<T> Q(q + p.q_offset + t0 * dkw, L, dkw), K(k + p.q_offset + t0 * dkw, L, dkw),
          V(v + p.v_offset + t0 * dvw, L, dvw), S0(chunk_states + (bh * N + ci) * dkw * dvw, dkw, dvw);
      G = ConstMap<T>(dout + p.v_offset + t0 * dvw, L, dvw) * scale;
      // P_e = rowdot(dS_e, S_e) at the chunk's last token e from the later chunks
      // (zero after the last chunk): restarts the reverse sum for dg every chunk.
      if (dg) {
        if (ci + 1 < N) {
          ConstMap<T> S_end(chunk_states + (bh * N + ci + 1) * dkw * dvw, dkw, dvw);
          run = (dS.template cast<double>().array() * S_end.template cast<double>().array())
                    .rowwise()
                    .sum()
                    .transpose();
        } else {
          run.setZero();
        }
      }
      // Intra-chunk part: O ∋ A V.
      intra_scores(Q, K, d, c.bonus, D, A);
      dA.noalias() = G * V.transpose();
      Eigen::Array<T, Eigen::Dynamic, 1> bonus_weight;  // dA_tt = G_t·v_t, for the u-terms
      if (c.bonus) {
        bonus_weight = dA.diagonal().array();
        for (int64_t t = 0; t < L; ++t) A(t, t) = (Q.row(t).array() * U.array() * K.row(t).array()).sum();
      }
      dV.noalias() = A.transpose() * G;
      intra_grads(Q, K, d, c.bonus, D, dA, dQ, dK);
      // The state entering the chunk: O ∋ (Q ⊙ e^{bq}) S0.
      const Arr<T> from_start = exp_rows_minus_ref<T>(d.bq, 0, L, d.bq, -1);  // e^{bq}
      Qd = Q;
      mul_rows(Qd, from_start);
      part.noalias() = G * S0.transpose();
      mul_rows(part, from_start);
      dQ += part;
      // The state leaving the chunk: S_L ∋ (K ⊙ e^{b_L − b})ᵀ V.
      const Arr<T> to_end = exp_ref_minus_rows<T>(d.b, L - 1, d.b, 0, L);  // e^{b_L − b}
      Kd = K;
      mul_rows(Kd, to_end);
      dV.noalias() += Kd * dS;
      part.noalias() = V * dS.transpose();
      mul_rows(part, to_end);
      dK += part;
      // dS for the previous chunk: S_L = diag(e^{b_L}) S0 + ..., O ∋ (Q ⊙ e^{bq}) S0.
      decay_state_rows(d, dS);
      dS.noalias() += Qd.transpose() * G;
      // dg, reverse over tokens (see the derivation above); dQ, dK hold dq^s, dk^s.
      if (dg)
        for (int64_t t = L - 1; t >= 0; --t) {
          const CumRow tq = Q.row(t).array().template cast<double>() * dQ.row(t).array().template cast<double>();
          const CumRow tk = K.row(t).array().template cast<double>() * dK.row(t).array().template cast<double>();
          const CumRow at_t = c.bonus ? CumRow(run - tk) : CumRow(run + tq - tk);
          run += tq - tk;
          T* out = dg + p.g_offset + (t0 + t) * w;
          if (w == 1)
            out[0] = static_cast<T>(at_t.sum());
          else
            for (int64_t i = 0; i < w; ++i) out[i] = static_cast<T>(at_t[i]);
        }
      if (c.bonus)
        for (int64_t t = 0; t < L; ++t) {
          const T a = bonus_weight[t];
          dQ.row(t).array() += a * U.array() * K.row(t).array();
          dK.row(t).array() += a * U.array() * Q.row(t).array();
          du_acc += (a * Q.row(t).array() * K.row(t).array()).template cast<double>();
        }
      MutMap<T>(hdq + t0 * dkw, L, dkw) = dQ;
      MutMap<T>(hdk + t0 * dkw, L, dkw) = dK;
      MutMap<T>(dv + p.v_offset + t0 * dvw, L, dvw) = dV;
    }
    if (ds0) MutMap<T>(ds0 + p.state_offset, dkw, dvw) = dS;
    if (du)
      for (int64_t i = 0; i < dkw; ++i) head_du[bh * dkw + i] = du_acc[i];
  }
  if (group > 1) {
    const int64_t per_head = s.T * dkw;
#pragma omp parallel for schedule(static)
    for (int64_t bq = 0; bq < s.B * s.Hq; ++bq) {
      const int64_t b = bq / s.Hq, hq = bq % s.Hq;
      for (int64_t j = 0; j < group; ++j) {
        const int64_t src = (b * s.H + hq * group + j) * per_head;
        for (int64_t e = 0; e < per_head; ++e) {
          dq[bq * per_head + e] = (j ? dq[bq * per_head + e] : T(0)) + head_dq[src + e];
          dk[bq * per_head + e] = (j ? dk[bq * per_head + e] : T(0)) + head_dk[src + e];
        }
      }
    }
  }
  if (du)
    for (int64_t h = 0; h < s.H; ++h)
      for (int64_t i = 0; i < dkw; ++i) {
        double total = 0;
        for (int64_t b = 0; b < s.B; ++b) total += head_du[(b * s.H + h) * dkw + i];
        du[h * dkw + i] = static_cast<T>(total);
      }
}

#define MIXLAB_GATED_SCAN(T)                                                                                      \
  template void gated_scan_forward<T>(const GatedScanShape&, const GatedScanConfig&, const T*, const T*, const T*, \
                                      const T*, const T*, const T*, T*, T*, T*);                                  \
  template void gated_scan_backward<T>(const GatedScanShape&, const GatedScanConfig&, const T*, const T*,          \
                                       const T*, const T*, const T*, const T*, const T*, T*, T*, T*, T*, T*, T*);
MIXLAB_GATED_SCAN(float)
MIXLAB_GATED_SCAN(double)
#undef MIXLAB_GATED_SCAN

}  // namespace mixlab::cpu
