#pragma once
// Row-major GEMM on host buffers: C = alpha * op(A) * op(B) + beta * C with
// op(A) (M,K), op(B) (K,N), C (M,N). `batch` matrices at the given element
// strides (stride 0 shares one matrix across the batch).
#include <cstdint>

namespace mixlab::cpu {

enum class GemmBackend { OpenBLAS, Eigen };

// The backend matmul uses: Eigen, unless the environment says
// MIXLAB_GEMM=openblas. Measured with `mixlab bench train` on the 2-core
// AVX-512 machine: Eigen's AVX-512 kernels ran the training GEMMs at ~150-170
// GFLOP/s, OpenBLAS 0.3.21 at ~100 (this workplace pins OPENBLAS_CORETYPE=Haswell,
// i.e. AVX2 kernels, because older OpenBLAS builds misbehave on these CPUs).
// `mixlab bench gemm` compares both on the shapes of small models.
GemmBackend default_gemm_backend();
bool gemm_backend_available(GemmBackend backend);
const char* gemm_backend_name(GemmBackend backend);

// Time and work spent in gemm() since the last reset, summed over calls (for
// `mixlab bench train`'s GEMM share). Counting costs two clock reads a call.
struct GemmStats {
  uint64_t calls = 0;
  double seconds = 0;
  double flops = 0;  // 2·M·N·K per matrix
};
GemmStats gemm_stats();
void reset_gemm_stats();

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t stride_a,
          const T* B, int64_t stride_b, T beta, T* C, int64_t stride_c, int64_t batch);

template <typename T>
void gemm_with(GemmBackend backend, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
               int64_t stride_a, const T* B, int64_t stride_b, T beta, T* C, int64_t stride_c, int64_t batch);

}  // namespace mixlab::cpu
