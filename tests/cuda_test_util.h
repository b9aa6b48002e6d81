#pragma once
// Shared by the [cuda] tests: the skip when no device is present, the
// relative difference of a device result from its CPU reference, and the
// switch that lets the tests run kernels not yet verified on a GPU (the
// tests are what verifies them: scripts/gpu-check.sh).
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "autograd/tensor.h"
#include "kernels/cuda/cuda_api.h"

#define MIXLAB_REQUIRE_CUDA()                                                                              \
  do {                                                                                                     \
    if (!::mixlab::cuda_available()) {                                                                     \
      WARN("skipped: no CUDA device" << (::mixlab::cuda::built_with_cuda() ? "" : " (built without CUDA)")); \
      return;                                                                                              \
    }                                                                                                      \
  } while (0)

namespace mixlab::test {

// ||x - y|| / ||y|| of two tensors on any devices.
inline double relative_difference(const Tensor& x, const Tensor& y) {
  const std::vector<double> a = x.to_vector(), b = y.to_vector();
  REQUIRE(a.size() == b.size());
  double err = 0, ref = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    err += (a[i] - b[i]) * (a[i] - b[i]);
    ref += b[i] * b[i];
  }
  return std::sqrt(err / std::max(ref, 1e-300));
}

// A fresh leaf on `device` holding t's values (undefined stays undefined).
// Detached first: t.to(cpu) of a CPU tensor is t itself, so without it the
// CPU and GPU leaves of one input would share (and double) a gradient, and
// the second .to() would be recorded on the tape and could not be a leaf.
inline Tensor leaf_on(const Tensor& t, Device device) {
  return t.defined() ? t.detach().to(device).requires_grad_(true) : Tensor();
}

inline void allow_unverified_kernels() { ::setenv("MIXLAB_CUDA_UNVERIFIED", "1", 1); }

}  // namespace mixlab::test
