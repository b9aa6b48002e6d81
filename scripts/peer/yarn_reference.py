#!/usr/bin/env python3
"""YaRN inverse frequencies as Hugging Face transformers computes them
(modeling_rope_utils._compute_yarn_parameters, truncate = True) and the YaRN
reference (jquesnelle/yarn, scaled_rope: _yarn_find_correction_range,
_yarn_linear_ramp_mask), written from their formulas in plain Python floats
(IEEE double; both evaluate in float32, so they agree with these to ~1e-7
relative). Pinned in tests/layers/test_positions.cpp; rerun and paste when the
convention changes on purpose.

  θ_i = base^(-2i/d), i = 0 .. d/2-1
  i(β) = d·ln(L / (2π β)) / (2 ln base)            the pair completing β rotations over L
  low = max(floor(i(β_fast)), 0), high = min(ceil(i(β_slow)), d - 1); high += 0.001 if equal
  ramp_i = clamp((i - low) / (high - low), 0, 1)
  θ'_i = θ_i/s · ramp_i + θ_i · (1 - ramp_i)
"""
import math


def yarn_inv_freq(d, base, factor, original_length, beta_fast=32.0, beta_slow=1.0):
    def pair_at(rotations):
        return d * math.log(original_length / (rotations * 2 * math.pi)) / (2 * math.log(base))

    low = max(math.floor(pair_at(beta_fast)), 0)
    high = min(math.ceil(pair_at(beta_slow)), d - 1)
    if low == high:
        high += 0.001
    out = []
    for i in range(d // 2):
        theta = base ** (-2.0 * i / d)
        ramp = min(max((i - low) / (high - low), 0.0), 1.0)
        out.append(theta / factor * ramp + theta * (1 - ramp))
    return low, high, out


for args in [(64, 10000.0, 8.0, 2048), (8, 10000.0, 4.0, 6), (16, 500.0, 4.0, 40)]:
    low, high, theta = yarn_inv_freq(*args)
    print(f"// d {args[0]}, base {args[1]}, factor {args[2]}, original length {args[3]}: low {low}, high {high}")
    print("{" + ", ".join(repr(v) for v in theta) + "}")
