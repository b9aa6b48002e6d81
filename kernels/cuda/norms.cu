// Layer norm, RMS norm and dropout on the device, as kernels/cpu/nn_kernels.h:
// row statistics in double with two passes (mean, then squared deviations),
// parameter gradients summed over rows in row order (deterministic), and
// dropout masks from the same Philox counters as the CPU, so a CUDA run drops
// exactly the elements a CPU run drops.
#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_api.h"
#include "kernels/philox.h"

namespace mixlab::cuda {

namespace {

// The block-wide sum of each thread's `value`, returned to every thread.
__device__ double block_sum(double value) {
  using Reduce = cub::BlockReduce<double, kThreads>;
  __shared__ typename Reduce::TempStorage temp;
  __shared__ double shared;
  const double total = Reduce(temp).Sum(value);
  if (threadIdx.x == 0) shared = total;
  __syncthreads();
  const double out = shared;
  __syncthreads();  // temp and shared are reused by the next call
  return out;
}

// One block per row. `mean` null: RMS norm (no centering, no mean stored).
template <typename T>
__global__ void norm_forward_kernel(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t R,
                                    int64_t C, double eps, bool center) {
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    double mu = 0;
    if (center) {
      double acc = 0;
      for (int64_t c = threadIdx.x; c < C; c += kThreads) acc += xr[c];
      mu = block_sum(acc) / static_cast<double>(C);
    }
    double acc = 0;
    for (int64_t c = threadIdx.x; c < C; c += kThreads) {
      const double d = static_cast<double>(xr[c]) - mu;
      acc += d * d;
    }
    const double rs = 1.0 / sqrt(block_sum(acc) / static_cast<double>(C) + eps);
    if (threadIdx.x == 0) {
      if (mean) mean[r] = static_cast<T>(mu);
      rstd[r] = static_cast<T>(rs);
    }
    const T mu_t = static_cast<T>(mu), rs_t = static_cast<T>(rs);
    for (int64_t c = threadIdx.x; c < C; c += kThreads) {
      T v = (xr[c] - mu_t) * rs_t;
      if (weight) v *= weight[c];
      if (bias) v += bias[c];
      yr[c] = v;
    }
  }
}

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = g * weight;
// RMS norm (mean null) drops the mean(dxhat) term.
template <typename T>
__global__ void norm_backward_input_kernel(const T* x, const T* weight, const T* mean, const T* rstd, const T* g,
                                           T* dx, int64_t R, int64_t C) {
  for (int64_t r = blockIdx.x; r < R; r += gridDim.x) {
    const T *xr = x + r * C, *gr = g + r * C;
    T* dxr = dx + r * C;
    const double mu = mean ? static_cast<double>(mean[r]) : 0.0, rs = rstd[r];
    double acc_d = 0, acc_dx = 0;
    for (int64_t c = threadIdx.x; c < C; c += kThreads) {
      const double xhat = (static_cast<double>(xr[c]) - mu) * rs;
      const double dxhat = static_cast<double>(gr[c]) * (weight ? static_cast<double>(weight[c]) : 1.0);
      acc_d += dxhat;
      acc_dx += dxhat * xhat;
    }
    const double a = mean ? block_sum(acc_d) / static_cast<double>(C) : 0.0;
    const double b = block_sum(acc_dx) / static_cast<double>(C);
    for (int64_t c = threadIdx.x; c < C; c += kThreads) {
      const double xhat = (static_cast<double>(xr[c]) - mu) * rs;
      const double dxhat = static_cast<double>(gr[c]) * (weight ? static_cast<double>(weight[c]) : 1.0);
      dxr[c] = static_cast<T>(rs * (dxhat - a - xhat * b));
    }
  }
}

// One thread per column, rows in order: dweight[c] = sum g * xhat, dbias[c] = sum g.
template <typename T>
__global__ void norm_param_grads_kernel(const T* x, const T* mean, const T* rstd, const T* g, T* dweight, T* dbias,
                                        int64_t R, int64_t C) {
  MIXLAB_GRID_STRIDE(c, C) {
    double acc_w = 0, acc_b = 0;
    for (int64_t r = 0; r < R; ++r) {
      const double gv = g[r * C + c];
      const double mu = mean ? static_cast<double>(mean[r]) : 0.0;
      acc_w += gv * ((static_cast<double>(x[r * C + c]) - mu) * static_cast<double>(rstd[r]));
      acc_b += gv;
    }
    if (dweight) dweight[c] = static_cast<T>(acc_w);
    if (dbias) dbias[c] = static_cast<T>(acc_b);
  }
}

template <typename T>
__global__ void dropout_kernel(const T* in, T* out, int64_t n, double p, T scale, uint64_t seed, uint64_t first) {
  MIXLAB_GRID_STRIDE(i, n)
    out[i] = philox::uniform(seed, first + i) >= p ? in[i] * scale : T(0);
}

template <typename T>
void norm_backward(const char* op, int device, const T* x, const T* weight, const T* mean, const T* rstd, const T* g,
                   T* dx, T* dweight, T* dbias, int64_t R, int64_t C) {
  if (R * C == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (dx) norm_backward_input_kernel<T><<<row_blocks(R), kThreads>>>(x, weight, mean, rstd, g, dx, R, C);
  if (dweight || dbias) norm_param_grads_kernel<T><<<blocks_for(C), kThreads>>>(x, mean, rstd, g, dweight, dbias, R, C);
  check_launch(op);
}

}  // namespace

template <typename T>
void layer_norm_forward(int device, const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t R,
                        int64_t C, double eps) {
  if (R * C == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  norm_forward_kernel<T><<<row_blocks(R), kThreads>>>(x, weight, bias, y, mean, rstd, R, C, eps, true);
  check_launch("layer_norm_forward");
}

template <typename T>
void layer_norm_backward(int device, const T* x, const T* weight, const T* mean, const T* rstd, const T* g, T* dx,
                         T* dweight, T* dbias, int64_t R, int64_t C) {
  norm_backward("layer_norm_backward", device, x, weight, mean, rstd, g, dx, dweight, dbias, R, C);
}

template <typename T>
void rms_norm_forward(int device, const T* x, const T* weight, T* y, T* rstd, int64_t R, int64_t C, double eps) {
  if (R * C == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  norm_forward_kernel<T><<<row_blocks(R), kThreads>>>(x, weight, nullptr, y, nullptr, rstd, R, C, eps, false);
  check_launch("rms_norm_forward");
}

template <typename T>
void rms_norm_backward(int device, const T* x, const T* weight, const T* rstd, const T* g, T* dx, T* dweight,
                       int64_t R, int64_t C) {
  norm_backward<T>("rms_norm_backward", device, x, weight, nullptr, rstd, g, dx, dweight, nullptr, R, C);
}

template <typename T>
void dropout_apply(int device, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t first) {
  if (n == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  // p == 1 keeps nothing (uniform() < 1 always), so the scale is never used there.
  const T scale = static_cast<T>(p < 1.0 ? 1.0 / (1.0 - p) : 0.0);
  dropout_kernel<T><<<blocks_for(n), kThreads>>>(in, out, n, p, scale, seed, first);
  check_launch("dropout_apply");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/norms.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
