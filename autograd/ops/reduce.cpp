// Reductions over one axis or all elements, with their backward rules.
#include "autograd/ops/reduce.h"

#include "autograd/ops/elementwise.h"
#include "autograd/ops/op_util.h"
#include "autograd/tape.h"
#include "kernels/cpu/reduce_kernels.h"

namespace mixlab {

using namespace ops_detail;

namespace {

Shape reduced_shape(const Shape& s, int axis, bool keepdim) {
  Shape out;
  for (int d = 0; d < s.ndim(); ++d) {
    if (d != axis)
      out.push_back(s[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

// x (..., n at axis, ...) -> (...) scaled by `scale` (1 for sum, 1/n for mean)
Tensor sum_scaled(const char* name, const Tensor& x, int axis_in, bool keepdim, bool average) {
  check_float_compatible(name, {x});
  const Backend backend = Backend::of("reduce", name, x);
  const int axis = x.shape().axis(axis_in);
  const int64_t n = x.shape()[axis];
  const int64_t outer = x.shape().prod(0, axis), inner = x.shape().prod(axis + 1, x.ndim());
  const double scale = average ? (n > 0 ? 1.0 / static_cast<double>(n) : 0.0) : 1.0;
  Tensor out = Tensor::empty(reduced_shape(x.shape(), axis, keepdim), x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), name, [&] {
    MIXLAB_RUN_KERNEL(backend, sum_axis, x.data<scalar_t>(), out.data<scalar_t>(), outer, n, inner, scale);
  });
  Shape in_shape = x.shape(), keep_shape = reduced_shape(x.shape(), axis, true);
  record(name, out, {x}, [in_shape, keep_shape, scale](const Tensor& g) {
    Tensor gk = g.reshape(keep_shape);
    if (scale != 1.0) gk = mul(gk, scale);
    return std::vector<Tensor>{expand(gk, in_shape)};
  });
  return out;
}

}  // namespace

// x (...) -> (...) without `axis` (kept as 1 when keepdim)
Tensor sum(const Tensor& x, int axis, bool keepdim) { return sum_scaled("sum", x, axis, keepdim, false); }
Tensor mean(const Tensor& x, int axis, bool keepdim) { return sum_scaled("mean", x, axis, keepdim, true); }

// x (...) -> ()
Tensor sum(const Tensor& x) { return sum_scaled("sum", x.reshape({x.numel()}), 0, false, false); }
Tensor mean(const Tensor& x) { return sum_scaled("mean", x.reshape({x.numel()}), 0, false, true); }

namespace {

struct MaxWithIndex {
  Tensor max, index;
  Backend backend;  // where they were computed, for the backward
};

// Maximum and its first index along `axis`.
MaxWithIndex max_with_index(const char* name, const Tensor& x, int axis_in, bool keepdim) {
  check_float_compatible(name, {x});
  const Backend backend = Backend::of("reduce", name, x);
  const int axis = x.shape().axis(axis_in);
  const int64_t n = x.shape()[axis];
  MIXLAB_CHECK(n > 0, name, ": axis ", axis_in, " of ", x.shape().str(), " is empty");
  const int64_t outer = x.shape().prod(0, axis), inner = x.shape().prod(axis + 1, x.ndim());
  Tensor out = Tensor::empty(reduced_shape(x.shape(), axis, keepdim), x.dtype(), x.device());
  Tensor index = Tensor::empty(out.shape(), DType::I64, x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), name, [&] {
    MIXLAB_RUN_KERNEL(backend, max_axis, x.data<scalar_t>(), out.data<scalar_t>(), index.data<int64_t>(), outer, n,
                      inner);
  });
  return {out, index, backend};
}

}  // namespace

// x (..., n at axis, ...) -> i64 (...)
Tensor argmax(const Tensor& x, int axis, bool keepdim) { return max_with_index("argmax", x, axis, keepdim).index; }

// x (..., n at axis, ...) -> (...), gradient to the first maximal element
Tensor max(const Tensor& x, int axis_in, bool keepdim) {
  auto [out, argmax, backend] = max_with_index("max", x, axis_in, keepdim);
  const int axis = x.shape().axis(axis_in);
  const int64_t n = x.shape()[axis];
  const int64_t outer = x.shape().prod(0, axis), inner = x.shape().prod(axis + 1, x.ndim());
  Shape in_shape = x.shape();
  record("max", out, {x}, [argmax, backend, in_shape, outer, n, inner](const Tensor& g) {
    Tensor gx = Tensor::empty(in_shape, g.dtype(), g.device());
    MIXLAB_DISPATCH_FLOAT(g.dtype(), "max", [&] {
      MIXLAB_RUN_KERNEL(backend, max_axis_backward, g.data<scalar_t>(), argmax.data<int64_t>(), gx.data<scalar_t>(),
                        outer, n, inner);
    });
    return std::vector<Tensor>{gx};
  });
  return out;
}

}  // namespace mixlab
