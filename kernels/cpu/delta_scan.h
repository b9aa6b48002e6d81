#pragma once
// The delta-rule scan on host buffers, forward and backward: the engine of
// DeltaNet, Gated DeltaNet and RWKV-7 (autograd/ops/delta_scan.h).
//
// Per (batch b, head h), with key width dk, value width dv and state S (dk, dv):
//   S_t = (diag(exp(g_t)) + a_t b_tᵀ) S_{t-1} + k_t v_tᵀ,   S_{-1} = s0 (or zeros)
//   o_t = scale · S_tᵀ q_t
// g (log decay, <= 0) is one value per key channel (decay_width = dk), one per
// head (decay_width = 1, broadcast over channels) or absent (g = nullptr).
//
// Two forms, chosen by the decay: per-head or no decay runs the chunked WY/UT
// form (delta_scan_chunked.cpp), per-channel decay the token-by-token
// recurrence (delta_scan.cpp). Both keep the state entering every chunk of
// `chunk` tokens for the backward.
//
// Layout (row-major): q, k, a, b (B, H, T, dk); v, o (B, H, T, dv);
// g (B, H, T, decay_width); s0, final state (B, H, dk, dv);
// chunk_states (B, H, N, dk, dv) with N = ceil(T / chunk).
#include <cstdint>

namespace mixlab::cpu {

struct DeltaScanShape {
  int64_t B, H, T, dk, dv;
  int64_t decay_width;  // 0 (no decay), 1 (per head) or dk (per key channel)
};

struct DeltaScanConfig {
  int64_t chunk = 64;
  double scale = 1.0;
};

inline int64_t delta_scan_chunks(const DeltaScanShape& s, const DeltaScanConfig& c) {
  return (s.T + c.chunk - 1) / c.chunk;
}

// True when the chunked WY/UT form runs (decay per head or none).
inline bool delta_scan_is_chunked(const DeltaScanShape& s) { return s.decay_width <= 1; }

// s0, final_state and chunk_states may be null.
template <typename T>
void delta_scan_forward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k, const T* v,
                        const T* g, const T* a, const T* b, const T* s0, T* o, T* final_state, T* chunk_states);

// Given dout = dL/do, overwrites dq, dk, da, db (B, H, T, dk), dv (B, H, T, dv);
// dg (B, H, T, decay_width) and ds0 (B, H, dk, dv) when not null. The final
// state is treated as having no gradient. chunk_states must be the forward's
// (same s0, chunk and inputs).
template <typename T>
void delta_scan_backward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k, const T* v,
                         const T* g, const T* a, const T* b, const T* chunk_states, const T* dout, T* dq, T* dk,
                         T* dv, T* dg, T* da, T* db, T* ds0);

// The two forms by name, for the tests and the benchmark (the forward and
// backward above pick one). The recurrent form takes any decay width; the
// chunked one decay_width <= 1.
template <typename T>
void delta_scan_recurrent_forward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k,
                                  const T* v, const T* g, const T* a, const T* b, const T* s0, T* o, T* final_state,
                                  T* chunk_states);
template <typename T>
void delta_scan_recurrent_backward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k,
                                   const T* v, const T* g, const T* a, const T* b, const T* chunk_states,
                                   const T* dout, T* dq, T* dk, T* dv, T* dg, T* da, T* db, T* ds0);
template <typename T>
void delta_scan_chunked_forward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k,
                                const T* v, const T* g, const T* a, const T* b, const T* s0, T* o, T* final_state,
                                T* chunk_states);
template <typename T>
void delta_scan_chunked_backward(const DeltaScanShape& s, const DeltaScanConfig& c, const T* q, const T* k,
                                 const T* v, const T* g, const T* a, const T* b, const T* chunk_states,
                                 const T* dout, T* dq, T* dk, T* dv, T* dg, T* da, T* db, T* ds0);

}  // namespace mixlab::cpu
