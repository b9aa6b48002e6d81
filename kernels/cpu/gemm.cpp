#include "kernels/cpu/gemm.h"

#include <Eigen/Core>
#include <atomic>
#include <chrono>

#include "autograd/error.h"

#ifdef MIXLAB_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace mixlab::cpu {

namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

template <typename T>
void eigen_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, const T* B, T beta, T* C) {
  // Stored shapes: A is (M,K) or (K,M) when transposed; B is (K,N) or (N,K).
  Eigen::Map<const RowMajor<T>> a(A, ta ? K : M, ta ? M : K);
  Eigen::Map<const RowMajor<T>> b(B, tb ? N : K, tb ? K : N);
  Eigen::Map<RowMajor<T>> c(C, M, N);
  if (beta == T(0))
    c.setZero();
  else if (beta != T(1))
    c *= beta;
  if (!ta && !tb) c.noalias() += alpha * a * b;
  if (!ta && tb) c.noalias() += alpha * a * b.transpose();
  if (ta && !tb) c.noalias() += alpha * a.transpose() * b;
  if (ta && tb) c.noalias() += alpha * a.transpose() * b.transpose();
}

#ifdef MIXLAB_WITH_OPENBLAS
void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B,
               float beta, float* C) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
              ta ? M : K, B, tb ? K : N, beta, C, N);
}
void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, const double* B,
               double beta, double* C) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A,
              ta ? M : K, B, tb ? K : N, beta, C, N);
}
#endif

std::atomic<uint64_t> g_calls{0}, g_nanoseconds{0};
std::atomic<double> g_flops{0};

}  // namespace

GemmStats gemm_stats() {
  return {g_calls.load(), static_cast<double>(g_nanoseconds.load()) * 1e-9, g_flops.load()};
}

void reset_gemm_stats() {
  g_calls = 0;
  g_nanoseconds = 0;
  g_flops = 0;
}

GemmBackend default_gemm_backend() {
#ifdef MIXLAB_WITH_OPENBLAS
  return GemmBackend::OpenBLAS;
#else
  return GemmBackend::Eigen;
#endif
}

bool gemm_backend_available(GemmBackend backend) {
#ifdef MIXLAB_WITH_OPENBLAS
  return true;
#else
  return backend == GemmBackend::Eigen;
#endif
}

const char* gemm_backend_name(GemmBackend backend) {
  return backend == GemmBackend::OpenBLAS ? "openblas" : "eigen";
}

template <typename T>
void gemm_with(GemmBackend backend, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
               int64_t stride_a, const T* B, int64_t stride_b, T beta, T* C, int64_t stride_c, int64_t batch) {
  MIXLAB_CHECK(gemm_backend_available(backend), "gemm: backend ", gemm_backend_name(backend),
               " is not built in (configure with -DMIXLAB_OPENBLAS=ON)");
  if (M == 0 || N == 0) return;
  // Many small matrices (attention per head): one matrix per thread beats
  // splitting each small product across threads. Inside the parallel region
  // OpenBLAS (OpenMP build) and Eigen run single-threaded.
  const bool across_batch = batch > 1 && M * N * K < (int64_t(1) << 21);
#pragma omp parallel for if (across_batch) schedule(static)
  for (int64_t i = 0; i < batch; ++i) {
    const T* a = A + i * stride_a;
    const T* b = B + i * stride_b;
    T* c = C + i * stride_c;
    if (K == 0) {  // BLAS leaves C untouched for K = 0; the product is zero
      for (int64_t j = 0; j < M * N; ++j) c[j] = beta == T(0) ? T(0) : beta * c[j];
      continue;
    }
#ifdef MIXLAB_WITH_OPENBLAS
    if (backend == GemmBackend::OpenBLAS) {
      blas_gemm(trans_a, trans_b, M, N, K, alpha, a, b, beta, c);
      continue;
    }
#endif
    eigen_gemm(trans_a, trans_b, M, N, K, alpha, a, b, beta, c);
  }
}

template <typename T>
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t stride_a,
          const T* B, int64_t stride_b, T beta, T* C, int64_t stride_c, int64_t batch) {
  const auto start = std::chrono::steady_clock::now();
  gemm_with(default_gemm_backend(), trans_a, trans_b, M, N, K, alpha, A, stride_a, B, stride_b, beta, C, stride_c,
            batch);
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start);
  g_calls.fetch_add(1, std::memory_order_relaxed);
  g_nanoseconds.fetch_add(static_cast<uint64_t>(ns.count()), std::memory_order_relaxed);
  g_flops.fetch_add(2.0 * static_cast<double>(M) * N * K * batch, std::memory_order_relaxed);
}

#define MIXLAB_GEMM(T)                                                                                            \
  template void gemm<T>(bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, int64_t, T, T*,    \
                        int64_t, int64_t);                                                                        \
  template void gemm_with<T>(GemmBackend, bool, bool, int64_t, int64_t, int64_t, T, const T*, int64_t, const T*, \
                             int64_t, T, T*, int64_t, int64_t);
MIXLAB_GEMM(float)
MIXLAB_GEMM(double)
#undef MIXLAB_GEMM

}  // namespace mixlab::cpu
