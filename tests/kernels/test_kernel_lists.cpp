// The CUDA kernel lists (kernels/cuda/kernel_list.h) and the op dispatch
// point (autograd/ops/backend.h), checked on the CPU.
#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "autograd/ops/backend.h"
#include "kernels/cpu/elementwise_kernels.h"
#include "kernels/cuda/cuda_api.h"

using namespace mixlab;

TEST_CASE("kernel lists: without CUDA every generated stub throws, naming its entry point", "[kernels]") {
  if (cuda::built_with_cuda()) {
    WARN("skipped: built with CUDA, so the stubs are not linked");
    return;
  }
  const auto built_without = [](const char* name) {
    return Catch::Contains(std::string("cuda::") + name + ": mixlab was built without CUDA");
  };
  float f = 0;
  int64_t i = 0;
  // One entry of each kind: a function, a FLOATS template, a FLOATS_AND_I64 one, no device argument.
  CHECK_THROWS_WITH(cuda::device_malloc(0, 64), built_without("device_malloc"));
  CHECK_THROWS_WITH(cuda::gemm<float>(0, false, false, 1, 1, 1, 1.f, &f, 0, &f, 0, 0.f, &f, 0, 1),
                    built_without("gemm"));
  CHECK_THROWS_WITH(cuda::permute_copy<int64_t>(0, &i, &i, cuda::PermuteIndex{}), built_without("permute_copy"));
  CHECK_THROWS_WITH(cuda::sum_of_squares<double>(0, nullptr, 0), built_without("sum_of_squares"));
  CHECK_THROWS_WITH(cuda::moe_route_scratch(1, 2, 1), built_without("moe_route_scratch"));
  // The hand-written ones answer instead of throwing.
  CHECK(cuda::device_count() == 0);
  CHECK_FALSE(cuda::tf32_enabled());
}

TEST_CASE("dispatch: a CPU tensor runs the CPU kernel, with no gate", "[kernels]") {
  // The gate is for GPUs only: with it closed, a CPU backend still runs.
  const char* flag = std::getenv("MIXLAB_CUDA_UNVERIFIED");
  const std::string saved = flag ? flag : "";
  ::unsetenv("MIXLAB_CUDA_UNVERIFIED");
  const Tensor x = Tensor::from_vector({1, 2, 3}, {3});
  const ops_detail::Backend backend = ops_detail::Backend::of("elementwise", "affine", x);
  if (flag) ::setenv("MIXLAB_CUDA_UNVERIFIED", saved.c_str(), 1);
  CHECK_FALSE(backend.on_cuda());
  std::vector<float> out(3), expected(3);
  MIXLAB_RUN_KERNEL(backend, affine, x.data<float>(), out.data(), 3, 2.0, 1.0);
  cpu::affine(x.data<float>(), expected.data(), 3, 2.0, 1.0);
  CHECK(out == expected);
  CHECK(out == std::vector<float>{3, 5, 7});
}
