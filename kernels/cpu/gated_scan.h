#pragma once
// Chunked gated linear recurrence on host buffers, forward and backward: the
// shared engine of linear attention, RetNet, Mamba-2 (SSD) and RWKV-6.
//
// Per (batch b, head h), with key width dk, value width dv and state S (dk, dv):
//   S_t = diag(exp(g_t)) S_{t-1} + k_t v_tᵀ,           S_{-1} = s0 (or zeros)
//   o_t = scale · S_tᵀ q_t                              (bonus = false)
//   o_t = scale · (S_{t-1} + diag(u) k_t v_tᵀ)ᵀ q_t     (bonus = true, RWKV-6)
// g (log decay, <= 0) is one value per key channel (decay_width = dk), one per
// head (decay_width = 1, broadcast over channels) or absent (g = nullptr).
//
// Layout (row-major): q, k (B, Hq, T, dk) with H a multiple of Hq (head h reads
// q/k head h / (H/Hq)); v, o (B, H, T, dv); g (B, H, T, decay_width);
// u (H, dk); s0, final state (B, H, dk, dv); chunk_states (B, H, N, dk, dv)
// with N = ceil(T / chunk): the state entering each chunk.
#include <cstdint>

namespace mixlab::cpu {

struct GatedScanShape {
  int64_t B, H, Hq, T, dk, dv;
  int64_t decay_width;  // 0 (no decay), 1 (per head) or dk (per key channel)
};

struct GatedScanConfig {
  int64_t chunk = 64;
  bool bonus = false;
  double scale = 1.0;
};

inline int64_t gated_scan_chunks(const GatedScanShape& s, const GatedScanConfig& c) {
  return (s.T + c.chunk - 1) / c.chunk;
}

// u is read iff bonus; s0, final_state and chunk_states may be null.
template <typename T>
void gated_scan_forward(const GatedScanShape& s, const GatedScanConfig& c, const T* q, const T* k, const T* v,
                        const T* g, const T* u, const T* s0, T* o, T* final_state, T* chunk_states);

// Given dout = dL/do, overwrites dq, dk (B, Hq, T, dk) and dv (B, H, T, dv);
// dg (B, H, T, decay_width), du (H, dk) and ds0 (B, H, dk, dv) when not null.
// The final state is treated as having no gradient. chunk_states must be the
// forward's (the same s0, chunk and inputs).
template <typename T>
void gated_scan_backward(const GatedScanShape& s, const GatedScanConfig& c, const T* q, const T* k, const T* v,
                         const T* g, const T* u, const T* chunk_states, const T* dout, T* dq, T* dk, T* dv, T* dg,
                         T* du, T* ds0);

}  // namespace mixlab::cpu
