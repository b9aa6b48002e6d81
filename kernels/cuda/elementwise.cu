// Elementwise kernels on the device: broadcasting binary ops, the
// broadcasting copy, scalar affine, and the unary functions with their
// backward. Grid-stride loops over the output; the formulas are
// kernels/elementwise_math.h's, the same the CPU loops use.
#include <algorithm>

#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {

using kernels::BinaryOp;
using kernels::BroadcastIndex;
using kernels::UnaryOp;
using kernels::UnaryParams;

int64_t numel(const BroadcastIndex& ix) {
  int64_t n = 1;
  for (int d = 0; d < ix.ndim; ++d) n *= ix.dims[d];
  return n;
}

// Offsets of output element i in a and b.
__device__ inline void broadcast_offsets(const BroadcastIndex& ix, int64_t i, int64_t& oa, int64_t& ob) {
  oa = ob = 0;
  for (int d = ix.ndim - 1; d >= 0; --d) {
    const int64_t k = i % ix.dims[d];
    i /= ix.dims[d];
    oa += k * ix.stride_a[d];
    ob += k * ix.stride_b[d];
  }
}

template <BinaryOp op, typename T>
__global__ void binary_kernel(BroadcastIndex ix, int64_t n, const T* a, const T* b, T* out) {
  MIXLAB_GRID_STRIDE(i, n) {
    int64_t oa, ob;
    broadcast_offsets(ix, i, oa, ob);
    out[i] = kernels::binary_value<op>(a[oa], b[ob]);
  }
}

template <typename T>
__global__ void broadcast_copy_kernel(BroadcastIndex ix, int64_t n, const T* a, T* out) {
  MIXLAB_GRID_STRIDE(i, n) {
    int64_t oa, ob;
    broadcast_offsets(ix, i, oa, ob);
    out[i] = a[oa];
  }
}

template <typename T>
__global__ void affine_kernel(const T* a, T* out, int64_t n, T s, T t) {
  MIXLAB_GRID_STRIDE(i, n)
    out[i] = a[i] * s + t;
}

template <UnaryOp op, typename T>
__global__ void unary_forward_kernel(const T* x, T* y, int64_t n, T p0, T p1) {
  MIXLAB_GRID_STRIDE(i, n)
    y[i] = kernels::unary_value<op>(x[i], p0, p1);
}

template <UnaryOp op, typename T>
__global__ void unary_backward_kernel(const T* x, const T* y, const T* gy, T* gx, int64_t n, T p0, T p1) {
  MIXLAB_GRID_STRIDE(i, n)
    gx[i] = gy[i] * kernels::unary_derivative<op>(x[i], y[i], p0, p1);
}

}  // namespace

template <typename T>
void binary(int device, BinaryOp op, const BroadcastIndex& ix, const T* a, const T* b, T* out) {
  const int64_t n = numel(ix);
  if (n == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  kernels::dispatch_binary(op, [&](auto k) {
    binary_kernel<decltype(k)::value, T><<<blocks_for(n), kThreads>>>(ix, n, a, b, out);
  });
  check_launch("binary");
}

template <typename T>
void broadcast_copy(int device, const BroadcastIndex& ix, const T* a, T* out) {
  const int64_t n = numel(ix);
  if (n == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  broadcast_copy_kernel<T><<<blocks_for(n), kThreads>>>(ix, n, a, out);
  check_launch("broadcast_copy");
}

template <typename T>
void affine(int device, const T* a, T* out, int64_t n, double s, double t) {
  if (n == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  affine_kernel<T><<<blocks_for(n), kThreads>>>(a, out, n, static_cast<T>(s), static_cast<T>(t));
  check_launch("affine");
}

template <typename T>
void unary_forward(int device, UnaryOp op, UnaryParams p, const T* x, T* y, int64_t n) {
  if (n == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  kernels::dispatch_unary(op, [&](auto k) {
    unary_forward_kernel<decltype(k)::value, T>
        <<<blocks_for(n), kThreads>>>(x, y, n, static_cast<T>(p.p0), static_cast<T>(p.p1));
  });
  check_launch("unary_forward");
}

template <typename T>
void unary_backward(int device, UnaryOp op, UnaryParams p, const T* x, const T* y, const T* gy, T* gx, int64_t n) {
  if (n == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  kernels::dispatch_unary(op, [&](auto k) {
    unary_backward_kernel<decltype(k)::value, T>
        <<<blocks_for(n), kThreads>>>(x, y, gy, gx, n, static_cast<T>(p.p0), static_cast<T>(p.p1));
  });
  check_launch("unary_backward");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/elementwise.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
