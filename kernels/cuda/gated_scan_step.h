#pragma once
// One token's step of the recurrent gated scan, forward and backward, as
// plain host/device functions of one state element, row or column: the CUDA
// kernel (gated_scan.cu) spreads them over a block's threads between
// barriers; tests/kernels/test_gated_scan_step.cpp runs them in a loop on the
// CPU against the chunked CPU kernel. With a_t = exp(g_t), G_t = scale·dO_t:
//   forward   S_t = diag(a_t) S_{t-1} + k_t v_tᵀ
//             o_t = scale·S_tᵀ q_t                         (inclusive)
//             o_t = scale·(S_{t-1}ᵀ q_t + (q_t·(u∘k_t)) v_t)  (bonus, RWKV-6)
//   backward  with dS the gradient of S_t from later tokens (inclusive: plus
//             q_t G_tᵀ, added first by add_output_grad):
//             dq_i = Σ_j S_t,ij G_j              (bonus: S_{t-1}, + u_i k_i (v·G))
//             dk_i = Σ_j dS_ij v_j               (bonus: + u_i q_i (v·G))
//             dv_j = Σ_i dS_ij k_i               (bonus: + (q·(u∘k)) G_j)
//             dg_i = a_i Σ_j dS_ij S_{t-1},ij    (du_i += q_i k_i (v·G) with the bonus)
//             the gradient of S_{t-1}: diag(a_t) dS (bonus: + q_t G_tᵀ).
// States are row-major (dk, dv) with leading dimension ld.
#include <cstdint>

#include "kernels/host_device.h"

namespace mixlab::cuda::scan {

// A token's vectors: q, k, a (decay factors), u (bonus), row (scratch) of dk
// elements; v, G of dv; scalars[0] = q·(u∘k), scalars[1] = v·G.
template <typename T>
struct TokenVectors {
  T *q, *k, *a, *u, *row, *v, *G, *scalars;
};

template <typename T>
MIXLAB_HOST_DEVICE inline void update_element(T* S, int64_t ld, const TokenVectors<T>& tv, int64_t dv, int64_t e) {
  const int64_t i = e / dv, j = e % dv;
  S[i * ld + j] = tv.a[i] * S[i * ld + j] + tv.k[i] * tv.v[j];
}

// o_j of the token from S (S_t inclusive, S_{t-1} with the bonus).
template <typename T>
MIXLAB_HOST_DEVICE inline T output_column(const T* S, int64_t ld, const TokenVectors<T>& tv, int64_t dk, int64_t j,
                                          double scale, bool bonus) {
  T acc = bonus ? tv.scalars[0] * tv.v[j] : T(0);
  for (int64_t i = 0; i < dk; ++i) acc += tv.q[i] * S[i * ld + j];
  return static_cast<T>(scale) * acc;
}

template <typename T>
MIXLAB_HOST_DEVICE inline T bonus_weight(const TokenVectors<T>& tv, int64_t dk) {
  T acc = T(0);
  for (int64_t i = 0; i < dk; ++i) acc += tv.q[i] * tv.u[i] * tv.k[i];
  return acc;
}

template <typename T>
MIXLAB_HOST_DEVICE inline T value_grad_dot(const TokenVectors<T>& tv, int64_t dv) {
  T acc = T(0);
  for (int64_t j = 0; j < dv; ++j) acc += tv.v[j] * tv.G[j];
  return acc;
}

// Inclusive form: o_t reads S_t, so dS gains q_t G_tᵀ before the sums.
template <typename T>
MIXLAB_HOST_DEVICE inline void add_output_grad(T* dS, int64_t ld, const TokenVectors<T>& tv, int64_t dv, int64_t e) {
  const int64_t i = e / dv, j = e % dv;
  dS[i * ld + j] += tv.q[i] * tv.G[j];
}

template <typename T>
struct RowGrads {
  T dq, dk, dg, du;  // dg already times a_i; du only with the bonus
};

template <typename T>
MIXLAB_HOST_DEVICE inline RowGrads<T> row_grads(const T* dS, const T* Sp, int64_t ld, const TokenVectors<T>& tv,
                                                int64_t dv, int64_t i, bool bonus) {
  RowGrads<T> r{T(0), T(0), T(0), T(0)};
  for (int64_t j = 0; j < dv; ++j) {
    const T ds = dS[i * ld + j], sp = Sp[i * ld + j];
    r.dk += ds * tv.v[j];
    r.dg += ds * sp;
    r.dq += (bonus ? sp : tv.a[i] * sp + tv.k[i] * tv.v[j]) * tv.G[j];
  }
  r.dg *= tv.a[i];
  if (bonus) {
    r.dk += tv.u[i] * tv.q[i] * tv.scalars[1];
    r.dq += tv.u[i] * tv.k[i] * tv.scalars[1];
    r.du = tv.q[i] * tv.k[i] * tv.scalars[1];
  }
  return r;
}

template <typename T>
MIXLAB_HOST_DEVICE inline T column_grad(const T* dS, int64_t ld, const TokenVectors<T>& tv, int64_t dk, int64_t j,
                                        bool bonus) {
  T acc = bonus ? tv.scalars[0] * tv.G[j] : T(0);
  for (int64_t i = 0; i < dk; ++i) acc += dS[i * ld + j] * tv.k[i];
  return acc;
}

// dS becomes the gradient of S_{t-1}.
template <typename T>
MIXLAB_HOST_DEVICE inline void carry_element(T* dS, int64_t ld, const TokenVectors<T>& tv, int64_t dv, int64_t e,
                                             bool bonus) {
  const int64_t i = e / dv, j = e % dv;
  dS[i * ld + j] = tv.a[i] * dS[i * ld + j] + (bonus ? tv.q[i] * tv.G[j] : T(0));
}

}  // namespace mixlab::cuda::scan
