#pragma once
// Error checks that name the failing call and its call site.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "autograd/error.h"

#define MIXLAB_CUDA_CHECK(call)                                                                       \
  do {                                                                                                \
    cudaError_t err_ = (call);                                                                        \
    if (err_ != cudaSuccess)                                                                          \
      throw ::mixlab::Error(::mixlab::detail::concat(#call, " failed at ", __FILE__, ":", __LINE__, ": ", \
                                                     cudaGetErrorString(err_)));                      \
  } while (0)

#define MIXLAB_CUBLAS_CHECK(call)                                                                     \
  do {                                                                                                \
    cublasStatus_t st_ = (call);                                                                      \
    if (st_ != CUBLAS_STATUS_SUCCESS)                                                                 \
      throw ::mixlab::Error(::mixlab::detail::concat(#call, " failed at ", __FILE__, ":", __LINE__,     \
                                                     ": cuBLAS status ", static_cast<int>(st_)));     \
  } while (0)
