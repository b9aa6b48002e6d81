// Shape ops: forward and backward side by side. Each views its tensors as
// (outer, axis, inner) around the axis it moves along and calls a kernel in
// kernels/cpu/shape_kernels. The pure data-movement ops (permute, transpose,
// slice, concat, index_select) also move i64 tensors, which never carry a
// gradient; scatter_add and embedding do arithmetic on weights, so float only.
#include "autograd/ops/shape_ops.h"

#include <string>

#include "autograd/ops/op_util.h"
#include "autograd/tape.h"
#include "kernels/cpu/shape_kernels.h"

namespace mixlab {

using ops_detail::Backend;
using ops_detail::check_float_compatible;
using ops_detail::check_indices;

namespace {

// Calls f(T{}) with T the element type of a movable dtype (f32, f64, i64).
template <typename F>
void dispatch_movable(DType dtype, F&& f) {
  switch (dtype) {
    case DType::F32: return f(float{});
    case DType::F64: return f(double{});
    case DType::I64: return f(int64_t{});
  }
  throw Error("unknown dtype");
}

// A defined tensor of any dtype (data-movement ops), and the backend its
// kernels run on: on CUDA once the movement kernels are verified (cuda_api.h).
Backend check_movable(const char* op, const Tensor& x) {
  MIXLAB_CHECK(x.defined(), op, ": an input is undefined");
  return Backend::of("movement", op, x);
}

// Like Shape::axis, but the message names the op.
int resolve_axis(const char* op, const Shape& s, int axis) {
  const int nd = s.ndim();
  MIXLAB_CHECK(axis >= -nd && axis < nd, op, ": axis ", axis, " is out of range for ", s.str(), " (allowed: ",
               -nd, "..", nd - 1, ")");
  return axis < 0 ? axis + nd : axis;
}

// Extents before, at and after `axis`: the (outer, len, inner) view the kernels take.
struct AxisView {
  int64_t outer, len, inner;
};
AxisView around(const Shape& s, int axis) { return {s.prod(0, axis), s[axis], s.prod(axis + 1, s.ndim())}; }

// Indices for index_select / scatter_add: a 1-D i64 tensor on x's device.
void check_index_vector(const char* op, const Tensor& idx, const Tensor& x) {
  check_indices(op, idx, x);
  MIXLAB_CHECK(idx.ndim() == 1, op, ": indices must be 1-D, got ", idx.describe());
}
// `what()` names the indexed extent; it is only built when a check fails.
// Checked before any kernel reads the indices; on a GPU without copying them
// to the host (only the first bad position, and then its value, cross).
template <typename What>
void check_index_range(const char* op, const Tensor& idx, int64_t limit, What what) {
  int64_t bad = -1;
  const Backend backend = Backend::of("movement", op, idx);
  // An explicit branch: the GPU's check needs a device scratch word for its result.
  if (backend.on_cuda()) {
    Tensor scratch = Tensor::empty({1}, DType::I64, idx.device());
    bad = cuda::first_index_outside(backend.cuda_device(), idx.data<int64_t>(), idx.numel(), limit,
                                    scratch.data<int64_t>());
  } else {
    bad = cpu::first_index_outside(idx.data<int64_t>(), idx.numel(), limit);
  }
  if (bad < 0) return;
  throw Error(detail::concat(op, ": index ", slice(idx.reshape({-1}), 0, bad, bad + 1).to_indices()[0], " at position ", bad,
                             " is out of range [0, ", limit, ") for ", what()));
}

std::string dims_str(const std::vector<int>& dims) {
  std::string s = "(";
  for (size_t i = 0; i < dims.size(); ++i) s += (i ? "," : "") + std::to_string(dims[i]);
  return s + ")";
}

// x (s) -> out (s[dims[0]], .., s[dims[n-1]]); `op` names the caller in errors and on the tape.
Tensor permute_impl(const char* op, const Tensor& x, std::vector<int> dims) {
  const Backend backend = check_movable(op, x);
  const Shape& s = x.shape();
  const int nd = s.ndim();
  const std::string given = dims_str(dims);
  bool valid = static_cast<int>(dims.size()) == nd;
  std::vector<bool> seen(nd, false);
  for (size_t k = 0; valid && k < dims.size(); ++k) {
    int& d = dims[k];
    valid = d >= -nd && d < nd;
    if (!valid) break;
    if (d < 0) d += nd;
    valid = !seen[d];
    seen[d] = true;
  }
  MIXLAB_CHECK(valid, op, ": dims ", given, " are not a permutation of the ", nd, " axes of ", s.str());

  Shape out_shape;
  kernels::PermuteIndex ix;
  ix.ndim = nd;
  std::vector<int> inverse(nd);
  for (int k = 0; k < nd; ++k) {
    out_shape.push_back(s[dims[k]]);
    ix.out_shape[k] = s[dims[k]];
    ix.in_strides[k] = s.prod(dims[k] + 1, nd);  // contiguous stride of input axis dims[k]
    inverse[dims[k]] = k;
  }
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch_movable(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    MIXLAB_RUN_KERNEL(backend, permute_copy, x.data<T>(), out.data<T>(), ix);
  });
  record(op, out, {x}, [op, inverse](const Tensor& g) { return std::vector<Tensor>{permute_impl(op, g, inverse)}; });
  return out;
}

}  // namespace

