#pragma once
// The delta-rule scan's chunked WY/UT form written with the existing
// differentiable ops (matmul, exp, cumsum, ...) instead of the fused kernel:
// the baseline `mixlab bench delta` measures the fused op against, and a third
// form the tests hold equal to it (values and gradients, through autograd).
// Same arguments and result as delta_scan (autograd/ops/delta_scan.h) for a
// per-head decay (B, H, T, 1) or none.
//
// The triangular solve (I − N)⁻¹ X with N strictly lower triangular (C × C)
// is done without a solver op, by forward substitution one chunk row at a
// time for all chunks at once (C small matmuls), as fla's naive chunked
// reference does. (The shorter product (I + N)(I + N²)(I + N⁴)··· is exact
// for nilpotent N but forms powers of N that grow large and cancel: it lost
// 8 digits in F64 at chunk 64 with β near 2.) The chunks are then chained one
// after another, as in the fused kernel.
#include "autograd/tensor.h"
#include "autograd/ops/delta_scan.h"

namespace mixlab {

Tensor delta_scan_composed(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& log_decay,
                           const Tensor& a, const Tensor& b, const Tensor& initial_state,
                           const DeltaScanOptions& opts, Tensor* final_state = nullptr);

}  // namespace mixlab
