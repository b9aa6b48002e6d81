// Reductions over the middle axis of x viewed as (outer, n, inner) on the
// device, as kernels/cpu/reduce_kernels.h. Each output element is reduced in
// a fixed order (a fixed tree for rows, a sequential loop otherwise), so
// results are deterministic from run to run.
#include <cub/block/block_reduce.cuh>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_api.h"
#include "kernels/reduce_math.h"

namespace mixlab::cuda {

namespace {

// inner == 1: one block per row, each thread a strided partial sum, then a
// block-wide tree (cub) in a fixed order.
template <typename T>
__global__ void sum_rows_kernel(const T* x, T* out, int64_t rows, int64_t n, T scale) {
  using Reduce = cub::BlockReduce<T, kThreads>;
  __shared__ typename Reduce::TempStorage temp;
  for (int64_t r = blockIdx.x; r < rows; r += gridDim.x) {
    const T* row = x + r * n;
    T acc = T(0);
    for (int64_t j = threadIdx.x; j < n; j += kThreads) acc += row[j];
    const T total = Reduce(temp).Sum(acc);
    if (threadIdx.x == 0) out[r] = total * scale;
    __syncthreads();  // temp is reused by the next row
  }
}

// inner > 1: one thread per output element, summing its column in order;
// neighbouring threads read neighbouring addresses.
template <typename T>
__global__ void sum_columns_kernel(const T* x, T* out, int64_t outer, int64_t n, int64_t inner, T scale) {
  const int64_t total = outer * inner;
  MIXLAB_GRID_STRIDE(k, total) {
    const int64_t o = k / inner, i = k % inner;
    const T* p = x + o * n * inner + i;
    T acc = T(0);
    for (int64_t j = 0; j < n; ++j) acc += p[j * inner];
    out[k] = acc * scale;
  }
}

template <typename T>
__global__ void max_kernel(const T* x, T* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner) {
  const int64_t total = outer * inner;
  MIXLAB_GRID_STRIDE(k, total) {
    const int64_t o = k / inner, i = k % inner;
    kernels::column_max(x + o * n * inner + i, n, inner, &out[k], &argmax[k]);
  }
}

template <typename T>
__global__ void max_backward_kernel(const T* g, const int64_t* argmax, T* gx, int64_t outer, int64_t n,
                                    int64_t inner) {
  const int64_t total = outer * inner;
  MIXLAB_GRID_STRIDE(k, total) {
    const int64_t o = k / inner, i = k % inner;
    gx[(o * n + argmax[k]) * inner + i] = g[k];
  }
}

}  // namespace

template <typename T>
void sum_axis(int device, const T* x, T* out, int64_t outer, int64_t n, int64_t inner, double scale) {
  if (outer * inner == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (inner == 1)
    sum_rows_kernel<T><<<static_cast<int>(std::min<int64_t>(outer, 65535)), kThreads>>>(x, out, outer, n,
                                                                                         static_cast<T>(scale));
  else
    sum_columns_kernel<T><<<blocks_for(outer * inner), kThreads>>>(x, out, outer, n, inner, static_cast<T>(scale));
  check_launch("sum_axis");
}

template <typename T>
void max_axis(int device, const T* x, T* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner) {
  if (outer * inner == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  max_kernel<T><<<blocks_for(outer * inner), kThreads>>>(x, out, argmax, outer, n, inner);
  check_launch("max_axis");
}

template <typename T>
void max_axis_backward(int device, const T* g, const int64_t* argmax, T* gx, int64_t outer, int64_t n,
                       int64_t inner) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  MIXLAB_CUDA_CHECK(cudaMemset(gx, 0, sizeof(T) * outer * n * inner));
  if (outer * inner == 0) return;
  max_backward_kernel<T><<<blocks_for(outer * inner), kThreads>>>(g, argmax, gx, outer, n, inner);
  check_launch("max_axis_backward");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/reduce.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
