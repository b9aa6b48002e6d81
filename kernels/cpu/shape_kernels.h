#pragma once
// Data-movement kernels over contiguous row-major host buffers: permuted
// copies, axis-range copies (slice / concat), gathers and scatter-adds along
// one axis. A tensor is viewed as (outer, axis, inner) around the moved axis.
// Instantiated for float, double and int64_t (index bookkeeping).
#include <cstdint>

#include "kernels/permute_index.h"

namespace mixlab::cpu {

using kernels::PermuteIndex;

// in contiguous; out (ix.out_shape[0..ix.ndim)) row-major with
// out[i_0, .., i_{ndim-1}] = in[sum_k i_k * ix.in_strides[k]]  (in_strides in elements).
template <typename T>
void permute_copy(const T* in, T* out, const PermuteIndex& ix);

// src (outer, src_len, inner), dst (outer, dst_len, inner):
// dst[o, dst_start + k, :] = src[o, src_start + k, :] for 0 <= k < count.
template <typename T>
void copy_axis_range(const T* src, int64_t src_len, int64_t src_start, T* dst, int64_t dst_len, int64_t dst_start,
                     int64_t outer, int64_t count, int64_t inner);

// x (outer, len, inner), idx (n) in [0, len) -> out (outer, n, inner):
// out[o, j, :] = x[o, idx[j], :].
template <typename T>
void index_select(const T* x, const int64_t* idx, T* out, int64_t outer, int64_t len, int64_t n, int64_t inner);

// dst (outer, len, inner) += src (outer, n, inner) scattered by idx (n) in [0, len):
// dst[o, idx[j], :] += src[o, j, :]. Every element receives its contributions in
// ascending j, whatever the thread count (threads split o and inner, never j).
template <typename T>
void scatter_add(T* dst, const int64_t* idx, const T* src, int64_t outer, int64_t len, int64_t n, int64_t inner);

// idx (n) -> position of the first value outside [0, limit), or -1 when all are inside.
int64_t first_index_outside(const int64_t* idx, int64_t n, int64_t limit);

}  // namespace mixlab::cpu
