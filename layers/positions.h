#pragma once
// Positional encodings used inside attention mixers (docs/mixers.md, "Positional
// encodings"). Learned absolute positions live at the model level
// (model.positions).
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

// RoPE with the half-split pairing (GPT-NeoX / HF Llama): dimension i is
// rotated with dimension i + d/2 by angle pos·θ_i, θ_i = base^(−2i/d).
// Context extension by a factor s (NTK-aware: bloc97 2023; YaRN: Peng et al. 2023):
// - ntk:  base' = base·s^(d/(d−2)) (NTK-aware), every frequency changes.
// - yarn: per frequency, a blend of interpolation θ_i/s and extrapolation θ_i
//   along a ramp between β_fast and β_slow rotations over original_length.
//   Ramp::Reference (default), as the YaRN reference (jquesnelle/yarn,
//   _yarn_find_correction_range) and Hugging Face transformers
//   (_compute_yarn_parameters): the dimension pair where r_i =
//   original_length / wavelength_i equals β is
//   i(β) = d·ln(original_length / (2π β)) / (2 ln base); the ramp runs linearly
//   in i from low = max(⌊i(β_fast)⌋, 0) to high = min(⌈i(β_slow)⌉, d − 1)
//   (high += 0.001 if they coincide): pairs i ≤ low extrapolate, i ≥ high
//   interpolate. Ramp::Continuous: the paper's formula, linear in r_i itself
//   with unrounded ends: r < β_slow interpolates, r > β_fast extrapolates.
//   Queries and keys are also scaled by mscale = 0.1·ln(s) + 1, so scores
//   scale by mscale² (the paper's attention temperature, HF's attention_factor).
struct Rope {
  enum class Scaling { None, Ntk, Yarn };
  enum class Ramp { Reference, Continuous };
  double base = 10000.0;
  Scaling scaling = Scaling::None;
  double factor = 1.0;                  // s; 1 = no scaling
  int64_t original_length = 2048;       // yarn: the context the model was trained at
  double beta_fast = 32.0, beta_slow = 1.0;  // yarn ramp ends (in rotations over original_length)
  Ramp ramp = Ramp::Reference;               // yarn: rounded ends, linear in the dimension (HF) or continuous

  static Rope ntk(double base, double factor) { return {base, Scaling::Ntk, factor}; }

  double effective_base(int64_t head_dim) const;
  // θ_i for i = 0 .. d/2−1, after scaling.
  std::vector<double> frequencies(int64_t head_dim) const;
  // The factor on q and k (mscale under yarn, else 1).
  double magnitude() const;
  // cos and sin tables (T, d) for positions first .. first+T-1, times magnitude().
  std::pair<Tensor, Tensor> tables(int64_t T, int64_t head_dim, int64_t first, DType dtype,
                                   Device device = Device::cpu()) const;
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
                  DType dtype, Device device = Device::cpu());

}  // namespace mixlab
