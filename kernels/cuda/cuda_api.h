#pragma once
// The CUDA device abstraction, as plain functions over raw device pointers.
// Implemented in kernels/cuda/*.cu when mixlab is built with CUDA; otherwise
// autograd/cuda_unavailable.cpp reports no device and every call throws.
// Only the allocator and the op dispatchers call these; nothing else touches
// device memory.
#include <cstddef>
#include <cstdint>

namespace mixlab::cuda {

bool built_with_cuda();
int device_count();  // 0 when not built with CUDA or no device/driver is present

void* device_malloc(int device, size_t bytes);
void device_free(int device, void* ptr);

void copy_host_to_device(int device, void* dst, const void* src, size_t bytes);
void copy_device_to_host(int device, void* dst, const void* src, size_t bytes);
void copy_device_to_device(int device, void* dst, const void* src, size_t bytes);
void fill_zero(int device, void* dst, size_t bytes);

// Row-major batched GEMM through cuBLAS: for each b < batch,
// C_b = alpha * op(A_b) * op(B_b) + beta * C_b with op(A) (M,K), op(B) (K,N),
// C (M,N); strides are element counts between consecutive batch matrices
// (0 broadcasts one matrix over the batch).
void gemm_f32(int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t stride_a, const float* B, int64_t stride_b, float beta, float* C,
              int64_t stride_c, int64_t batch);
void gemm_f64(int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
              const double* A, int64_t stride_a, const double* B, int64_t stride_b, double beta, double* C,
              int64_t stride_c, int64_t batch);

}  // namespace mixlab::cuda
