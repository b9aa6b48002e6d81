#pragma once
// The index of a permuted copy, shared by the CPU and CUDA kernels (so both
// take the same arguments): out[k] = in[sum_d i_d * in_strides[d]] where
// (i_0, .., i_{ndim-1}) is k's position in out_shape (row-major).
#include <cstdint>

namespace mixlab::kernels {

constexpr int kMaxPermuteDims = 5;

struct PermuteIndex {
  int ndim = 0;
  int64_t out_shape[kMaxPermuteDims] = {};
  int64_t in_strides[kMaxPermuteDims] = {};  // the contiguous input's stride (elements) of each output axis
};

}  // namespace mixlab::kernels
