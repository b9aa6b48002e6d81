#pragma once
// The one dispatch point of the ops: where an op's kernels run, decided once
// per call, and the call that runs a kernel there.
//
//   const Backend backend = Backend::of("nn", "softmax", x);  // gate checked here
//   MIXLAB_DISPATCH_FLOAT(x.dtype(), op, [&] {
//     MIXLAB_RUN_KERNEL(backend, softmax_forward, x.data<scalar_t>(), y.data<scalar_t>(), outer, n, inner, log);
//   });
//
// runs cpu::softmax_forward(args...) or cuda::softmax_forward(device, args...).
// A kernel pair fits when the CUDA entry point takes the CPU one's arguments
// after its device index (kernels/cuda/<family>.def mirrors kernels/cpu/*.h).
// Where the two backends run different algorithms (the CPU sums a loss on
// the host, the GPU needs scratch in device memory, ...) the op branches on
// on_cuda() itself and says why.
#include "autograd/tensor.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::ops_detail {

// The CPU, or one CUDA device whose kernel family passed the verification gate.
class Backend {
 public:
  // The backend of x's device for the kernels of `family` ("elementwise",
  // "nn", ...). On a GPU it checks the family's gate first, so an unverified
  // family throws, naming `op` and the flag that enables it (cuda_api.h),
  // before the op allocates or launches anything.
  static Backend of(const char* family, const char* op, const Tensor& x) {
    if (!x.device().is_cuda()) return Backend(kCpu);
    cuda::require_verified(family, op);
    return Backend(x.device().index);
  }

  bool on_cuda() const { return cuda_device_ != kCpu; }
  int cuda_device() const { return cuda_device_; }  // meaningful when on_cuda()

 private:
  static constexpr int kCpu = -1;
  explicit Backend(int cuda_device) : cuda_device_(cuda_device) {}
  int cuda_device_;
};

}  // namespace mixlab::ops_detail

// cpu::kernel(args...) on the CPU, cuda::kernel(device, args...) on a GPU:
// the kernel is named once and its arguments written once. A macro because a
// function cannot take an overload set (the kernels are templates); the
// arguments are evaluated once, in the branch taken.
#define MIXLAB_RUN_KERNEL(backend, kernel, ...)                                         \
  ((backend).on_cuda() ? ::mixlab::cuda::kernel((backend).cuda_device(), __VA_ARGS__) \
                       : ::mixlab::cpu::kernel(__VA_ARGS__))
