#include "cli/gpu_peak.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "autograd/ops.h"
#include "cli/command.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cli {

void require_gpu_kernels(const std::string& context) {
  try {
    for (const char* family : {"gemm", "elementwise", "reduce", "nn", "movement", "scan", "fft_conv", "gated_scan",
                               "attention", "moe", "optim"})
      cuda::require_verified(family, context.c_str());
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

void wait_for(Device device) {
  if (device.is_cuda()) cuda::synchronize(device.index);
}

double measure_gpu_gemm_tflops(Device device) {
  constexpr int64_t n = 4096;
  Generator gen(3);
  const Tensor a = Tensor::randn({n, n}, gen).to(device), b = Tensor::randn({n, n}, gen).to(device);
  NoGradGuard no_grad;
  Tensor c = matmul(a, b);  // warm-up: cuBLAS picks its kernel, clocks rise
  double best = std::numeric_limits<double>::infinity();
  for (int rep = 0; rep < 5; ++rep) {
    wait_for(device);
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 4; ++i) c = matmul(a, b);
    wait_for(device);
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 4);
  }
  return 2.0 * n * n * n / best / 1e12;
}

}  // namespace mixlab::cli
