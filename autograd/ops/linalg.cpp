// Matrix products through the GEMM kernels (OpenBLAS/Eigen on CPU, cuBLAS on CUDA).
#include "autograd/ops/linalg.h"

#include "autograd/ops/elementwise.h"
#include "autograd/ops/op_util.h"
#include "autograd/ops/reduce.h"
#include "autograd/tape.h"
#include "kernels/cpu/gemm.h"

namespace mixlab {

using namespace ops_detail;

namespace {

struct GemmPlan {
  int64_t M, N, K, batch, stride_a, stride_b;
  Shape out_shape;
};

GemmPlan plan(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  const Shape& sa = a.shape();
  const Shape& sb = b.shape();
  MIXLAB_CHECK(sa.ndim() >= 2 && sb.ndim() >= 2, "matmul: operands must have at least 2 dims, got a ", sa.str(),
               " and b ", sb.str());
  GemmPlan p;
  const int64_t a_rows = sa[sa.ndim() - 2], a_cols = sa[sa.ndim() - 1];
  const int64_t b_rows = sb[sb.ndim() - 2], b_cols = sb[sb.ndim() - 1];
  p.M = ta ? a_cols : a_rows;
  p.K = ta ? a_rows : a_cols;
  const int64_t kb = tb ? b_cols : b_rows;
  p.N = tb ? b_rows : b_cols;
  MIXLAB_CHECK(p.K == kb, "matmul: inner dims differ: a ", sa.str(), (ta ? "ᵀ" : ""), " and b ", sb.str(),
               (tb ? "ᵀ" : ""), " (", p.K, " vs ", kb, ")");
  const int64_t batch_a = sa.prod(0, sa.ndim() - 2), batch_b = sb.prod(0, sb.ndim() - 2);
  const Shape& batch_shape = sa.ndim() >= sb.ndim() ? sa : sb;
  if (sa.ndim() > 2 && sb.ndim() > 2) {
    bool same = sa.ndim() == sb.ndim();
    for (int d = 0; same && d < sa.ndim() - 2; ++d) same = sa[d] == sb[d];
    MIXLAB_CHECK(same, "matmul: batch dims of a ", sa.str(), " and b ", sb.str(),
                 " must be equal (or one operand 2-D and shared)");
  }
  p.batch = std::max(batch_a, batch_b);
  p.stride_a = batch_a == 1 && sa.ndim() == 2 ? 0 : a_rows * a_cols;
  p.stride_b = batch_b == 1 && sb.ndim() == 2 ? 0 : b_rows * b_cols;
  for (int d = 0; d < batch_shape.ndim() - 2; ++d) p.out_shape.push_back(batch_shape[d]);
  p.out_shape.push_back(p.M);
  p.out_shape.push_back(p.N);
  return p;
}

// out = op(a) op(b) with the plan's batching, no recording.
Tensor gemm_forward(const Tensor& a, const Tensor& b, bool ta, bool tb) {
  check_float_compatible("matmul", {a, b});
  GemmPlan p = plan(a, b, ta, tb);
  const Backend backend = Backend::of("gemm", "matmul", a);
  Tensor out = Tensor::empty(p.out_shape, a.dtype(), a.device());
  const int64_t stride_c = p.M * p.N;
  // On the CPU a shared 2-D b with a non-transposed batched a is one big GEMM
  // over all rows (one BLAS call instead of one per batch matrix); cuBLAS's
  // strided-batched call takes the shared b (stride 0) as it is.
  const bool one_gemm = !backend.on_cuda() && p.stride_b == 0 && p.stride_a != 0 && !ta;
  const int64_t M = one_gemm ? p.M * p.batch : p.M, batch = one_gemm ? 1 : p.batch;
  const int64_t stride_a = one_gemm ? 0 : p.stride_a, stride_out = one_gemm ? 0 : stride_c;
  MIXLAB_DISPATCH_FLOAT(a.dtype(), "matmul", [&] {
    MIXLAB_RUN_KERNEL(backend, gemm, ta, tb, M, p.N, p.K, scalar_t(1), a.data<scalar_t>(), stride_a,
                      b.data<scalar_t>(), p.stride_b, scalar_t(0), out.data<scalar_t>(), stride_out, batch);
  });
  return out;
}

// Gradient of a shared 2-D operand: sum the per-batch gradients.
Tensor reduce_batch(const Tensor& g, const Shape& shape) {
  return g.ndim() == shape.ndim() ? g : sum(g.reshape({-1, shape[0], shape[1]}), 0);
}

}  // namespace

// a (...,M,K) [or (...,K,M) when trans_a], b (...,K,N) [or (...,N,K)] -> (...,M,N)
Tensor matmul(const Tensor& a, const Tensor& b, bool trans_a, bool trans_b) {
  Tensor out = gemm_forward(a, b, trans_a, trans_b);
  const bool ga = a.requires_grad(), gb = b.requires_grad();
  Tensor sa = gb ? saved(a) : Tensor(), sb = ga ? saved(b) : Tensor();
  Shape shape_a = a.shape(), shape_b = b.shape();
  record("matmul", out, {a, b}, [=](const Tensor& g) {
    // C = A B: dA = G Bᵀ, dB = Aᵀ G; transposed operands swap roles.
    Tensor da, db;
    if (sb.defined())
      da = trans_a ? gemm_forward(sb, g, trans_b, true) : gemm_forward(g, sb, false, !trans_b);
    if (sa.defined())
      db = trans_b ? gemm_forward(g, sa, true, trans_a) : gemm_forward(sa, g, !trans_a, false);
    if (da.defined()) da = reduce_batch(da, shape_a);
    if (db.defined()) db = reduce_batch(db, shape_b);
    return std::vector<Tensor>{da, db};
  });
  return out;
}

}  // namespace mixlab
