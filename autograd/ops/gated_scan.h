#pragma once
// Fused chunked gated linear recurrence (kernels/cpu/gated_scan.h) with a
// hand-written backward: the scan under linear attention, RetNet, Mamba-2 (SSD)
// and RWKV-6.
#include <cstdint>

#include "autograd/tensor.h"

namespace mixlab {

struct GatedScanOptions {
  int64_t chunk = 64;   // tokens per chunk (>= 1); results agree across chunk sizes up to rounding
  bool bonus = false;   // RWKV-6 form: o_t reads S_{t-1} plus diag(u) k_t v_tᵀ
  double scale = 1.0;   // on every output
};

// q, k (B, Hq, T, dk); v (B, H, T, dv) with H a multiple of Hq (head h reads
// q/k head h / (H/Hq), Mamba-2 groups);
// log_decay (B, H, T, dk) per key channel (GLA, RWKV-6), (B, H, T, 1) per head
// (Mamba-2, RetNet), or undefined (no decay: linear attention); finite, <= 0;
// u (H, dk), required iff opts.bonus; initial_state (B, H, dk, dv) or undefined (zeros).
//   S_t = diag(exp(log_decay_t)) S_{t-1} + k_t v_tᵀ
//   bonus = false: o_t = scale · S_tᵀ q_t
//   bonus = true:  o_t = scale · (S_{t-1} + diag(u) k_t v_tᵀ)ᵀ q_t
// -> o (B, H, T, dv), differentiable in all six inputs. When final_state is not
// null it receives S_T (B, H, dk, dv), detached: no gradient flows back through
// it (feed it to a later call as initial_state to continue a sequence).
Tensor gated_scan(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& u,
                  const Tensor& initial_state, const GatedScanOptions& opts, Tensor* final_state = nullptr);

}  // namespace mixlab
