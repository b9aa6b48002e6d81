#pragma once
// Timing on a GPU for the benchmarks: waiting for queued kernels, and the
// GPU's measured GEMM rate that "% of peak" refers to there, measured in the
// same process (same clocks and power state) as the benchmark it normalises,
// the way measure_peak_flops does on the CPU.
#include <string>

#include "autograd/device.h"

namespace mixlab::cli {

// Before a GPU benchmark starts: a UsageError naming `context` and the flag
// that enables them while any CUDA kernel family is not yet verified.
void require_gpu_kernels(const std::string& context);

// Returns once every kernel queued on `device` has finished (nothing on the CPU).
void wait_for(Device device);

// TFLOP/s of a 4096³ F32 cuBLAS GEMM on `device` (TF32 tensor cores when
// cuda::tf32_enabled()), the best of several timed repeats after a warm-up.
double measure_gpu_gemm_tflops(Device device);

}  // namespace mixlab::cli
