// The delta-rule scan's token-by-token form (see delta_scan.h for the math and
// layout), and the dispatch between it and the chunked form.
//
// Forward, per token: x = S_{t-1}ᵀ b_t, S_t = diag(e^{g_t}) S_{t-1} + a_t xᵀ + k_t v_tᵀ,
// o_t = scale S_tᵀ q_t (plain loops over the value index, which vectorise).
//
// Backward, walking tokens in reverse with dS the gradient of S_t (zero after
// the last token: the final state carries no gradient):
//   dS    += scale q_t do_tᵀ
//   dq_t   = scale S_t do_t,   dk_t = dS v_t,   dv_t = dSᵀ k_t
//   da_t   = dS x,             dx = dSᵀ a_t,    db_t = S_{t-1} dx
//   dg_ti  = e^{g_ti} Σ_j dS_ij S_{t-1,ij}   (summed over i for a per-head decay)
//   dS    ← diag(e^{g_t}) dS + b_t dxᵀ       (the gradient of S_{t-1})
// S_{t-1} is needed going backward, and the transition need not be invertible,
// so each chunk's states are recomputed forward from the saved chunk-entry
// state into a (chunk + 1)·dk·dv buffer first.
#include "kernels/cpu/delta_scan.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace mixlab::cpu {

namespace {

// Offsets of head (b, h) in the (B, H, T, ·) and (B, H, dk, dv) buffers.
struct HeadOffsets {
  int64_t key, value, decay, state;
};

HeadOffsets head_offsets(const DeltaScanShape& s, int64_t bh) {
  return {bh * s.T * s.dk, bh * s.T * s.dv, bh * s.T * s.decay_width, bh * s.dk * s.dv};
}

// e^{g_t} per key channel into `decay` (dk), from a per-channel, per-head or absent decay.
template <typename T>
void token_decay(const DeltaScanShape& s, const T* g_t, std::vector<T>& decay) {
  for (int64_t i = 0; i < s.dk; ++i)
    decay[i] = !g_t ? T(1) : std::exp(g_t[s.decay_width == 1 ? 0 : i]);
}

// One token of the recurrence: next = diag(decay) prev + a xᵀ + k vᵀ with
// x = prevᵀ b (written to x). prev and next may not alias.
template <typename T>
void recurrence_step(int64_t dk, int64_t dv, const T* prev, const T* decay, const T* a, const T* b, const T* k,
                     const T* v, T* x, T* next) {
  std::fill(x, x + dv, T(0));
  for (int64_t i = 0; i < dk; ++i) {
    const T bi = b[i];
    const T* row = prev + i * dv;
    for (int64_t j = 0; j < dv; ++j) x[j] += bi * row[j];
  }
  for (int64_t i = 0; i < dk; ++i) {
    const T di = decay[i], ai = a[i], ki = k[i];
    const T* row = prev + i * dv;
    T* out = next + i * dv;
    for (int64_t j = 0; j < dv; ++j) out[j] = di * row[j] + ai * x[j] + ki * v[j];
  }
}

}  // namespace

template <typename T>
void delta_scan_recurrent_forward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k,
                                  const T* v, const T* g, const T* a, const T* b, const T* s0, T* o, T* final_state,
                                  T* chunk_states) {
  const int64_t dk = s.dk, dv = s.dv, C = c.chunk, N = delta_scan_chunks(s, c), w = s.decay_width;
  const T scale = static_cast<T>(c.scale);
#pragma omp parallel for schedule(dynamic)
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const HeadOffsets p = head_offsets(s, bh);
    std::vector<T> S(dk * dv, T(0)), next(dk * dv), x(dv), decay(dk);
    if (s0) std::copy(s0 + p.state, s0 + p.state + dk * dv, S.begin());
    for (int64_t t = 0; t < s.T; ++t) {
      if (chunk_states && t % C == 0) std::copy(S.begin(), S.end(), chunk_states + (bh * N + t / C) * dk * dv);
      const int64_t kt = p.key + t * dk;
      token_decay(s, g ? g + p.decay + t * w : nullptr, decay);
      recurrence_step(dk, dv, S.data(), decay.data(), a + kt, b + kt, k + kt, v + p.value + t * dv, x.data(),
                      next.data());
      S.swap(next);
      T* out = o + p.value + t * dv;
      std::fill(out, out + dv, T(0));
      for (int64_t i = 0; i < dk; ++i) {
        const T qi = scale * q[kt + i];
        const T* row = S.data() + i * dv;
        for (int64_t j = 0; j < dv; ++j) out[j] += qi * row[j];
      }
    }
    if (final_state) std::copy(S.begin(), S.end(), final_state + p.state);
  }
}

