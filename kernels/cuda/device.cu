// Device discovery, raw memory and host<->device copies. The caching allocator
// (autograd/allocator.cpp) sits on top of device_malloc/device_free.
#include "kernels/cuda/check.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

bool built_with_cuda() { return true; }

int device_count() {
  // Asked once: a machine without a driver or device answers an error, which
  // means "no device" here rather than a failure.
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // clear the sticky error
      return 0;
    }
    return n;
  }();
  return count;
}

void* device_malloc(int device, size_t bytes) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  void* p = nullptr;
  MIXLAB_CUDA_CHECK(cudaMalloc(&p, bytes));
  return p;
}

void device_free(int device, void* ptr) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  MIXLAB_CUDA_CHECK(cudaFree(ptr));
}

void copy_host_to_device(int device, void* dst, const void* src, size_t bytes) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  MIXLAB_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

void copy_device_to_host(int device, void* dst, const void* src, size_t bytes) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  MIXLAB_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

void copy_device_to_device(int device, void* dst, const void* src, size_t bytes) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  MIXLAB_CUDA_CHECK(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToDevice));
}

void fill_zero(int device, void* dst, size_t bytes) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  MIXLAB_CUDA_CHECK(cudaMemset(dst, 0, bytes));
}

void synchronize(int device) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  MIXLAB_CUDA_CHECK(cudaDeviceSynchronize());
}

}  // namespace mixlab::cuda