// x (d0,..,dn-1) -> out (d[dims[0]],..,d[dims[n-1]])
Tensor permute(const Tensor& x, const std::vector<int>& dims) { return permute_impl("permute", x, dims); }

// x (..,a,..,b,..) -> out (..,b,..,a,..)
Tensor transpose(const Tensor& x, int axis0, int axis1) {
  check_movable("transpose", x);
  const int a = resolve_axis("transpose", x.shape(), axis0);
  const int b = resolve_axis("transpose", x.shape(), axis1);
  std::vector<int> dims(x.ndim());
  for (int k = 0; k < x.ndim(); ++k) dims[k] = k;
  std::swap(dims[a], dims[b]);
  return permute_impl("transpose", x, dims);
}

// x (..,L,..) -> out (..,end-start,..) along axis; negative start/end count from the
// end, and bounds outside [0, L] throw rather than clamp (no silent empty result).
Tensor slice(const Tensor& x, int axis, int64_t start, int64_t end) {
  const Backend backend = check_movable("slice", x);
  const Shape& s = x.shape();
  const int ax = resolve_axis("slice", s, axis);
  const AxisView v = around(s, ax);
  const int64_t b = start < 0 ? start + v.len : start;
  const int64_t e = end < 0 ? end + v.len : end;
  MIXLAB_CHECK(0 <= b && b <= e && e <= v.len, "slice: [", start, ", ", end, ") is out of range for axis ", axis,
               " of ", s.str(), " (extent ", v.len, ")");
  Shape out_shape = s;
  out_shape[ax] = e - b;
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch_movable(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    MIXLAB_RUN_KERNEL(backend, copy_axis_range, x.data<T>(), v.len, b, out.data<T>(), e - b, 0, v.outer, e - b,
                      v.inner);
  });
  // g (..,e-b,..) -> zeros (..,L,..) with g written at [b, e).
  record("slice", out, {x}, [s, v, b, e, backend](const Tensor& g) {
    Tensor gx = Tensor::zeros(s, g.dtype(), g.device());
    MIXLAB_DISPATCH_FLOAT(g.dtype(), "slice backward", [&] {
      MIXLAB_RUN_KERNEL(backend, copy_axis_range, g.data<scalar_t>(), e - b, 0, gx.data<scalar_t>(), v.len, b, v.outer,
                        e - b, v.inner);
    });
    return std::vector<Tensor>{gx};
  });
  return out;
}