template <typename T>
void delta_scan_recurrent_backward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k,
                                   const T* v, const T* g, const T* a, const T* b, const T* chunk_states,
                                   const T* dout, T* dq, T* dk, T* dv, T* dg, T* da, T* db, T* ds0) {
  const int64_t DK = s.dk, DV = s.dv, C = c.chunk, N = delta_scan_chunks(s, c), w = s.decay_width;
  const int64_t SS = DK * DV;
  const T scale = static_cast<T>(c.scale);
#pragma omp parallel for schedule(dynamic)
  for (int64_t bh = 0; bh < s.B * s.H; ++bh) {
    const HeadOffsets p = head_offsets(s, bh);
    // states[r] = S_{t0 + r − 1}: the chunk's entry state, then one per token.
    std::vector<T> states((C + 1) * SS), xs(C * DV), dS(SS, T(0)), dx(DV), decay(DK);
    for (int64_t ci = N - 1; ci >= 0; --ci) {
      const int64_t t0 = ci * C, L = std::min(C, s.T - t0);
      std::copy(chunk_states + (bh * N + ci) * SS, chunk_states + (bh * N + ci + 1) * SS, states.begin());
      for (int64_t r = 0; r < L; ++r) {
        const int64_t kt = p.key + (t0 + r) * DK;
        token_decay(s, g ? g + p.decay + (t0 + r) * w : nullptr, decay);
        recurrence_step(DK, DV, &states[r * SS], decay.data(), a + kt, b + kt, k + kt, v + p.value + (t0 + r) * DV,
                        &xs[r * DV], &states[(r + 1) * SS]);
      }
      for (int64_t r = L - 1; r >= 0; --r) {
        const int64_t t = t0 + r, kt = p.key + t * DK, vt = p.value + t * DV;
        const T* St = &states[(r + 1) * SS];
        const T* Sp = &states[r * SS];
        const T* x = &xs[r * DV];
        const T* go = dout + vt;
        token_decay(s, g ? g + p.decay + t * w : nullptr, decay);
        std::fill(dx.begin(), dx.end(), T(0));
        T* dvt = dv + vt;
        std::fill(dvt, dvt + DV, T(0));
        T dg_head = 0;
        for (int64_t i = 0; i < DK; ++i) {
          const T qi = scale * q[kt + i], ki = k[kt + i], ai = a[kt + i];
          T* dSi = &dS[i * DV];
          const T* Sti = St + i * DV;
          const T* Spi = Sp + i * DV;
          T dqi = 0, dki = 0, dai = 0, dgi = 0;
          for (int64_t j = 0; j < DV; ++j) {
            dqi += Sti[j] * go[j];
            dSi[j] += qi * go[j];
            dki += dSi[j] * v[vt + j];
            dvt[j] += ki * dSi[j];
            dai += dSi[j] * x[j];
            dx[j] += ai * dSi[j];
            dgi += dSi[j] * Spi[j];
          }
          dq[kt + i] = scale * dqi;
          dk[kt + i] = dki;
          da[kt + i] = dai;
          dgi *= decay[i];
          if (dg && w > 1) dg[p.decay + t * w + i] = dgi;
          dg_head += dgi;
        }
        if (dg && w == 1) dg[p.decay + t] = dg_head;
        for (int64_t i = 0; i < DK; ++i) {
          const T* Spi = Sp + i * DV;
          T dbi = 0;
          for (int64_t j = 0; j < DV; ++j) dbi += Spi[j] * dx[j];
          db[kt + i] = dbi;
          const T di = decay[i], bi = b[kt + i];
          T* dSi = &dS[i * DV];
          for (int64_t j = 0; j < DV; ++j) dSi[j] = di * dSi[j] + bi * dx[j];
        }
      }
    }
    if (ds0) std::copy(dS.begin(), dS.end(), ds0 + p.state);
  }
}

template <typename T>
void delta_scan_forward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k, const T* v,
                        const T* g, const T* a, const T* b, const T* s0, T* o, T* final_state, T* chunk_states) {
  if (delta_scan_is_chunked(s))
    delta_scan_chunked_forward(s, c, q, k, v, g, a, b, s0, o, final_state, chunk_states);
  else
    delta_scan_recurrent_forward(s, c, q, k, v, g, a, b, s0, o, final_state, chunk_states);
}

template <typename T>
void delta_scan_backward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k, const T* v,
                         const T* g, const T* a, const T* b, const T* chunk_states, const T* dout, T* dq, T* dk,
                         T* dv, T* dg, T* da, T* db, T* ds0) {
  if (delta_scan_is_chunked(s))
    delta_scan_chunked_backward(s, c, q, k, v, g, a, b, chunk_states, dout, dq, dk, dv, dg, da, db, ds0);
  else
    delta_scan_recurrent_backward(s, c, q, k, v, g, a, b, chunk_states, dout, dq, dk, dv, dg, da, db, ds0);
}

#define MIXLAB_DELTA_SCAN(T)                                                                                       \
  template void delta_scan_forward<T>(const DeltaScanShape&, const DeltaScanConfig&, const T*, const T*, const T*, \
                                      const T*, const T*, const T*, const T*, T*, T*, T*);                         \
  template void delta_scan_backward<T>(const DeltaScanShape&, const DeltaScanConfig&, const T*, const T*,          \
                                       const T*, const T*, const T*, const T*, const T*, const T*, T*, T*, T*, T*, \
                                       T*, T*, T*);                                                                \
  template void delta_scan_recurrent_forward<T>(const DeltaScanShape&, const DeltaScanConfig&, const T*, const T*, \
                                                const T*, const T*, const T*, const T*, const T*, T*, T*, T*);     \
  template void delta_scan_recurrent_backward<T>(const DeltaScanShape&, const DeltaScanConfig&, const T*,          \
                                                 const T*, const T*, const T*, const T*, const T*, const T*,       \
                                                 const T*, T*, T*, T*, T*, T*, T*, T*);
MIXLAB_DELTA_SCAN(float)
MIXLAB_DELTA_SCAN(double)
#undef MIXLAB_DELTA_SCAN

}  // namespace mixlab::cpu
