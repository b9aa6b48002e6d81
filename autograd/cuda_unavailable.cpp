// The CUDA device abstraction for builds without CUDA: no device is visible,
// and any call that would need one says how to get it. The stubs are
// generated from the kernel lists (kernels/cuda/kernel_list.h); only
// cuda_api.h's hand-written functions are written here.
#ifndef MIXLAB_WITH_CUDA
#include "autograd/error.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {
[[noreturn]] void unavailable(const char* what) {
  throw Error(detail::concat(what, ": mixlab was built without CUDA (configure with -DMIXLAB_CUDA=ON and nvcc on PATH)"));
}
}  // namespace

bool built_with_cuda() { return false; }
int device_count() { return 0; }
void set_tf32(bool) {}  // no GPU GEMMs to switch
bool tf32_enabled() { return false; }

#define MIXLAB_CUDA_FUNCTION(ret, name, params) \
  ret name params { unavailable("cuda::" #name); }
#define MIXLAB_CUDA_TEMPLATE(types, ret, name, params) \
  template <typename T>                                \
  ret name params {                                    \
    unavailable("cuda::" #name);                       \
  }                                                    \
  MIXLAB_CUDA_INSTANTIATE(types, name)
#include "kernels/cuda/kernel_lists.def"
#undef MIXLAB_CUDA_FUNCTION
#undef MIXLAB_CUDA_TEMPLATE

}  // namespace mixlab::cuda
#endif
