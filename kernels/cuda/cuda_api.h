#pragma once
// The CUDA device abstraction, as plain functions over raw device pointers.
// Implemented in kernels/cuda/*.cu when mixlab is built with CUDA; otherwise
// autograd/cuda_unavailable.cpp reports no device and every call throws.
// Only the allocator and the op dispatchers (autograd/ops/backend.h) call
// these; nothing else touches device memory.
//
// The kernel entry points are declared from their families' lists
// (kernels/cuda/<family>.def; the format in kernels/cuda/kernel_list.h),
// which also give the no-CUDA stubs and each .cu's instantiations. Written
// here by hand: the argument structs, and the functions that are not "throw
// without CUDA" (they answer or do nothing in a CPU-only build, or have one
// implementation for both builds).
#include <cstddef>
#include <cstdint>

#include "kernels/cuda/kernel_list.h"
#include "kernels/elementwise_math.h"
#include "kernels/permute_index.h"

namespace mixlab::cuda {

// ---- hand-written: not generated from a list ------------------------------

// False / 0 without CUDA rather than a throw: callers ask them to decide
// whether a GPU exists. device_count() is 0 also when no device/driver is present.
bool built_with_cuda();
int device_count();

// F32 GEMMs on TF32 tensor cores (inputs rounded to a 10-bit mantissa, F32
// accumulation) from now on; off by default. Without CUDA a no-op (there are
// no GPU GEMMs to switch) and false.
void set_tf32(bool on);
bool tf32_enabled();

// Temporary device memory for library algorithms (Thrust: kernels/cuda/
// thrust_pool.cuh), from the device's caching allocator: implemented in
// autograd/allocator.cpp in both builds.
void* scratch_allocate(int device, size_t bytes, size_t* block_bytes);
void scratch_free(int device, void* ptr, size_t block_bytes);

// Kernel families that have never run on a GPU are off until a passing run of
// scripts/gpu-check.sh verifies them (docs/cuda.md): calling one throws,
// naming `op` and the environment variable MIXLAB_CUDA_UNVERIFIED=1 that
// enables them anyway. `family` is e.g. "elementwise". One implementation in
// both builds (autograd/cuda_verification.cpp), so the gate is testable
// without a GPU.
void require_verified(const char* family, const char* op);

// ---- the argument structs of the kernel lists -----------------------------

using kernels::PermuteIndex;

// One parameter of the fused AdamW launch (optim.def).
template <typename T>
struct AdamWTensor {
  T* p;
  const T* g;
  T* m;
  T* v;
  int64_t n;
  double weight_decay;
};
struct AdamWHyper {
  double lr, beta1, beta2, eps;
  double bias_correction1, bias_correction2;  // 1 - beta^t
};

// Fused attention (flash_attention.def, flash_attention_bf16.def). `slopes`
// is a device array of H ALiBi slopes or null.
struct FlashArgs {
  int64_t B, H, Hkv, Tq, Tk, d, kv_rows;
  bool causal;
  int64_t window;  // 0: none
  double scale;
  const double* slopes;
};
constexpr int64_t kFlashMaxHeadDim = 128;

// The gated scan (gated_scan.def).
struct GatedScanArgs {
  int64_t B, H, Hq, T, dk, dv;
  int64_t decay_width;  // 0, 1 or dk
  int64_t chunk;
  bool bonus;
  double scale;
};

// The delta-rule scan (delta_scan.def).
struct DeltaScanArgs {
  int64_t B, H, T, dk, dv;
  int64_t decay_width;  // 0, 1 or dk
  int64_t chunk;
  double scale;
};

// ---- the kernel entry points, from the lists ------------------------------

#define MIXLAB_CUDA_FUNCTION(ret, name, params) ret name params;
#define MIXLAB_CUDA_TEMPLATE(types, ret, name, params) \
  template <typename T>                                \
  ret name params;
#include "kernels/cuda/kernel_lists.def"
#undef MIXLAB_CUDA_FUNCTION
#undef MIXLAB_CUDA_TEMPLATE

}  // namespace mixlab::cuda
