// The optimizer on the device, as kernels/cpu/optim_kernels.h: one launch
// updates every parameter (a list of tensors on the device; blockIdx.y picks
// the tensor), and the gradient norm is a Thrust transform-reduce of the
// squares in double (CUB's reduction: the same result on every run on a GPU).
#include <thrust/execution_policy.h>
#include <thrust/functional.h>
#include <thrust/transform_reduce.h>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/thrust_pool.cuh"

namespace mixlab::cuda {

namespace {

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
struct SquareInDouble {
  __host__ __device__ double operator()(T x) const { return static_cast<double>(x) * static_cast<double>(x); }
};

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
double sum_of_squares(int device, const T* x, int64_t n) {
  if (n == 0) return 0;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  ThrustPool pool(device);
  return thrust::transform_reduce(thrust::cuda::par(pool), x, x + n, SquareInDouble<T>{}, 0.0,
                                  thrust::plus<double>{});
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/optim.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
