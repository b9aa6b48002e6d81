// The delta-rule scan's chunked WY/UT form, for a per-head decay or none (see
// delta_scan.h for the math and layout). After Yang et al. 2024,
// "Parallelizing Linear Transformers with the Delta Rule over Sequence
// Length" (arXiv:2406.06484), generalised to free a_t, b_t and the scalar
// decay of Gated DeltaNet (Yang, Kautz, Hatamizadeh 2024, arXiv:2412.06464).
//
// Inside a chunk of L tokens entered with state S0, write c_t for the
// cumulative log decay from the chunk start (c_{-1} = 0) and u_t = S_{t-1}ᵀ b_t
// (the only thing the rank-one term needs). Unrolling the recurrence,
//   S_t = e^{c_t} S0 + Σ_{s<=t} e^{c_t − c_s} (a_s u_sᵀ + k_s v_sᵀ),
// so, with rows u_t stacked in U and the masks
//   Dq_ts = e^{c_t − c_s} (s <= t),   Dm_ts = e^{c_{t-1} − c_s} (s < t),
// the u_t solve one unit lower-triangular system (the UT transform):
//   (I − MA) U = R,   MA = (B Aᵀ) ⊙ Dm,   R = diag(e^{c_{t-1}}) B S0 + ((B Kᵀ) ⊙ Dm) V,
// and the chunk's outputs and exit state are GEMMs:
//   O   = scale · [ diag(e^{c}) Q S0 + ((Q Aᵀ) ⊙ Dq) U + ((Q Kᵀ) ⊙ Dq) V ]
//   S_L = e^{c_{L-1}} S0 + (diag(e^{c_{L-1} − c}) A)ᵀ U + (diag(e^{c_{L-1} − c}) K)ᵀ V.
// Every exponent is a difference "later minus earlier" of cumulative log
// decays, so no factor exceeds 1; the cumulative sums are kept in double.
//
// The backward walks the chunks in reverse carrying dS (the gradient of the
// exit state), recomputes the chunk's products from its saved entry state, and
// runs the same equations transposed (dR solves (I − MA)ᵀ dR = dU). The decay
// gradient collects, for every factor e^{x − y} above, its contribution to
// dc_x and −dc_y, then dg_t = Σ_{t' >= t} dc_{t'} within the chunk.
#include <Eigen/Core>
#include <Eigen/Dense>
#include <algorithm>
#include <vector>

#include "kernels/cpu/delta_scan.h"

