#pragma once
// Argument checks shared by the op implementations. Messages name the op and
// the offending tensors so misuse is diagnosable from one line.
#include <initializer_list>

#include "autograd/ops/backend.h"
#include "autograd/tensor.h"

namespace mixlab::ops_detail {

// All tensors defined, floating, and of one dtype and one device.
inline void check_float_compatible(const char* op, std::initializer_list<Tensor> ts) {
  const Tensor* first = nullptr;
  for (const Tensor& t : ts) {
    MIXLAB_CHECK(t.defined(), op, ": an input is undefined");
    MIXLAB_CHECK(is_floating(t.dtype()), op, ": input ", t.describe(), " is not a float tensor (allowed: f32, f64)");
    if (!first) {
      first = &t;
      continue;
    }
    MIXLAB_CHECK(t.dtype() == first->dtype(), op, ": dtype mismatch: ", first->describe(), " vs ", t.describe());
    MIXLAB_CHECK(t.device() == first->device(), op, ": device mismatch: ", first->describe(), " vs ", t.describe());
  }
}

inline void check_indices(const char* op, const Tensor& idx, const Tensor& like) {
  MIXLAB_CHECK(idx.defined() && idx.dtype() == DType::I64, op, ": indices must be an i64 tensor, got ",
               idx.describe());
  MIXLAB_CHECK(idx.device() == like.device(), op, ": device mismatch: indices ", idx.describe(), " vs ",
               like.describe());
}

// x viewed as (outer, n, inner) around one axis.
struct AxisView {
  int64_t outer, n, inner;
};

inline AxisView view_around(const Tensor& x, const char* op, int axis) {
  const int nd = x.ndim();
  MIXLAB_CHECK(nd > 0, op, ": needs a tensor with at least one axis, got ", x.describe());
  MIXLAB_CHECK(axis >= -nd && axis < nd, op, ": axis ", axis, " is out of range for ", x.describe(), " (allowed: ",
               -nd, " to ", nd - 1, ")");
  const int a = axis < 0 ? axis + nd : axis;
  return {x.shape().prod(0, a), x.shape()[a], x.shape().prod(a + 1, nd)};
}

}  // namespace mixlab::ops_detail
