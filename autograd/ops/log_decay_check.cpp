#include "autograd/ops/log_decay_check.h"

#include <cmath>

#include "autograd/ops/op_util.h"
#include "autograd/ops/reduce.h"
#include "autograd/tape.h"

namespace mixlab::ops_detail {

namespace {

// Finite and <= 0: the scans' "no factor exceeds 1" rests on it, and -inf would
// give -inf − (-inf) = NaN in their cumulative differences.
template <typename T>
void check_values_on_host(const char* op, const Tensor& log_decay) {
  const T* x = log_decay.data<T>();
  const int64_t n = log_decay.numel();
  for (int64_t i = 0; i < n; ++i)
    MIXLAB_CHECK(x[i] <= T(0) && std::isfinite(x[i]), op, ": log_decay ", log_decay.describe(), " has value ", x[i],
                 " at element ", i, " (allowed: finite and <= 0)");
}

}  // namespace

int64_t check_log_decay(const char* op, const Tensor& log_decay, int64_t B, int64_t H, int64_t T, int64_t dk) {
  if (!log_decay.defined()) return 0;
  MIXLAB_CHECK(log_decay.ndim() == 4 && log_decay.size(0) == B && log_decay.size(1) == H && log_decay.size(2) == T &&
                   (log_decay.size(3) == dk || log_decay.size(3) == 1),
               op, ": log_decay ", log_decay.shape().str(), " must be (B,H,T,dk) or (B,H,T,1) with B = ", B,
               ", H = ", H, ", T = ", T, ", dk = ", dk);
  if (log_decay.device().is_cpu()) {
    MIXLAB_DISPATCH_FLOAT(log_decay.dtype(), op, [&] { check_values_on_host<scalar_t>(op, log_decay); });
  } else {
    // On a GPU two reductions instead of a copy of every value: +inf or a
    // positive value shows in the max, -inf or NaN in the sum.
    NoGradGuard no_grad;
    const double largest = max(log_decay.reshape({-1}), 0).item(), total = sum(log_decay).item();
    MIXLAB_CHECK(largest <= 0 && std::isfinite(total), op, ": log_decay ", log_decay.describe(),
                 " has values outside the allowed finite, <= 0 (largest ", largest, ", sum ", total, ")");
  }
  return log_decay.size(3);
}

}  // namespace mixlab::ops_detail
