// Row-major (batched) GEMM through cuBLAS. cuBLAS is column-major: a row-major
// C (M,N) is a column-major C^T (N,M), and C^T = op(B)^T op(A)^T, so we call
// cuBLAS with the operands swapped and the same transpose flags.
#include <atomic>
#include <map>
#include <mutex>
#include <type_traits>

#include "kernels/cuda/check.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {

std::atomic<bool> g_tf32{false};

cublasHandle_t handle_for(int device) {
  static std::mutex mu;
  static std::map<int, cublasHandle_t> handles;
  std::lock_guard<std::mutex> lock(mu);
  auto it = handles.find(device);
  if (it != handles.end()) return it->second;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  cublasHandle_t h;
  MIXLAB_CUBLAS_CHECK(cublasCreate(&h));
  handles[device] = h;
  return h;
}

template <typename T, typename Fn>
void strided_batched_gemm(Fn batched_call, int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                          T alpha, const T* A, int64_t stride_a, const T* B, int64_t stride_b, T beta, T* C,
                          int64_t stride_c, int64_t batch) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  cublasHandle_t h = handle_for(device);
  // TF32 applies to F32 GEMMs only; cuBLAS keeps F64 exact in either mode.
  MIXLAB_CUBLAS_CHECK(cublasSetMathMode(h, g_tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
  const int lda = static_cast<int>(trans_a ? M : K);  // row-major leading dims
  const int ldb = static_cast<int>(trans_b ? K : N);
  MIXLAB_CUBLAS_CHECK(batched_call(h, trans_b ? CUBLAS_OP_T : CUBLAS_OP_N, trans_a ? CUBLAS_OP_T : CUBLAS_OP_N,
                                   static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha, B, ldb,
                                   static_cast<long long>(stride_b), A, lda, static_cast<long long>(stride_a), &beta,
                                   C, static_cast<int>(N), static_cast<long long>(stride_c), static_cast<int>(batch)));
}

}  // namespace

void set_tf32(bool on) { g_tf32 = on; }
bool tf32_enabled() { return g_tf32; }

template <typename T>
void gemm(int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
          int64_t stride_a, const T* B, int64_t stride_b, T beta, T* C, int64_t stride_c, int64_t batch) {
  if constexpr (std::is_same_v<T, float>)
    strided_batched_gemm<T>(cublasSgemmStridedBatched, device, trans_a, trans_b, M, N, K, alpha, A, stride_a, B,
                            stride_b, beta, C, stride_c, batch);
  else
    strided_batched_gemm<T>(cublasDgemmStridedBatched, device, trans_a, trans_b, M, N, K, alpha, A, stride_a, B,
                            stride_b, beta, C, stride_c, batch);
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/gemm.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
