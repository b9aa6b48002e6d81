// Softmax, log-softmax and the fused cross-entropy on the device, as
// kernels/cpu/nn_kernels.h: row statistics in double, the max subtracted
// before exp; the per-row losses go back to the op, which sums them on the
// host in row order so the mean is reproducible. Contiguous rows (inner == 1) get one block each, reduced with
// cub; strided lines one thread each.
#include <cmath>
#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {

struct MaxOp {
  template <typename T>
  __device__ T operator()(const T& a, const T& b) const {
    return a > b ? a : b;
  }
};

// The max and the double sum of exp(x - max) of one contiguous row, shared by
// every thread of the block.
template <typename T>
__device__ void row_max_sumexp(const T* row, int64_t n, T& mx, double& sum) {
  using ReduceT = cub::BlockReduce<T, kThreads>;
  using ReduceD = cub::BlockReduce<double, kThreads>;
  __shared__ typename ReduceT::TempStorage temp_t;
  __shared__ typename ReduceD::TempStorage temp_d;
  __shared__ T shared_max;
  __shared__ double shared_sum;
  T local = -static_cast<T>(INFINITY);
  for (int64_t k = threadIdx.x; k < n; k += kThreads) local = row[k] > local ? row[k] : local;
  const T block_max = ReduceT(temp_t).Reduce(local, MaxOp());
  if (threadIdx.x == 0) shared_max = block_max;
  __syncthreads();
  mx = shared_max;
  double acc = 0;
  for (int64_t k = threadIdx.x; k < n; k += kThreads) acc += exp(static_cast<double>(row[k] - mx));
  const double block_sum = ReduceD(temp_d).Sum(acc);
  if (threadIdx.x == 0) shared_sum = block_sum;
  __syncthreads();
  sum = shared_sum;
}

template <typename T>
__global__ void softmax_rows_kernel(const T* x, T* y, int64_t rows, int64_t n, bool log_form) {
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* xr = x + r * n;
    T* yr = y + r * n;
    T mx;
    double sum;
    row_max_sumexp(xr, n, mx, sum);
    if (log_form) {
      const T shift = mx + static_cast<T>(::log(sum));
      for (int64_t k = threadIdx.x; k < n; k += kThreads) yr[k] = xr[k] - shift;
    } else {
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t k = threadIdx.x; k < n; k += kThreads) yr[k] = static_cast<T>(exp(xr[k] - mx)) * inv;
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void softmax_lines_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log_form) {
  const int64_t lines = outer * inner;
  MIXLAB_GRID_STRIDE(line, lines) {
    const int64_t base = (line / inner) * n * inner + line % inner;
    const T* xl = x + base;
    T* yl = y + base;
    T mx = -static_cast<T>(INFINITY);
    for (int64_t k = 0; k < n; ++k) mx = xl[k * inner] > mx ? xl[k * inner] : mx;
    double sum = 0;
    for (int64_t k = 0; k < n; ++k) sum += exp(static_cast<double>(xl[k * inner] - mx));
    if (log_form) {
      const T log_sum = static_cast<T>(::log(sum));
      for (int64_t k = 0; k < n; ++k) yl[k * inner] = (xl[k * inner] - mx) - log_sum;
    } else {
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t k = 0; k < n; ++k) yl[k * inner] = static_cast<T>(exp(xl[k * inner] - mx)) * inv;
    }
  }
}

// softmax: dx = y * (g - <g, y>); log-softmax: dx = g - exp(y) * sum(g).
template <typename T>
__global__ void softmax_backward_lines_kernel(const T* y, const T* g, T* dx, int64_t outer, int64_t n, int64_t inner,
                                              bool log_form) {
  const int64_t lines = outer * inner;
  MIXLAB_GRID_STRIDE(line, lines) {
    const int64_t base = (line / inner) * n * inner + line % inner;
    double s = 0;
    for (int64_t k = 0; k < n; ++k)
      s += log_form ? static_cast<double>(g[base + k * inner])
                    : static_cast<double>(g[base + k * inner]) * y[base + k * inner];
    const T st = static_cast<T>(s);
    for (int64_t k = 0; k < n; ++k) {
      const int64_t at = base + k * inner;
      dx[at] = log_form ? g[at] - static_cast<T>(exp(y[at])) * st : y[at] * (g[at] - st);
    }
  }
}

