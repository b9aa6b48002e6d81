// [cuda]: the fused attention kernel on a GPU equals the CPU kernel, forward
// and every gradient, over the shapes where tiling goes wrong: T = 1, T not a
// multiple of the 32-row tile, head dims below, at and between the kernel's
// widths (16, 64, 80, 128), GQA and MQA, windows, ALiBi, non-causal, fewer
// queries than keys, and a decode step over a cache with spare rows.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>

#include "autograd/ops.h"
#include "tests/cuda_test_util.h"

using namespace mixlab;
using test::leaf_on;
using test::relative_difference;

namespace {

struct Case {
  int64_t B, H, Hkv, Tq, Tk, d;
  bool causal;
  int64_t window;
  bool alibi;
};

// x rounded to the nearest BF16 value (ties to even), as cuda::to_bf16 does.
Tensor round_to_bf16(const Tensor& x) {
  std::vector<double> v = x.to_vector();
  for (double& e : v) {
    float f = static_cast<float>(e);
    uint32_t u;
    std::memcpy(&u, &f, 4);
    u = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
    std::memcpy(&f, &u, 4);
    e = f;
  }
  return Tensor::from_vector(v, x.shape(), x.dtype(), x.device());
}

std::vector<double> slopes(int64_t H) {
  std::vector<double> s;
  for (int64_t h = 0; h < H; ++h)
    s.push_back(std::pow(2.0, -8.0 * static_cast<double>(h + 1) / static_cast<double>(H)));
  return s;
}

}  // namespace

TEST_CASE("cuda: flash attention forward and gradients equal the CPU kernel", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  const Device gpu = Device::cuda();
  Generator gen(2026);
  const std::vector<Case> cases = {
      {1, 1, 1, 1, 1, 64, true, 0, false},     {2, 4, 4, 33, 33, 64, true, 0, false},
      {1, 4, 2, 100, 100, 128, true, 0, false}, {2, 8, 1, 65, 65, 16, true, 0, true},
      {1, 2, 2, 70, 70, 80, true, 7, false},    {1, 6, 3, 129, 129, 64, true, 40, true},
      {2, 2, 1, 45, 45, 128, false, 0, false},  {1, 4, 4, 17, 50, 64, true, 0, false},
      {1, 2, 2, 31, 31, 32, false, 9, true},    {1, 2, 1, 257, 257, 128, true, 0, false}};
  for (DType dt : {DType::F32, DType::F64}) {
    const double tol = dt == DType::F32 ? 2e-5 : 1e-12;
    for (const Case& c : cases) {
      INFO("B " << c.B << " H " << c.H << " Hkv " << c.Hkv << " Tq " << c.Tq << " Tk " << c.Tk << " d " << c.d
                << (c.causal ? " causal" : " full") << " window " << c.window << (c.alibi ? " alibi " : " ")
                << dtype_name(dt));
      AttentionMaskSpec mask{c.causal, c.window, 1.0 / std::sqrt(static_cast<double>(c.d)),
                             c.alibi ? slopes(c.H) : std::vector<double>{}};
      Tensor q = Tensor::randn({c.B, c.H, c.Tq, c.d}, gen, dt), k = Tensor::randn({c.B, c.Hkv, c.Tk, c.d}, gen, dt);
      Tensor v = Tensor::randn({c.B, c.Hkv, c.Tk, c.d}, gen, dt), up = Tensor::randn({c.B, c.H, c.Tq, c.d}, gen, dt);
      Tensor cq = leaf_on(q, Device::cpu()), ck = leaf_on(k, Device::cpu()), cv = leaf_on(v, Device::cpu());
      Tensor gq = leaf_on(q, gpu), gk = leaf_on(k, gpu), gv = leaf_on(v, gpu);
      Tensor cy = flash_attention(cq, ck, cv, mask), gy = flash_attention(gq, gk, gv, mask);
      REQUIRE(gy.device().is_cuda());
      CHECK(relative_difference(gy, cy) <= tol);
      cy.backward(up);
      gy.backward(up.to(gpu));
      CHECK(relative_difference(gq.grad(), cq.grad()) <= tol);
      CHECK(relative_difference(gk.grad(), ck.grad()) <= tol);
      CHECK(relative_difference(gv.grad(), cv.grad()) <= tol);
    }
  }
}

