#pragma once
// Fused scaled-dot-product attention (kernels/cpu/flash_attention.h): tiled,
// online softmax, O(T) memory, hand-written backward.
#include <vector>

#include "autograd/tensor.h"
#include "kernels/attention_visibility.h"

namespace mixlab {

// Which keys each query sees is kernels/attention_visibility.h's rule.
struct AttentionMaskSpec {
  bool causal = true;                // key j visible iff j <= i + (Tk - Tq)
  int64_t window = 0;                // and i + (Tk - Tq) - j < window; 0 = none
  double scale = 1.0;                // on q·k
  std::vector<double> alibi_slopes;  // one per query head; empty = none
  // CUDA, F32 tensors: q, k, v (and the backward's dO) rounded to BF16 for the
  // tensor-core kernel, FP32 accumulation and F32 results. Refused on the CPU.
  bool bf16 = false;
};

// The visibility rule of `mask` for Tq queries over Tk keys: the fused
// kernels' mask, for the masks a plain (composed) path builds itself.
inline kernels::AttentionVisibility attention_visibility(const AttentionMaskSpec& mask, int64_t Tq, int64_t Tk) {
  return {Tq, Tk, mask.causal, mask.window};
}

// q (B,H,Tq,d), k and v (B,Hkv,Tk,d) with H a multiple of Hkv -> (B,H,Tq,d).
// Query head h reads KV head h / (H / Hkv).
Tensor flash_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMaskSpec& mask);

// Forward FLOPs of the fused attention calls since the last reset (4·d per
// visible (query, key) pair per head: q·k and p·v), for `mixlab info`, which
// adds them to the GEMM count to report FLOPs per token.
double attention_flops();
void reset_attention_flops();

// Decoding over a cache: k and v (B,Hkv,capacity,d) buffers of which the first
// n_keys rows along axis 2 are keys 0..n_keys-1 (the rest is spare room the
// cache grows into). Forward only: refuses inputs that require a gradient.
Tensor flash_attention_cached(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_keys,
                              const AttentionMaskSpec& mask);

}  // namespace mixlab