namespace mixlab::cpu {

namespace {

template <typename T>
using Mat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Vec = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using ConstMap = Eigen::Map<const Mat<T>>;
template <typename T>
using MutMap = Eigen::Map<Mat<T>>;

// The decay factors of one chunk (all 1 without decay).
template <typename T>
struct ChunkDecay {
  std::vector<double> c;  // c_t, cumulative from the chunk start
  Mat<T> Dq, Dm;          // the two masks above (zero where not visible)
  Vec<T> now, before;     // e^{c_t}, e^{c_{t-1}}
  Vec<T> to_end;          // e^{c_{L-1} − c_t}
  T total = 1;            // e^{c_{L-1}}
};

template <typename T>
void chunk_decay(const T* g, int64_t L, ChunkDecay<T>& d) {
  d.c.assign(L, 0.0);
  for (int64_t t = 0; t < L; ++t) d.c[t] = (t ? d.c[t - 1] : 0.0) + (g ? static_cast<double>(g[t]) : 0.0);
  auto prev = [&](int64_t t) { return t ? d.c[t - 1] : 0.0; };
  d.Dq.setZero(L, L);
  d.Dm.setZero(L, L);
  d.now.resize(L);
  d.before.resize(L);
  d.to_end.resize(L);
  for (int64_t t = 0; t < L; ++t) {
    for (int64_t s = 0; s <= t; ++s) d.Dq(t, s) = static_cast<T>(d.c[t] - d.c[s]);
    for (int64_t s = 0; s < t; ++s) d.Dm(t, s) = static_cast<T>(prev(t) - d.c[s]);
    d.now(t) = static_cast<T>(d.c[t]);
    d.before(t) = static_cast<T>(prev(t));
    d.to_end(t) = static_cast<T>(d.c[L - 1] - d.c[t]);
  }
  // One vectorised exp each; the invisible entries are then zeroed again.
  d.Dq.array() = d.Dq.array().exp();
  d.Dm.array() = d.Dm.array().exp();
  d.Dq.template triangularView<Eigen::StrictlyUpper>().setZero();
  d.Dm.template triangularView<Eigen::Upper>().setZero();
  d.now.array() = d.now.array().exp();
  d.before.array() = d.before.array().exp();
  d.to_end.array() = d.to_end.array().exp();
  d.total = static_cast<T>(std::exp(d.c[L - 1]));
}

// The forward products of one chunk the backward needs again.
template <typename T>
struct ChunkProducts {
  Mat<T> BA, BK, QA, QK;  // raw inner products (L, L)
  Mat<T> negMA, MK;       // −(B Aᵀ) ⊙ Dm (its unit lower triangle is I − MA), (B Kᵀ) ⊙ Dm
  Mat<T> PA, PK;          // (Q Aᵀ) ⊙ Dq, (Q Kᵀ) ⊙ Dq
  Mat<T> U;               // (L, dv)
};

template <typename T>
void chunk_products(const ConstMap<T>& Q, const ConstMap<T>& K, const ConstMap<T>& V, const ConstMap<T>& A,
                    const ConstMap<T>& Bm, const Mat<T>& S0, const ChunkDecay<T>& d, ChunkProducts<T>& p) {
  p.BA.noalias() = Bm * A.transpose();
  p.BK.noalias() = Bm * K.transpose();
  p.QA.noalias() = Q * A.transpose();
  p.QK.noalias() = Q * K.transpose();
  p.negMA = -(p.BA.array() * d.Dm.array()).matrix();
  p.MK = (p.BK.array() * d.Dm.array()).matrix();
  p.PA = (p.QA.array() * d.Dq.array()).matrix();
  p.PK = (p.QK.array() * d.Dq.array()).matrix();
  Mat<T> R = d.before.asDiagonal() * (Bm * S0);
  R.noalias() += p.MK * V;
  p.U = p.negMA.template triangularView<Eigen::UnitLower>().solve(R);
}

struct HeadOffsets {
  int64_t key, value, decay, state;
};

HeadOffsets head_offsets(const DeltaScanShape& s, int64_t bh) {
  return {bh * s.T * s.dk, bh * s.T * s.dv, bh * s.T * s.decay_width, bh * s.dk * s.dv};
}

}  // namespace

template <typename T>
void delta_scan_chunked_forward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k,
                                const T* v, const T* g, const T* a, const T* b, const T* s0, T* o, T* final_state,
                                T* chunk_states) {
  const int64_t C = c.chunk, N = delta_scan_chunks(s, c), dk = s.dk, dv = s.dv;
  const T scale = static_cast<T>(c.scale);
  // Always a parallel region, even for one head: Eigen then keeps its GEMMs on
  // the calling thread instead of opening a nested team for each small product.
#pragma omp parallel for schedule(dynamic)
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const HeadOffsets h = head_offsets(s, bh);
    Mat<T> S = s0 ? Mat<T>(ConstMap<T>(s0 + h.state, dk, dv)) : Mat<T>::Zero(dk, dv);
    ChunkDecay<T> d;
    ChunkProducts<T> p;
    Mat<T> O, next;
    for (int64_t ci = 0; ci < N; ++ci) {
      const int64_t t0 = ci * C, L = std::min(C, s.T - t0);
      if (chunk_states) MutMap<T>(chunk_states + (bh * N + ci) * dk * dv, dk, dv) = S;
      chunk_decay(g ? g + h.decay + t0 : nullptr, L, d);
      const int64_t kt = h.key + t0 * dk;
      ConstMap<T> Q(q + kt, L, dk), K(k + kt, L, dk), A(a + kt, L, dk), Bm(b + kt, L, dk),
          V(v + h.value + t0 * dv, L, dv);
      chunk_products(Q, K, V, A, Bm, S, d, p);
      O.noalias() = d.now.asDiagonal() * (Q * S);
      O.noalias() += p.PA * p.U;
      O.noalias() += p.PK * V;
      MutMap<T>(o + h.value + t0 * dv, L, dv) = O * scale;
      next.noalias() = (d.to_end.asDiagonal() * A).transpose() * p.U;
      next.noalias() += (d.to_end.asDiagonal() * K).transpose() * V;
      next += d.total * S;
      S.swap(next);
    }
    if (final_state) MutMap<T>(final_state + h.state, dk, dv) = S;
  }
}

