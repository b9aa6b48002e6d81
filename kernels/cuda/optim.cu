// The optimizer on the device, as kernels/cpu/optim_kernels.h: one launch
// updates every parameter (a list of tensors on the device; blockIdx.y picks
// the tensor), and the gradient norm sums squares in double over fixed blocks
// whose partial sums are added on the host in order (deterministic).
#include <vector>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {

constexpr int kSquareBlocks = 1024;  // fixed, so the partial sums are always the same ones

template <typename T>
__global__ void adamw_kernel(const AdamWTensor<T>* tensors, AdamWHyper h) {
  const AdamWTensor<T> t = tensors[blockIdx.y];
  const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2), eps = static_cast<T>(h.eps);
  const T decay = static_cast<T>(1.0 - h.lr * t.weight_decay);
  const T step_size = static_cast<T>(h.lr / h.bias_correction1);
  const T inv_sqrt_bc2 = static_cast<T>(1.0 / sqrt(h.bias_correction2));
  MIXLAB_GRID_STRIDE(i, t.n) {
    const T gi = t.g[i];
    const T mi = b1 * t.m[i] + (T(1) - b1) * gi;
    const T vi = b2 * t.v[i] + (T(1) - b2) * gi * gi;
    t.m[i] = mi;
    t.v[i] = vi;
    t.p[i] = t.p[i] * decay - step_size * mi / (sqrt(vi) * inv_sqrt_bc2 + eps);
  }
}

template <typename T>
__global__ void square_partials_kernel(const T* x, int64_t n, double* partial) {
  __shared__ double lane[kThreads];
  double acc = 0;
  MIXLAB_GRID_STRIDE(i, n)
    acc += static_cast<double>(x[i]) * x[i];
  lane[threadIdx.x] = acc;
  __syncthreads();
  for (int width = kThreads / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) lane[threadIdx.x] += lane[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) partial[blockIdx.x] = lane[0];
}

}  // namespace

template <typename T>
void adamw_update_all(int device, const AdamWTensor<T>* tensors, int64_t count, int64_t largest,
                      const AdamWHyper& h) {
  if (count == 0 || largest == 0) return;
  MIXLAB_CHECK(count <= 65535, "cuda::adamw_update_all: ", count, " tensors in one launch (at most 65535)");
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const dim3 grid(static_cast<unsigned>(std::min<int64_t>((largest + kThreads - 1) / kThreads, 4096)),
                  static_cast<unsigned>(count));
  adamw_kernel<T><<<grid, kThreads>>>(tensors, h);
  check_launch("adamw_update_all");
}

template <typename T>
double sum_of_squares(int device, const T* x, int64_t n, double* partial) {
  if (n == 0) return 0;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  square_partials_kernel<T><<<kSquareBlocks, kThreads>>>(x, n, partial);
  check_launch("sum_of_squares");
  std::vector<double> host(kSquareBlocks);
  MIXLAB_CUDA_CHECK(cudaMemcpy(host.data(), partial, sizeof(double) * kSquareBlocks, cudaMemcpyDeviceToHost));
  double total = 0;
  for (double p : host) total += p;
  return total;
}

int64_t sum_of_squares_scratch() { return kSquareBlocks; }

#define MIXLAB_CUDA_OPTIM(T)                                                                                 \
  template void adamw_update_all<T>(int, const AdamWTensor<T>*, int64_t, int64_t, const AdamWHyper&);        \
  template double sum_of_squares<T>(int, const T*, int64_t, double*);
MIXLAB_CUDA_OPTIM(float)
MIXLAB_CUDA_OPTIM(double)
#undef MIXLAB_CUDA_OPTIM

}  // namespace mixlab::cuda
