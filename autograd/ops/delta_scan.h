#pragma once
// Fused delta-rule scan: a linear recurrence whose transition is a diagonal
// decay plus a rank-one term (diagonal-plus-low-rank, DPLR), with a
// hand-written backward. The engine of DeltaNet, Gated DeltaNet and RWKV-7.
#include <cstdint>

#include "autograd/tensor.h"

namespace mixlab {

struct DeltaScanOptions {
  int64_t chunk = 64;  // tokens per chunk (>= 1); results agree across chunk sizes up to rounding
  double scale = 1.0;  // on every output
};

// q, k, a, b (B, H, T, dk); v (B, H, T, dv);
// log_decay (B, H, T, dk) per key channel, (B, H, T, 1) per head, or undefined
// (no decay); finite, <= 0; initial_state (B, H, dk, dv) or undefined (zeros).
// State S (dk, dv), mixlab's gated_scan convention (o_t = Sᵀ q):
//   S_t = (diag(exp(log_decay_t)) + a_t b_tᵀ) S_{t-1} + k_t v_tᵀ
//   o_t = scale · S_tᵀ q_t
// -> o (B, H, T, dv), differentiable in q, k, v, log_decay, a, b and
// initial_state. When final_state is not null it receives S_T (B, H, dk, dv),
// detached: no gradient flows back through it.
//
// The mixers' instances: DeltaNet a = −β k, b = k, value β v, no decay;
// Gated DeltaNet adds a per-head log α_t and a = −α β k; RWKV-7 a per-channel
// decay w with a = −(a_rwkv ⊙ κ̂), b = κ̂.
//
// Per-head or no decay runs the chunked WY/UT form (Yang et al. 2024), per
// key channel decay a fused token-by-token recurrence; both save the state
// entering every chunk for the backward.
Tensor delta_scan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& a,
                  const Tensor& b, const Tensor& initial_state, const DeltaScanOptions& opts,
                  Tensor* final_state = nullptr);

}  // namespace mixlab