template <typename T>
__global__ void softmax_backward_rows_kernel(const T* y, const T* g, T* dx, int64_t rows, int64_t n, bool log_form) {
  using Reduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ double shared;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T *yr = y + r * n, *gr = g + r * n;
    T* dr = dx + r * n;
    double acc = 0;
    for (int64_t k = threadIdx.x; k < n; k += kThreads)
      acc += log_form ? static_cast<double>(gr[k]) : static_cast<double>(gr[k]) * yr[k];
    const double total = Reduce(temp).Sum(acc);
    if (threadIdx.x == 0) shared = total;
    __syncthreads();
    const T st = static_cast<T>(shared);
    for (int64_t k = threadIdx.x; k < n; k += kThreads)
      dr[k] = log_form ? gr[k] - static_cast<T>(exp(yr[k])) * st : yr[k] * (gr[k] - st);
    __syncthreads();
  }
}

// Per counted row: lse = max + log(sum exp(x - max)) and the row's loss
// lse - x[target]; ignored rows get lse 0 and loss 0.
template <typename T>
__global__ void cross_entropy_rows_kernel(const T* logits, const int64_t* targets, double* lse, double* row_loss,
                                          int64_t N, int64_t V, int64_t ignore_index) {
  for (int64_t i = blockIdx.x; i < N; i += gridDim.x) {
    if (targets[i] == ignore_index) {
      if (threadIdx.x == 0) lse[i] = row_loss[i] = 0;
      continue;  // uniform across the block: no barrier is skipped by some threads only
    }
    const T* row = logits + i * V;
    T mx;
    double sum;
    row_max_sumexp(row, V, mx, sum);
    if (threadIdx.x == 0) {
      lse[i] = static_cast<double>(mx) + ::log(sum);
      row_loss[i] = lse[i] - static_cast<double>(row[targets[i]]);
    }
    __syncthreads();
  }
}

template <typename T>
__global__ void cross_entropy_backward_kernel(const T* logits, const int64_t* targets, const double* lse, T scale,
                                              T* dlogits, int64_t N, int64_t V, int64_t ignore_index) {
  const int64_t total = N * V;
  MIXLAB_GRID_STRIDE(k, total) {
    const int64_t i = k / V, v = k % V;
    if (targets[i] == ignore_index) {
      dlogits[k] = T(0);
      continue;
    }
    T d = static_cast<T>(exp(logits[k] - static_cast<T>(lse[i]))) * scale;
    if (v == targets[i]) d -= scale;
    dlogits[k] = d;
  }
}

}  // namespace

template <typename T>
void softmax_forward(int device, const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (outer * n * inner == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (inner == 1)
    softmax_rows_kernel<T><<<row_blocks(outer), kThreads>>>(x, y, outer, n, log);
  else
    softmax_lines_kernel<T><<<blocks_for(outer * inner), kThreads>>>(x, y, outer, n, inner, log);
  check_launch("softmax_forward");
}

template <typename T>
void softmax_backward(int device, const T* y, const T* g, T* dx, int64_t outer, int64_t n, int64_t inner, bool log) {
  if (outer * n * inner == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (inner == 1)
    softmax_backward_rows_kernel<T><<<row_blocks(outer), kThreads>>>(y, g, dx, outer, n, log);
  else
    softmax_backward_lines_kernel<T><<<blocks_for(outer * inner), kThreads>>>(y, g, dx, outer, n, inner, log);
  check_launch("softmax_backward");
}

template <typename T>
void cross_entropy_forward(int device, const T* logits, const int64_t* targets, double* lse, double* row_loss,
                           int64_t N, int64_t V, int64_t ignore_index) {
  if (N == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  cross_entropy_rows_kernel<T><<<row_blocks(N), kThreads>>>(logits, targets, lse, row_loss, N, V, ignore_index);
  check_launch("cross_entropy_forward");
}

template <typename T>
void cross_entropy_backward(int device, const T* logits, const int64_t* targets, const double* lse, double scale,
                            T* dlogits, int64_t N, int64_t V, int64_t ignore_index) {
  if (N * V == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  cross_entropy_backward_kernel<T><<<blocks_for(N * V), kThreads>>>(logits, targets, lse, static_cast<T>(scale),
                                                                    dlogits, N, V, ignore_index);
  check_launch("cross_entropy_backward");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/nn.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
