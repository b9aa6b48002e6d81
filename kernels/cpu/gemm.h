#pragma once
// Row-major GEMM on host buffers: C = alpha * op(A) * op(B) + beta * C with
// op(A) (M,K), op(B) (K,N), C (M,N). `batch` matrices at the given element
// strides (stride 0 shares one matrix across the batch).
#include <cstdint>

namespace mixlab::cpu {

enum class GemmBackend { OpenBLAS, Eigen };

// The backend matmul uses: OpenBLAS when built with it (it measured faster on
// the reference machine, see `mixlab bench gemm`), else Eigen.
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
