#pragma once
// Ops that move elements without arithmetic. Results are new contiguous
// tensors (reshape/view, which share storage, are Tensor methods).
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

// out.shape[i] = x.shape[dims[i]]; dims is a permutation of the axes.
Tensor permute(const Tensor& x, const std::vector<int>& dims);
Tensor transpose(const Tensor& x, int axis0, int axis1);
// Elements start <= i < end along `axis` (negative start/end count from the end).
Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end);
// Joins tensors of equal shape except along `axis`.
Tensor concat(const std::vector<Tensor>& xs, int axis);
// idx i64 (n) -> out with x.shape[axis] replaced by n: out[.., j, ..] = x[.., idx[j], ..].
Tensor index_select(const Tensor& x, int axis, const Tensor& idx);
// x with src[.., j, ..] added to x[.., idx[j], ..]; repeated indices accumulate.
Tensor scatter_add(const Tensor& x, int axis, const Tensor& idx, const Tensor& src);
// weight (V, D), ids i64 of any shape S -> out S + (D).
Tensor embedding(const Tensor& weight, const Tensor& ids);

}  // namespace mixlab