template <typename T>
void delta_scan_chunked_backward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k,
                                 const T* v, const T* g, const T* a, const T* b, const T* chunk_states,
                                 const T* dout, T* dq, T* dk, T* dv, T* dg, T* da, T* db, T* ds0) {
  const int64_t C = c.chunk, N = delta_scan_chunks(s, c), DK = s.dk, DV = s.dv;
  const T scale = static_cast<T>(c.scale);
#pragma omp parallel for schedule(dynamic)
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const HeadOffsets h = head_offsets(s, bh);
    Mat<T> dS = Mat<T>::Zero(DK, DV), S0, dS0, G, Y, Z, dU, dR, dPA, dPK, dMA, dMK, UdS, VdS;
    ChunkDecay<T> d;
    ChunkProducts<T> p;
    std::vector<double> dc;
    for (int64_t ci = N - 1; ci >= 0; --ci) {
      const int64_t t0 = ci * C, L = std::min(C, s.T - t0);
      S0 = ConstMap<T>(chunk_states + (bh * N + ci) * DK * DV, DK, DV);
      chunk_decay(g ? g + h.decay + t0 : nullptr, L, d);
      const int64_t kt = h.key + t0 * DK, vt = h.value + t0 * DV;
      ConstMap<T> Q(q + kt, L, DK), K(k + kt, L, DK), A(a + kt, L, DK), Bm(b + kt, L, DK), V(v + vt, L, DV);
      MutMap<T> dQ(dq + kt, L, DK), dK(dk + kt, L, DK), dA(da + kt, L, DK), dB(db + kt, L, DK), dV(dv + vt, L, DV);
      chunk_products(Q, K, V, A, Bm, S0, d, p);
      G = ConstMap<T>(dout + vt, L, DV) * scale;

      // O = diag(e^c) Q S0 + PA U + PK V.
      Y.noalias() = G * S0.transpose();
      dQ = d.now.asDiagonal() * Y;
      dS0.noalias() = (d.now.asDiagonal() * Q).transpose() * G;
      dPA.noalias() = G * p.U.transpose();
      dPK.noalias() = G * V.transpose();
      dU.noalias() = p.PA.transpose() * G;
      dV.noalias() = p.PK.transpose() * G;
      // S_L = e^{c_{L-1}} S0 + (diag(to_end) A)ᵀ U + (diag(to_end) K)ᵀ V.
      UdS.noalias() = p.U * dS.transpose();
      VdS.noalias() = V * dS.transpose();
      dA = d.to_end.asDiagonal() * UdS;
      dK = d.to_end.asDiagonal() * VdS;
      dU.noalias() += d.to_end.asDiagonal() * (A * dS);
      dV.noalias() += d.to_end.asDiagonal() * (K * dS);
      dS0 += d.total * dS;
      // U = (I − MA)^{-1} R,  R = diag(e^{c_{t-1}}) B S0 + MK V.
      dR = p.negMA.transpose().template triangularView<Eigen::UnitUpper>().solve(dU);
      dMA.noalias() = dR * p.U.transpose();
      dMK.noalias() = dR * V.transpose();
      Z.noalias() = dR * S0.transpose();
      dB = d.before.asDiagonal() * Z;
      dS0.noalias() += (d.before.asDiagonal() * Bm).transpose() * dR;
      dV.noalias() += p.MK.transpose() * dR;
      // Through the masked products: E = dP ⊙ D (zero where not visible).
      dPA.array() *= d.Dq.array();
      dPK.array() *= d.Dq.array();
      dMA.array() *= d.Dm.array();
      dMK.array() *= d.Dm.array();
      dQ.noalias() += dPA * A;
      dQ.noalias() += dPK * K;
      dA.noalias() += dPA.transpose() * Q;
      dA.noalias() += dMA.transpose() * Bm;
      dK.noalias() += dPK.transpose() * Q;
      dK.noalias() += dMK.transpose() * Bm;
      dB.noalias() += dMA * A;
      dB.noalias() += dMK * K;

      if (dg) {
        dc.assign(L, 0.0);
        for (int64_t t = 0; t < L; ++t) {
          dc[t] += static_cast<double>(d.now(t) * Q.row(t).dot(Y.row(t)));
          if (t) dc[t - 1] += static_cast<double>(d.before(t) * Bm.row(t).dot(Z.row(t)));
          const double y = static_cast<double>(d.to_end(t) * (A.row(t).dot(UdS.row(t)) + K.row(t).dot(VdS.row(t))));
          dc[L - 1] += y;
          dc[t] -= y;
        }
        dc[L - 1] += static_cast<double>(d.total * (dS.array() * S0.array()).sum());
        for (int64_t t = 0; t < L; ++t)
          for (int64_t u = 0; u <= t; ++u) {
            const double z = static_cast<double>(dPA(t, u) * p.QA(t, u) + dPK(t, u) * p.QK(t, u));
            dc[t] += z;
            dc[u] -= z;
            if (u < t) {
              const double m = static_cast<double>(dMA(t, u) * p.BA(t, u) + dMK(t, u) * p.BK(t, u));
              dc[t - 1] += m;
              dc[u] -= m;
            }
          }
        double tail = 0;
        for (int64_t t = L - 1; t >= 0; --t) {
          tail += dc[t];
          dg[h.decay + t0 + t] = static_cast<T>(tail);
        }
      }
      dS.swap(dS0);
    }
    if (ds0) MutMap<T>(ds0 + h.state, DK, DV) = dS;
  }
}

#define MIXLAB_DELTA_SCAN_CHUNKED(T)                                                                                \
  template void delta_scan_chunked_forward<T>(const DeltaScanShape&, const DeltaScanConfig&, const T*, const T*,   \
                                              const T*, const T*, const T*, const T*, const T*, T*, T*, T*);       \
  template void delta_scan_chunked_backward<T>(const DeltaScanShape&, const DeltaScanConfig&, const T*, const T*,  \
                                               const T*, const T*, const T*, const T*, const T*, const T*, T*, T*, \
                                               T*, T*, T*, T*, T*);
MIXLAB_DELTA_SCAN_CHUNKED(float)
MIXLAB_DELTA_SCAN_CHUNKED(double)
#undef MIXLAB_DELTA_SCAN_CHUNKED

}  // namespace mixlab::cpu
