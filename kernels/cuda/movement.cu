// Data movement on the device, as kernels/cpu/shape_kernels.h: permuted
// copies, axis-range copies (slice / concat), gathers and scatter-adds along
// one axis of a tensor viewed as (outer, len, inner). The scatter-add adds
// each destination's contributions in ascending source order, one thread per
// (outer, inner) column, so it is deterministic (no atomics).
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {

// The lowest position whose index is outside [0, limit), by atomicMin (the
// minimum does not depend on the order the threads arrive in).
__global__ void first_outside_kernel(const int64_t* idx, int64_t n, int64_t limit, unsigned long long* first) {
  MIXLAB_GRID_STRIDE(i, n) {
    if (idx[i] < 0 || idx[i] >= limit) atomicMin(first, static_cast<unsigned long long>(i));
  }
}

template <typename T>
__global__ void permute_kernel(const T* in, T* out, int64_t total, PermuteIndex ix) {
  MIXLAB_GRID_STRIDE(k, total) {
    int64_t rest = k, at = 0;
    for (int d = ix.ndim - 1; d >= 0; --d) {
      at += (rest % ix.out_shape[d]) * ix.in_strides[d];
      rest /= ix.out_shape[d];
    }
    out[k] = in[at];
  }
}

template <typename T>
__global__ void copy_axis_range_kernel(const T* src, int64_t src_len, int64_t src_start, T* dst, int64_t dst_len,
                                       int64_t dst_start, int64_t outer, int64_t count, int64_t inner) {
  MIXLAB_GRID_STRIDE(k, outer * count * inner) {
    const int64_t i = k % inner, j = (k / inner) % count, o = k / (inner * count);
    dst[(o * dst_len + dst_start + j) * inner + i] = src[(o * src_len + src_start + j) * inner + i];
  }
}

template <typename T>
__global__ void index_select_kernel(const T* x, const int64_t* idx, T* out, int64_t outer, int64_t len, int64_t n,
                                    int64_t inner) {
  MIXLAB_GRID_STRIDE(k, outer * n * inner) {
    const int64_t i = k % inner, j = (k / inner) % n, o = k / (inner * n);
    out[k] = x[(o * len + idx[j]) * inner + i];
  }
}

template <typename T>
__global__ void scatter_add_kernel(T* dst, const int64_t* idx, const T* src, int64_t outer, int64_t len, int64_t n,
                                   int64_t inner) {
  MIXLAB_GRID_STRIDE(k, outer * inner) {
    const int64_t i = k % inner, o = k / inner;
    for (int64_t j = 0; j < n; ++j) dst[(o * len + idx[j]) * inner + i] += src[(o * n + j) * inner + i];
  }
}

}  // namespace

int64_t first_index_outside(int device, const int64_t* idx, int64_t n, int64_t limit, int64_t* scratch) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (n == 0) return -1;
  unsigned long long first = static_cast<unsigned long long>(n);
  MIXLAB_CUDA_CHECK(cudaMemcpy(scratch, &first, sizeof(first), cudaMemcpyHostToDevice));
  first_outside_kernel<<<blocks_for(n), kThreads>>>(idx, n, limit, reinterpret_cast<unsigned long long*>(scratch));
  check_launch("first_index_outside");
  MIXLAB_CUDA_CHECK(cudaMemcpy(&first, scratch, sizeof(first), cudaMemcpyDeviceToHost));
  return first < static_cast<unsigned long long>(n) ? static_cast<int64_t>(first) : -1;
}

template <typename T>
void permute_copy(int device, const T* in, T* out, const PermuteIndex& ix) {
  int64_t total = 1;
  for (int d = 0; d < ix.ndim; ++d) total *= ix.out_shape[d];
  if (total == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  permute_kernel<T><<<blocks_for(total), kThreads>>>(in, out, total, ix);
  check_launch("permute_copy");
}

template <typename T>
void copy_axis_range(int device, const T* src, int64_t src_len, int64_t src_start, T* dst, int64_t dst_len,
                     int64_t dst_start, int64_t outer, int64_t count, int64_t inner) {
  if (outer * count * inner == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  copy_axis_range_kernel<T><<<blocks_for(outer * count * inner), kThreads>>>(src, src_len, src_start, dst, dst_len,
                                                                            dst_start, outer, count, inner);
  check_launch("copy_axis_range");
}

template <typename T>
void index_select(int device, const T* x, const int64_t* idx, T* out, int64_t outer, int64_t len, int64_t n,
                  int64_t inner) {
  if (outer * n * inner == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  index_select_kernel<T><<<blocks_for(outer * n * inner), kThreads>>>(x, idx, out, outer, len, n, inner);
  check_launch("index_select");
}

template <typename T>
void scatter_add(int device, T* dst, const int64_t* idx, const T* src, int64_t outer, int64_t len, int64_t n,
                 int64_t inner) {
  if (outer * inner * n == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  scatter_add_kernel<T><<<blocks_for(outer * inner), kThreads>>>(dst, idx, src, outer, len, n, inner);
  check_launch("scatter_add");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/movement.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
