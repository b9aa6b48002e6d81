// Optimizer ops over the CPU kernels (kernels/cpu/optim_kernels) or the CUDA
// ones (kernels/cuda/optim.def).
#include "autograd/ops/optim.h"

#include <algorithm>

#include "autograd/ops/op_util.h"
#include "kernels/cpu/optim_kernels.h"

namespace mixlab {

using ops_detail::Backend;

namespace {

// Every parameter in one launch: the list of (p, g, m, v, n, decay) goes to
// the device as a small table.
template <typename T>
void adamw_step_on_cuda(const Backend& backend, const std::vector<AdamWParameter>& params,
                        const AdamWHyperparameters& h) {
  std::vector<cuda::AdamWTensor<T>> entries;
  int64_t largest = 0;
  for (const AdamWParameter& a : params) {
    entries.push_back({a.param.data<T>(), a.grad.data<T>(), a.m.data<T>(), a.v.data<T>(), a.param.numel(),
                       a.weight_decay});
    largest = std::max(largest, a.param.numel());
  }
  static_assert(sizeof(cuda::AdamWTensor<T>) % sizeof(int64_t) == 0);
  const Device device = params.front().param.device();
  const size_t bytes = entries.size() * sizeof(cuda::AdamWTensor<T>);
  Tensor table = Tensor::empty(Shape{static_cast<int64_t>(bytes / sizeof(int64_t))}, DType::I64, device);
  cuda::copy_host_to_device(backend.cuda_device(), table.raw(), entries.data(), bytes);
  const cuda::AdamWHyper hyper{h.lr, h.beta1, h.beta2, h.eps, h.bias_correction1, h.bias_correction2};
  cuda::adamw_update_all<T>(backend.cuda_device(), static_cast<const cuda::AdamWTensor<T>*>(table.raw()),
                            static_cast<int64_t>(entries.size()), largest, hyper);
}

}  // namespace

void adamw_step_(const std::vector<AdamWParameter>& params, const AdamWHyperparameters& h) {
  if (params.empty()) return;
  const Tensor& first = params.front().param;
  for (const AdamWParameter& a : params)
    ops_detail::check_float_compatible("adamw_step_", {first, a.param, a.grad, a.m, a.v});
  const Backend backend = Backend::of("optim", "AdamW", first);
  // An explicit branch: the GPU updates every parameter in one launch over a
  // device table; the CPU runs one fused loop per parameter.
  if (backend.on_cuda()) {
    MIXLAB_DISPATCH_FLOAT(first.dtype(), "AdamW", [&] { adamw_step_on_cuda<scalar_t>(backend, params, h); });
    return;
  }
  cpu::AdamWStep step{h.lr, h.beta1, h.beta2, h.eps, 0.0, h.bias_correction1, h.bias_correction2};
  for (const AdamWParameter& a : params) {
    step.weight_decay = a.weight_decay;
    MIXLAB_DISPATCH_FLOAT(a.param.dtype(), "AdamW", [&] {
      cpu::adamw_update(a.param.data<scalar_t>(), a.grad.data<scalar_t>(), a.m.data<scalar_t>(), a.v.data<scalar_t>(),
                        a.param.numel(), step);
    });
  }
}

double sum_of_squares(const Tensor& x) {
  ops_detail::check_float_compatible("sum_of_squares", {x});
  const Backend backend = Backend::of("optim", "sum_of_squares", x);
  return MIXLAB_DISPATCH_FLOAT(x.dtype(), "sum_of_squares", [&] {
    return MIXLAB_RUN_KERNEL(backend, sum_of_squares, x.data<scalar_t>(), x.numel());
  });
}

void scale_(const Tensor& x, double factor) {
  ops_detail::check_float_compatible("scale_", {x});
  const Backend backend = Backend::of("elementwise", "scale_", x);
  // An explicit branch: the GPU reuses the elementwise affine kernel
  // (x·factor + 0, in place) rather than carrying a scaling kernel of its own.
  MIXLAB_DISPATCH_FLOAT(x.dtype(), "scale_", [&] {
    if (backend.on_cuda())
      cuda::affine(backend.cuda_device(), x.data<scalar_t>(), x.data<scalar_t>(), x.numel(), factor, 0.0);
    else
      cpu::scale_in_place(x.data<scalar_t>(), x.numel(), factor);
  });
}

void require_optimizer_kernels(const char* op, const Tensor& x) { Backend::of("optim", op, x); }

}  // namespace mixlab