// xs[i] (..,n_i,..) -> out (..,sum n_i,..) along axis; all else equal.
Tensor concat(const std::vector<Tensor>& xs, int axis) {
  MIXLAB_CHECK(!xs.empty(), "concat: no inputs");
  const Backend backend = check_movable("concat", xs[0]);
  for (size_t i = 1; i < xs.size(); ++i) check_movable("concat", xs[i]);
  const Shape& s0 = xs[0].shape();
  const int ax = resolve_axis("concat", s0, axis);
  std::vector<int64_t> offsets(xs.size());
  int64_t total = 0;
  for (size_t i = 0; i < xs.size(); ++i) {
    const Tensor& x = xs[i];
    MIXLAB_CHECK(x.dtype() == xs[0].dtype() && x.device() == xs[0].device(), "concat: input ", i, " ",
                 x.describe(), " does not match input 0 ", xs[0].describe(), " in dtype or device");
    bool match = x.ndim() == s0.ndim();
    for (int k = 0; match && k < s0.ndim(); ++k) match = k == ax || x.shape()[k] == s0[k];
    MIXLAB_CHECK(match, "concat: input ", i, " ", x.shape().str(), " does not match ", s0.str(), " outside axis ",
                 axis);
    offsets[i] = total;
    total += x.shape()[ax];
  }
  Shape out_shape = s0;
  out_shape[ax] = total;
  Tensor out = Tensor::empty(out_shape, xs[0].dtype(), xs[0].device());
  const AxisView v = around(out_shape, ax);
  dispatch_movable(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (size_t i = 0; i < xs.size(); ++i) {
      const int64_t n = xs[i].shape()[ax];
      MIXLAB_RUN_KERNEL(backend, copy_axis_range, xs[i].data<T>(), n, 0, out.data<T>(), total, offsets[i], v.outer, n,
                        v.inner);
    }
  });
  // g (..,total,..) -> one slice per input.
  std::vector<bool> needs(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) needs[i] = xs[i].requires_grad();
  std::vector<int64_t> ends(xs.size());
  for (size_t i = 0; i < xs.size(); ++i) ends[i] = offsets[i] + xs[i].shape()[ax];
  record("concat", out, xs, [ax, offsets, ends, needs](const Tensor& g) {
    std::vector<Tensor> grads(offsets.size());
    for (size_t i = 0; i < grads.size(); ++i)
      if (needs[i]) grads[i] = slice(g, ax, offsets[i], ends[i]);
    return grads;
  });
  return out;
}

namespace {

// dst (..,L,..) += src (..,n,..) at idx along ax, in place (indices checked
// by the caller), on the backend of the forward that needs it.
void scatter_add_into(const Backend& backend, const Tensor& dst, int ax, const Tensor& idx, const Tensor& src) {
  const AxisView v = around(dst.shape(), ax);
  MIXLAB_DISPATCH_FLOAT(dst.dtype(), "scatter_add", [&] {
    MIXLAB_RUN_KERNEL(backend, scatter_add, dst.data<scalar_t>(), idx.data<int64_t>(), src.data<scalar_t>(), v.outer,
                      v.len, idx.numel(), v.inner);
  });
}

}  // namespace

// x (..,L,..), idx (n) in [0,L) -> out (..,n,..) with out[..,j,..] = x[..,idx[j],..]
Tensor index_select(const Tensor& x, int axis, const Tensor& idx) {
  const Backend backend = check_movable("index_select", x);
  check_index_vector("index_select", idx, x);
  const Shape& s = x.shape();
  const int ax = resolve_axis("index_select", s, axis);
  const AxisView v = around(s, ax);
  check_index_range("index_select", idx, v.len, [&] { return detail::concat("axis ", axis, " of ", s.str()); });
  Shape out_shape = s;
  out_shape[ax] = idx.numel();
  Tensor out = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch_movable(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    MIXLAB_RUN_KERNEL(backend, index_select, x.data<T>(), idx.data<int64_t>(), out.data<T>(), v.outer, v.len,
                      idx.numel(), v.inner);
  });
  // g (..,n,..) -> zeros (..,L,..) with g scattered back; repeated indices add up.
  record("index_select", out, {x, idx}, [s, ax, backend, idx_saved = saved(idx)](const Tensor& g) {
    Tensor gx = Tensor::zeros(s, g.dtype(), g.device());
    scatter_add_into(backend, gx, ax, idx_saved, g);
    return std::vector<Tensor>{gx, Tensor()};
  });
  return out;
}

