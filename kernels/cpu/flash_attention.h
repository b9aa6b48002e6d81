#pragma once
// Tiled online-softmax ("flash") attention on host buffers, forward and
// backward (FlashAttention-2's algorithm on CPU): scores are built one
// (query block × key block) tile at a time and never stored whole, so memory
// is O(T) (the output and one log-sum-exp per row).
//
// Layout: q (B, H, Tq, d), k and v (B, Hkv, Tk, d), o (B, H, Tq, d), all
// row-major; query head h reads KV head h / (H / Hkv). Which keys a query
// sees is kernels/attention_visibility.h's rule (query row i at position
// i + (Tk − Tq), so a decode step with Tq = 1 sees every cached key).
#include <cstdint>
#include <vector>

#include "kernels/attention_visibility.h"

namespace mixlab::cpu {

struct FlashAttentionShape {
  int64_t B, H, Hkv, Tq, Tk, d;
  // Rows allocated per (b, kv head) in k and v, >= Tk; only the first Tk are
  // read. A decode cache grows in place with spare capacity (forward only).
  int64_t kv_rows = 0;  // 0: Tk
  int64_t key_rows() const { return kv_rows > 0 ? kv_rows : Tk; }
};

struct FlashAttentionMask {
  bool causal = true;                // key j visible to query i iff j <= pos(i)
  int64_t window = 0;                // and pos(i) − j < window (0: no window)
  double scale = 1.0;                // scores = q·k · scale
  std::vector<double> alibi_slopes;  // per query head: score −= slope·(pos(i) − j); empty: none
};

// The visibility rule of one call.
inline kernels::AttentionVisibility visibility(const FlashAttentionShape& s, const FlashAttentionMask& m) {
  return {s.Tq, s.Tk, m.causal, m.window};
}

// o and lse (B, H, Tq): lse = log Σ_j exp(score_ij), saved for the backward.
template <typename T>
void flash_attention_forward(const FlashAttentionShape& s, const FlashAttentionMask& m, const T* q, const T* k,
                             const T* v, T* o, T* lse);

// dq, dk, dv are overwritten. Recomputes the probabilities tile by tile from lse.
template <typename T>
void flash_attention_backward(const FlashAttentionShape& s, const FlashAttentionMask& m, const T* q, const T* k,
                              const T* v, const T* o, const T* lse, const T* dout, T* dq, T* dk, T* dv);

}  // namespace mixlab::cpu
