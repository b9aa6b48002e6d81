// [cuda] tests: compare the CUDA device abstraction with the CPU path. With no
// device at run time they report themselves skipped.
#include <catch2/catch.hpp>

#include "autograd/allocator.h"
#include "autograd/ops.h"
#include "kernels/cuda/cuda_api.h"

using namespace mixlab;

#define MIXLAB_REQUIRE_CUDA()                                                                   \
  do {                                                                                          \
    if (!cuda_available()) {                                                                    \
      WARN("skipped: no CUDA device" << (cuda::built_with_cuda() ? "" : " (built without CUDA)")); \
      return;                                                                                   \
    }                                                                                           \
  } while (0)

TEST_CASE("cuda: host <-> device copies round-trip", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  Generator gen(5);
  Tensor host = Tensor::randn({3, 257}, gen);
  Tensor dev = host.to(Device::cuda());
  CHECK(dev.device().is_cuda());
  CHECK(dev.to_vector() == host.to_vector());
  Tensor copy = dev.clone();
  CHECK(copy.to(Device::cpu()).to_vector() == host.to_vector());
  Tensor z = Tensor::zeros({100}, DType::F32, Device::cuda());
  CHECK(z.to_vector() == std::vector<double>(100, 0.0));
}

TEST_CASE("cuda: the device memory pool reuses blocks", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  auto& pool = CachingAllocator::for_device(Device::cuda());
  { Tensor warm = Tensor::empty({1 << 16}, DType::F32, Device::cuda()); }
  const uint64_t allocs = pool.stats().system_allocs;
  for (int i = 0; i < 10; ++i) Tensor t = Tensor::empty({1 << 16}, DType::F32, Device::cuda());
  CHECK(pool.stats().system_allocs == allocs);
}

TEST_CASE("cuda: cuBLAS matmul equals the CPU GEMM, all transposes and batching", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  Generator gen(9);
  for (DType dt : {DType::F32, DType::F64})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        Tensor a = Tensor::randn(ta ? Shape{3, 33, 17} : Shape{3, 17, 33}, gen, dt);
        Tensor b = Tensor::randn(tb ? Shape{65, 33} : Shape{33, 65}, gen, dt);
        Tensor cpu_out = matmul(a, b, ta, tb);
        Tensor gpu_out = matmul(a.to(Device::cuda()), b.to(Device::cuda()), ta, tb).to(Device::cpu());
        std::vector<double> x = cpu_out.to_vector(), y = gpu_out.to_vector();
        double err = 0, ref = 0;
        for (size_t i = 0; i < x.size(); ++i) {
          err += (x[i] - y[i]) * (x[i] - y[i]);
          ref += x[i] * x[i];
        }
        CHECK(std::sqrt(err / ref) < (dt == DType::F32 ? 1e-5 : 1e-12));
      }
}

TEST_CASE("cuda: ops without a CUDA kernel say so, mixed devices are rejected", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  Tensor d = Tensor::ones({4}, DType::F32, Device::cuda());
  REQUIRE_THROWS_WITH(exp(d), Catch::Contains("exp") && Catch::Contains("CUDA"));
  REQUIRE_THROWS_WITH(add(d, Tensor::ones({4})), Catch::Contains("device mismatch"));
}

TEST_CASE("cuda: without a device, creating a CUDA tensor is a clear error", "[cuda][nocuda]") {
  if (cuda_available()) return;
  REQUIRE_THROWS_WITH(Tensor::zeros({2}, DType::F32, Device::cuda()), Catch::Contains("cuda"));
}
