// Elementwise ops: broadcasting binary arithmetic, scalar affine, and unary
// functions. Each forward is followed by its backward rule.
#include "autograd/ops/elementwise.h"
#include "autograd/ops/periodic.h"

#include "autograd/ops/op_util.h"
#include "autograd/ops/reduce.h"
#include "autograd/tape.h"
#include "kernels/cpu/elementwise_kernels.h"

namespace mixlab {

using namespace ops_detail;

Shape broadcast_shape(const char* op, const Shape& a, const Shape& b) {
  const int nd = std::max(a.ndim(), b.ndim());
  std::vector<int64_t> dims(nd);
  for (int i = 0; i < nd; ++i) {
    int64_t da = i < nd - a.ndim() ? 1 : a[i - (nd - a.ndim())];
    int64_t db = i < nd - b.ndim() ? 1 : b[i - (nd - b.ndim())];
    MIXLAB_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a.str(), " and ", b.str(),
                 " do not broadcast (extents must match or be 1, aligned from the right)");
    dims[i] = da == 1 ? db : da;
  }
  return Shape(dims);
}

namespace {

// Strides of `in` read over output dims `out` (0 on broadcast axes).
void broadcast_strides(const Shape& in, const Shape& out, int64_t* strides) {
  const int shift = out.ndim() - in.ndim();
  int64_t stride = 1;
  for (int d = out.ndim() - 1; d >= 0; --d) {
    int k = d - shift;
    if (k < 0 || in[k] == 1) {
      strides[d] = 0;
    } else {
      strides[d] = stride;
    }
    if (k >= 0) stride *= in[k];
  }
}

cpu::BroadcastIndex make_index(const Shape& out, const Shape& a, const Shape& b) {
  cpu::BroadcastIndex ix;
  ix.ndim = out.ndim();
  for (int d = 0; d < out.ndim(); ++d) ix.dims[d] = out[d];
  broadcast_strides(a, out, ix.stride_a);
  broadcast_strides(b, out, ix.stride_b);
  return ix;
}

const char* binary_name(cpu::BinaryOp op) {
  switch (op) {
    case cpu::BinaryOp::Add: return "add";
    case cpu::BinaryOp::Sub: return "sub";
    case cpu::BinaryOp::Mul: return "mul";
    case cpu::BinaryOp::Div: return "div";
  }
  return "?";
}

// The forward of a broadcasting binary op, without recording.
Tensor binary_forward(cpu::BinaryOp op, const Tensor& a, const Tensor& b) {
  const char* name = binary_name(op);
  check_float_compatible(name, {a, b});
  const Backend backend = Backend::of("elementwise", name, a);
  Shape out_shape = broadcast_shape(name, a.shape(), b.shape());
  Tensor out = Tensor::empty(out_shape, a.dtype(), a.device());
  cpu::BroadcastIndex ix = make_index(out_shape, a.shape(), b.shape());
  MIXLAB_DISPATCH_FLOAT(a.dtype(), name, [&] {
    MIXLAB_RUN_KERNEL(backend, binary, op, ix, a.data<scalar_t>(), b.data<scalar_t>(), out.data<scalar_t>());
  });
  return out;
}

}  // namespace

// x (broadcastable to shape) -> out (shape)
Tensor expand(const Tensor& x, const Shape& shape) {
  check_float_compatible("expand", {x});
  MIXLAB_CHECK(broadcast_shape("expand", x.shape(), shape) == shape, "expand: ", x.shape().str(),
               " cannot be broadcast to ", shape.str());
  if (x.shape() == shape) return x;
  const Backend backend = Backend::of("elementwise", "expand", x);
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  cpu::BroadcastIndex ix = make_index(shape, x.shape(), x.shape());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), "expand", [&] {
    MIXLAB_RUN_KERNEL(backend, broadcast_copy, ix, x.data<scalar_t>(), out.data<scalar_t>());
  });
  Shape source = x.shape();
  record("expand", out, {x}, [source](const Tensor& g) { return std::vector<Tensor>{sum_to(g, source)}; });
  return out;
}

// g (broadcast of shape) -> (shape)
Tensor sum_to(const Tensor& g, const Shape& shape) {
  if (g.shape() == shape) return g;
  MIXLAB_CHECK(broadcast_shape("sum_to", shape, g.shape()) == g.shape(), "sum_to: ", g.shape().str(),
               " is not a broadcast of ", shape.str());
  const int shift = g.ndim() - shape.ndim();
  Tensor r = g;
  // Leading axes that `shape` lacks are summed away; axes of extent 1 kept.
  for (int d = 0; d < shift; ++d) r = sum(r, 0);
  for (int d = 0; d < shape.ndim(); ++d)
    if (shape[d] == 1 && r.shape()[d] != 1) r = sum(r, d, /*keepdim=*/true);
  return r.reshape(shape);
}

