#include "distributed/data_parallel.h"

#include <algorithm>

#include "autograd/ops.h"

namespace mixlab {

ShardRange shard_range(int64_t n, int rank, int size) {
  const int64_t base = n / size, extra = n % size;
  const int64_t first = rank * base + std::min<int64_t>(rank, extra);
  return {first, first + base + (rank < extra ? 1 : 0)};
}

namespace {

// Gradient values of `p` as host doubles appended to `out` (zeros when undefined).
void append_gradient(const Tensor& p, std::vector<double>& out) {
  const Tensor g = p.grad();
  const size_t n = static_cast<size_t>(p.numel());
  if (!g.defined()) {
    out.insert(out.end(), n, 0.0);
    return;
  }
  const Tensor host = g.device().is_cpu() ? g : g.to(Device::cpu());
  if (host.dtype() == DType::F32) {
    const float* v = host.data<float>();
    out.insert(out.end(), v, v + n);
  } else {
    const std::vector<double> v = host.to_vector();
    out.insert(out.end(), v.begin(), v.end());
  }
}

// `p`'s gradient replaced by `values` (n of them) times `scale`: a new
// tensor, since the old one's storage may be shared (backward may hand a
// leaf the very tensor it received).
void write_gradient(const Tensor& p, const double* values, double scale) {
  const int64_t n = p.numel();
  Tensor g = Tensor::empty(p.shape(), p.dtype(), Device::cpu());
  if (p.dtype() == DType::F32) {
    float* v = g.data<float>();
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(values[i] * scale);
  } else {
    MIXLAB_CHECK(p.dtype() == DType::F64, "data parallel: gradients of ", dtype_name(p.dtype()),
                 " parameters are not supported (allowed: f32, f64)");
    double* v = g.data<double>();
    for (int64_t i = 0; i < n; ++i) v[i] = values[i] * scale;
  }
  p.set_grad(p.device().is_cpu() ? g : g.to(p.device()));
}

}  // namespace

void all_reduce_gradients(Communicator& comm, const std::vector<Tensor>& params, std::span<double> extras,
                          const std::function<double(std::span<const double>)>& scale) {
  NoGradGuard no_grad;
  std::vector<double> flat;
  size_t total = extras.size();
  for (const Tensor& p : params) total += static_cast<size_t>(p.numel());
  flat.reserve(total);
  for (const Tensor& p : params) append_gradient(p, flat);
  const size_t grads = flat.size();
  flat.insert(flat.end(), extras.begin(), extras.end());
  comm.all_reduce_sum(flat);
  std::copy(flat.begin() + static_cast<std::ptrdiff_t>(grads), flat.end(), extras.begin());
  const double s = scale(extras);
  size_t offset = 0;
  for (const Tensor& p : params) {
    write_gradient(p, flat.data() + offset, s);
    offset += static_cast<size_t>(p.numel());
  }
}

}  // namespace mixlab