TEST_CASE("cuda: flash attention over a decode cache with spare rows equals the CPU", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  Generator gen(7);
  NoGradGuard no_grad;
  for (int64_t n_keys : {1, 31, 32, 77}) {
    INFO("keys " << n_keys);
    Tensor q = Tensor::randn({2, 4, 1, 64}, gen), k = Tensor::randn({2, 2, 96, 64}, gen),
           v = Tensor::randn({2, 2, 96, 64}, gen);
    const AttentionMaskSpec mask{true, 16, 0.125, slopes(4)};
    Tensor cpu = flash_attention_cached(q, k, v, n_keys, mask);
    Tensor dev = flash_attention_cached(q.to(Device::cuda()), k.to(Device::cuda()), v.to(Device::cuda()), n_keys, mask);
    CHECK(relative_difference(dev, cpu) <= 2e-6);
  }
}

TEST_CASE("cuda: flash attention refuses head dims above the kernel's, naming the limit", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  Tensor q = Tensor::zeros({1, 1, 4, 192}, DType::F32, Device::cuda());
  REQUIRE_THROWS_WITH(flash_attention(q, q, q, AttentionMaskSpec{}), Catch::Contains("head dim 192") &&
                                                                         Catch::Contains("128"));
}

TEST_CASE("cuda: the BF16 tensor-core attention equals the F32 kernel on BF16-rounded inputs", "[cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  const Device gpu = Device::cuda();
  Generator gen(31);
  // T not a multiple of the 64-row tile, T = 1, d below, at and between 64 and 128, GQA, windows, ALiBi.
  const std::vector<Case> cases = {
      {1, 1, 1, 1, 1, 64, true, 0, false},      {2, 4, 4, 65, 65, 64, true, 0, false},
      {1, 4, 2, 130, 130, 128, true, 0, true},  {1, 2, 1, 100, 100, 32, false, 0, false},
      {1, 2, 2, 77, 77, 80, true, 20, false},   {1, 2, 2, 40, 200, 128, true, 0, false}};
  for (const Case& c : cases) {
    INFO("B " << c.B << " H " << c.H << " Hkv " << c.Hkv << " Tq " << c.Tq << " Tk " << c.Tk << " d " << c.d
              << (c.causal ? " causal" : " full") << " window " << c.window << (c.alibi ? " alibi" : ""));
    AttentionMaskSpec mask{c.causal, c.window, 1.0 / std::sqrt(static_cast<double>(c.d)),
                           c.alibi ? slopes(c.H) : std::vector<double>{}};
    Tensor q = round_to_bf16(Tensor::randn({c.B, c.H, c.Tq, c.d}, gen)),
           k = round_to_bf16(Tensor::randn({c.B, c.Hkv, c.Tk, c.d}, gen)),
           v = round_to_bf16(Tensor::randn({c.B, c.Hkv, c.Tk, c.d}, gen));
    Tensor up = round_to_bf16(Tensor::randn({c.B, c.H, c.Tq, c.d}, gen));
    Tensor cq = leaf_on(q, Device::cpu()), ck = leaf_on(k, Device::cpu()), cv = leaf_on(v, Device::cpu());
    Tensor gq = leaf_on(q, gpu), gk = leaf_on(k, gpu), gv = leaf_on(v, gpu);
    Tensor cy = flash_attention(cq, ck, cv, mask);
    AttentionMaskSpec bf16_mask = mask;
    bf16_mask.bf16 = true;
    Tensor gy = flash_attention(gq, gk, gv, bf16_mask);
    // The probabilities (and dS) are rounded to BF16 inside: errors of a few 2^-9.
    CHECK(test::relative_difference(gy, cy) <= 1e-2);
    cy.backward(up);
    gy.backward(up.to(gpu));
    CHECK(test::relative_difference(gq.grad(), cq.grad()) <= 2e-2);
    CHECK(test::relative_difference(gk.grad(), ck.grad()) <= 2e-2);
    CHECK(test::relative_difference(gv.grad(), cv.grad()) <= 2e-2);
  }
}