// a, b broadcastable -> out (broadcast shape)
Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(cpu::BinaryOp::Add, a, b);
  Shape sa = a.shape(), sb = b.shape();
  record("add", out, {a, b}, [sa, sb](const Tensor& g) { return std::vector<Tensor>{sum_to(g, sa), sum_to(g, sb)}; });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(cpu::BinaryOp::Sub, a, b);
  Shape sa = a.shape(), sb = b.shape();
  record("sub", out, {a, b},
         [sa, sb](const Tensor& g) { return std::vector<Tensor>{sum_to(g, sa), sum_to(neg(g), sb)}; });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(cpu::BinaryOp::Mul, a, b);
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  // Save only what the rule needs: d/da needs b, d/db needs a.
  Tensor sa = gb ? saved(a) : Tensor(), sb = ga ? saved(b) : Tensor();
  Shape shape_a = a.shape(), shape_b = b.shape();
  record("mul", out, {a, b}, [sa, sb, shape_a, shape_b](const Tensor& g) {
    return std::vector<Tensor>{sb.defined() ? sum_to(mul(g, sb), shape_a) : Tensor(),
                               sa.defined() ? sum_to(mul(g, sa), shape_b) : Tensor()};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_forward(cpu::BinaryOp::Div, a, b);
  Tensor sb = saved(b), so = b.requires_grad() ? saved(out) : Tensor();
  Shape shape_a = a.shape(), shape_b = b.shape();
  record("div", out, {a, b}, [sb, so, shape_a, shape_b](const Tensor& g) {
    Tensor g_over_b = div(g, sb);
    // d(a/b)/db = -(a/b)/b
    return std::vector<Tensor>{sum_to(g_over_b, shape_a), so.defined() ? sum_to(neg(mul(g_over_b, so)), shape_b) : Tensor()};
  });
  return out;
}

namespace {

// out = x * s + t
Tensor affine(const char* name, const Tensor& x, double s, double t) {
  check_float_compatible(name, {x});
  const Backend backend = Backend::of("elementwise", name, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), name, [&] {
    MIXLAB_RUN_KERNEL(backend, affine, x.data<scalar_t>(), out.data<scalar_t>(), x.numel(), s, t);
  });
  record(name, out, {x}, [s](const Tensor& g) { return std::vector<Tensor>{s == 1.0 ? g : mul(g, s)}; });
  return out;
}

}  // namespace

Tensor add(const Tensor& a, double s) { return affine("add_scalar", a, 1.0, s); }
Tensor mul(const Tensor& a, double s) { return affine("mul_scalar", a, s, 0.0); }
Tensor neg(const Tensor& a) { return affine("neg", a, -1.0, 0.0); }

namespace {

// y = f(x); the backward kernel gets x and y, so both are saved.
Tensor unary(const char* name, cpu::UnaryOp op, const Tensor& x, cpu::UnaryParams p = {}) {
  check_float_compatible(name, {x});
  const Backend backend = Backend::of("elementwise", name, x);
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), name, [&] {
    MIXLAB_RUN_KERNEL(backend, unary_forward, op, p, x.data<scalar_t>(), y.data<scalar_t>(), x.numel());
  });
  if (needs_grad({x})) {
    Tensor sx = saved(x), sy = saved(y);
    record(name, y, {x}, [name, op, p, sx, sy, backend](const Tensor& g) {
      Tensor gx = Tensor::empty(sx.shape(), sx.dtype(), sx.device());
      MIXLAB_DISPATCH_FLOAT(sx.dtype(), name, [&] {
        MIXLAB_RUN_KERNEL(backend, unary_backward, op, p, sx.data<scalar_t>(), sy.data<scalar_t>(), g.data<scalar_t>(),
                          gx.data<scalar_t>(), sx.numel());
      });
      return std::vector<Tensor>{gx};
    });
  }
  return y;
}

}  // namespace

Tensor exp(const Tensor& x) { return unary("exp", cpu::UnaryOp::Exp, x); }
Tensor log(const Tensor& x) { return unary("log", cpu::UnaryOp::Log, x); }
Tensor sqrt(const Tensor& x) { return unary("sqrt", cpu::UnaryOp::Sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary("rsqrt", cpu::UnaryOp::Rsqrt, x); }
Tensor square(const Tensor& x) { return unary("square", cpu::UnaryOp::Square, x); }
Tensor tanh(const Tensor& x) { return unary("tanh", cpu::UnaryOp::Tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary("sigmoid", cpu::UnaryOp::Sigmoid, x); }
Tensor silu(const Tensor& x) { return unary("silu", cpu::UnaryOp::Silu, x); }
Tensor gelu(const Tensor& x, GeluForm form) {
  return form == GeluForm::Tanh ? unary("gelu_tanh", cpu::UnaryOp::GeluTanh, x)
                                : unary("gelu_erf", cpu::UnaryOp::GeluErf, x);
}
Tensor softplus(const Tensor& x, double beta, double threshold) {
  MIXLAB_CHECK(beta > 0, "softplus: beta must be > 0, got ", beta);
  return unary("softplus", cpu::UnaryOp::Softplus, x, {beta, threshold});
}
Tensor elu(const Tensor& x, double alpha) { return unary("elu", cpu::UnaryOp::Elu, x, {alpha, 0}); }
Tensor relu(const Tensor& x) { return unary("relu", cpu::UnaryOp::Relu, x); }
Tensor sin(const Tensor& x) { return unary("sin", cpu::UnaryOp::Sin, x); }
Tensor cos(const Tensor& x) { return unary("cos", cpu::UnaryOp::Cos, x); }

}  // namespace mixlab
