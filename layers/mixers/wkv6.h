#pragma once
// The RWKV-6 WKV operator (Peng et al. 2024; docs/mixers.md), per head with head size S:
//   o_t = r_tᵀ (S_{t−1} + diag(u) k_t ⊗ v_t),
//   S_t = diag(exp(lw_t)) S_{t−1} + k_t ⊗ v_t,
// where lw_t = −exp(w_raw_t) ≤ 0 is the log decay, carried in log space as
// given (never recovered as log(exp(−exp(w)))). S is (key dim × value dim);
// the decay scales its key rows. No 1/√S scale (the official model has none).
//
// Three forms that agree up to rounding: the fused chunked scan
// (autograd/ops/gated_scan.h, hand-written backward; the default), and two
// built from differentiable ops (gradients from the tape), kept as
// cross-checks: chunked and recurrent.
//
// Shapes: r, k, v, log_decay (B, H, T, S); u (H, S); state (B, H, S, S) or
// undefined (zeros) -> out (B, H, T, S), final state (B, H, S, S), in the
// inputs' dtype (F32 state passing in F32 runs, as the official kernel).
#include <cstdint>

#include "autograd/tensor.h"

namespace mixlab {

struct WkvResult {
  Tensor out;    // (B, H, T, S)
  Tensor state;  // (B, H, S, S) after the last token
};

// Token by token: T steps of the recurrence (what decoding runs).
WkvResult wkv6_recurrent(const Tensor& r, const Tensor& k, const Tensor& v, const Tensor& log_decay,
                         const Tensor& u, const Tensor& state);

// Chunks of `chunk` tokens (a multiple of `sub_chunk`), all chunks at once
// through batched matmuls; only the state hand-over loops over chunks. Within
// a chunk, sub-chunks of `sub_chunk` tokens: blocks between different
// sub-chunks are matmuls of factors each ≤ 1 around a reference point, the
// diagonal blocks are computed element by element. See wkv6.cpp.
WkvResult wkv6_chunked(const Tensor& r, const Tensor& k, const Tensor& v, const Tensor& log_decay,
                       const Tensor& u, const Tensor& state, int64_t chunk, int64_t sub_chunk);

// The fused gated scan in its bonus form, chunks of `chunk` tokens. Its final
// state is detached: no gradient flows back into it (training never needs
// one; the ops forms above support it).
WkvResult wkv6_fused(const Tensor& r, const Tensor& k, const Tensor& v, const Tensor& log_decay, const Tensor& u,
                     const Tensor& state, int64_t chunk);

}  // namespace mixlab
