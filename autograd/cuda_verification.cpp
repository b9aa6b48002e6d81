// Which CUDA kernel families may run: those a passing scripts/gpu-check.sh
// run has verified on a GPU (docs/cuda.md records the runs). The others stay
// off unless MIXLAB_CUDA_UNVERIFIED=1, so no result ever silently depends on
// a kernel nobody has seen run.
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "autograd/error.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {

// Add a family only together with the gpu-check.sh report that verified it.
// None yet: no session has had a GPU to run them on.
constexpr std::string_view kVerifiedFamilies[] = {""};

bool unverified_allowed() {
  const char* flag = std::getenv("MIXLAB_CUDA_UNVERIFIED");
  return flag != nullptr && std::strcmp(flag, "1") == 0;
}

}  // namespace

void require_verified(const char* family, const char* op) {
  for (std::string_view verified : kVerifiedFamilies)
    if (!verified.empty() && verified == family) return;
  MIXLAB_CHECK(unverified_allowed(), op, ": the CUDA ", family,
               " kernels have not been verified on a GPU yet (no passing scripts/gpu-check.sh run); set "
               "MIXLAB_CUDA_UNVERIFIED=1 to use them anyway, or run on the CPU");
}

}  // namespace mixlab::cuda