// x (..,L,..), idx (n) in [0,L), src (..,n,..) -> out (..,L,..) = x with src[..,j,..] added at [..,idx[j],..]
Tensor scatter_add(const Tensor& x, int axis, const Tensor& idx, const Tensor& src) {
  check_float_compatible("scatter_add", {x, src});
  const Backend backend = check_movable("scatter_add", x);
  check_index_vector("scatter_add", idx, x);
  const Shape& s = x.shape();
  const int ax = resolve_axis("scatter_add", s, axis);
  Shape expected = s;
  expected[ax] = idx.numel();
  MIXLAB_CHECK(src.shape() == expected, "scatter_add: src ", src.shape().str(), " does not match ", expected.str(),
               " (x ", s.str(), " with axis ", axis, " holding the ", idx.numel(), " indices)");
  check_index_range("scatter_add", idx, s[ax], [&] { return detail::concat("axis ", axis, " of ", s.str()); });
  Tensor out = Tensor::empty(s, x.dtype(), x.device());
  out.copy_(x);
  scatter_add_into(backend, out, ax, idx, src);
  // g (..,L,..) -> x: g unchanged; src: g gathered at idx.
  const bool src_needs = src.requires_grad();
  record("scatter_add", out, {x, idx, src}, [ax, src_needs, idx_saved = saved(idx)](const Tensor& g) {
    return std::vector<Tensor>{g, Tensor(), src_needs ? index_select(g, ax, idx_saved) : Tensor()};
  });
  return out;
}

// weight (V,D), ids i64 S in [0,V) -> out S+(D) with out[s,:] = weight[ids[s],:]
Tensor embedding(const Tensor& weight, const Tensor& ids) {
  check_float_compatible("embedding", {weight});
  const Backend backend = check_movable("embedding", weight);
  check_indices("embedding", ids, weight);
  MIXLAB_CHECK(weight.ndim() == 2, "embedding: weight must be 2-D (V, D), got ", weight.describe());
  MIXLAB_CHECK(ids.ndim() < kMaxDims, "embedding: ids ", ids.shape().str(), " has ", ids.ndim(),
               " dims; the output would need ", ids.ndim() + 1, " (at most ", kMaxDims, ")");
  const int64_t V = weight.size(0), D = weight.size(1), n = ids.numel();
  check_index_range("embedding", ids, V, [&] { return "weight " + weight.shape().str(); });
  Shape out_shape = ids.shape();
  out_shape.push_back(D);
  Tensor out = Tensor::empty(out_shape, weight.dtype(), weight.device());
  MIXLAB_DISPATCH_FLOAT(weight.dtype(), "embedding", [&] {
    MIXLAB_RUN_KERNEL(backend, index_select, weight.data<scalar_t>(), ids.data<int64_t>(), out.data<scalar_t>(), 1, V,
                      n, D);
  });
  // g S+(D) -> zeros (V,D) with each row of g added at its id.
  record("embedding", out, {weight, ids}, [V, D, backend, ids_saved = saved(ids)](const Tensor& g) {
    Tensor gw = Tensor::zeros(Shape{V, D}, g.dtype(), g.device());
    scatter_add_into(backend, gw, 0, ids_saved, g);  // ids of any shape, read flat
    return std::vector<Tensor>{gw, Tensor()};
  });
  return out;
}

}  // namespace mixlab
