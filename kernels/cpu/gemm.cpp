#include "kernels/cpu/gemm.h"

#include <omp.h>

#include <Eigen/Core>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

#include "autograd/error.h"

#ifdef MIXLAB_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace mixlab::cpu {

namespace {

template <typename T>
using RowMajor = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using ConstView = Eigen::Map<const RowMajor<T>, 0, Eigen::OuterStride<>>;

// One row-major product with explicit leading dimensions (lda, ldb, ldc).
template <typename T>
void eigen_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, const T* B,
                int64_t ldb, T beta, T* C, int64_t ldc) {
  // Stored shapes: A is (M,K) or (K,M) when transposed; B is (K,N) or (N,K).
  ConstView<T> a(A, ta ? K : M, ta ? M : K, Eigen::OuterStride<>(lda));
  ConstView<T> b(B, tb ? N : K, tb ? K : N, Eigen::OuterStride<>(ldb));
  Eigen::Map<RowMajor<T>, 0, Eigen::OuterStride<>> c(C, M, N, Eigen::OuterStride<>(ldc));
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
void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
              ldb, beta, C, ldc);
}
void blas_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
               const double* B, int64_t ldb, double beta, double* C, int64_t ldc) {
  cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B,
              ldb, beta, C, ldc);
}
#endif

// Below this many flops a product runs on the calling thread alone.
constexpr double kParallelFlops = 1 << 18;

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
  // MIXLAB_GEMM=openblas|eigen overrides the measured choice (see gemm.h).
  static const GemmBackend chosen = [] {
    const char* env = std::getenv("MIXLAB_GEMM");
    if (env && std::string(env) == "openblas" && gemm_backend_available(GemmBackend::OpenBLAS))
      return GemmBackend::OpenBLAS;
    return GemmBackend::Eigen;
  }();
  return chosen;
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
  const int64_t lda = trans_a ? M : K, ldb = trans_b ? K : N;
  // Rows [m0, m1) of matrix i: a row block of C, and of A (a column block when
  // A is stored transposed); B is shared.
  auto rows = [&](int64_t i, int64_t m0, int64_t m1) {
    const T* a = A + i * stride_a + (trans_a ? m0 : m0 * K);
    const T* b = B + i * stride_b;
    T* c = C + i * stride_c + m0 * N;
    const int64_t m = m1 - m0;
    if (K == 0) {  // BLAS leaves C untouched for K = 0; the product is zero
      for (int64_t j = 0; j < m * N; ++j) c[j] = beta == T(0) ? T(0) : beta * c[j];
      return;
    }
#ifdef MIXLAB_WITH_OPENBLAS
    if (backend == GemmBackend::OpenBLAS) return blas_gemm(trans_a, trans_b, m, N, K, alpha, a, lda, b, ldb, beta, c, N);
#endif
    eigen_gemm(trans_a, trans_b, m, N, K, alpha, a, lda, b, ldb, beta, c, N);
  };
  // We parallelise ourselves: whole matrices per thread when the batch is
  // large, else row blocks of each product. BLAS and Eigen then run
  // single-threaded inside our OpenMP region. (OpenBLAS's own threading,
  // pthread or OpenMP build, spin-waited against our pool: measured 3-10x
  // slower training steps on 2 cores.)
  const int threads = omp_in_parallel() ? 1 : omp_get_max_threads();
  const double flops = 2.0 * static_cast<double>(M) * N * K * batch;
  if (threads == 1 || flops < kParallelFlops) {
    for (int64_t i = 0; i < batch; ++i) rows(i, 0, M);
    return;
  }
  const int64_t blocks = batch >= threads ? 1 : std::min<int64_t>(threads, std::max<int64_t>(1, M / 16));
#pragma omp parallel for schedule(static)
  for (int64_t w = 0; w < batch * blocks; ++w) {
    const int64_t i = w / blocks, blk = w % blocks;
    rows(i, M * blk / blocks, M * (blk + 1) / blocks);
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
