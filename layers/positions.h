#pragma once
// Positional encodings used inside attention mixers (MIXERS.md "Positional
// encodings"). Learned absolute positions live at the model level
// (model.positions).
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

// RoPE with the half-split pairing (GPT-NeoX / HF Llama): dimension i is
// rotated with dimension i + d/2 by angle pos·θ_i, θ_i = base^(−2i/d).
// NTK-aware scaling by a factor s uses base' = base·s^(d/(d−2)).
struct Rope {
  double base = 10000.0;
  double ntk_factor = 1.0;  // 1 = no scaling

  double effective_base(int64_t head_dim) const;
  // cos and sin tables (T, d) for positions first .. first+T-1.
  std::pair<Tensor, Tensor> tables(int64_t T, int64_t head_dim, int64_t first, DType dtype) const;
  // x (..., T, d) rotated: x·cos + rotate_half(x)·sin, differentiable.
  Tensor apply(const Tensor& x, int64_t first) const;
};

// ALiBi slopes m_h for H heads (Press et al.): 2^(−8h/H), h = 1..H, for H a
// power of two; otherwise those of the largest power of two below H, then every
// other slope of twice that many.
std::vector<double> alibi_slopes(int64_t n_heads);

// (H, Tq, Tk) additive bias −m_h·(i − j) for query positions
// first_query.. and key positions first_key.. (only j ≤ i is ever attended).
Tensor alibi_bias(const std::vector<double>& slopes, int64_t Tq, int64_t Tk, int64_t first_query, int64_t first_key,
                  DType dtype);

}  // namespace mixlab
