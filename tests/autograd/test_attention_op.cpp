// The fused attention op against the plain composition of ops, forward and
// gradients, across masks, GQA, ALiBi and tile boundaries (blocks of 64).
#include <catch2/catch.hpp>
#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "layers/positions.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using V = std::vector<Tensor>;

namespace {

// softmax(q kᵀ·scale + mask + bias) v with materialised T×T scores.
Tensor plain_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMaskSpec& m) {
  const int64_t H = q.size(1), Hkv = k.size(1), Tq = q.size(2), Tk = k.size(2), offset = Tk - Tq;
  std::vector<int64_t> idx(H);
  for (int64_t h = 0; h < H; ++h) idx[h] = h / (H / Hkv);
  const Tensor kv_index = Tensor::from_indices(idx, {H});
  std::vector<double> bias(H * Tq * Tk, 0.0);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = 0; j < Tk; ++j) {
        const int64_t pos = i + offset;
        double& b = bias[(h * Tq + i) * Tk + j];
        if ((m.causal && j > pos) || (m.window > 0 && pos - j >= m.window))
          b = -std::numeric_limits<double>::infinity();
        else if (!m.alibi_slopes.empty())
          b = -m.alibi_slopes[h] * static_cast<double>(pos - j);
      }
  Tensor scores = add(mul(matmul(q, index_select(k, 1, kv_index), false, true), m.scale),
                      Tensor::from_vector(bias, {H, Tq, Tk}, q.dtype()));
  return matmul(softmax(scores, -1), index_select(v, 1, kv_index));
}

struct Case {
  std::string name;
  int64_t B, H, Hkv, Tq, Tk, d;
  AttentionMaskSpec mask;
};

std::vector<Case> cases() {
  std::vector<Case> c = {
      {"causal", 2, 2, 2, 9, 9, 4, {true, 0, 0.5, {}}},
      {"causal, crossing tiles", 1, 1, 1, 70, 70, 3, {true, 0, 0.5, {}}},
      {"window 5, crossing tiles", 1, 2, 1, 70, 70, 3, {true, 5, 0.5, {}}},
      {"causal, crossing query and key tiles", 1, 1, 1, 150, 150, 2, {true, 0, 0.5, {}}},
      {"window 100, ALiBi, crossing key tiles", 1, 2, 1, 140, 140, 2, {true, 100, 0.5, alibi_slopes(2)}},
      {"bidirectional", 1, 2, 2, 7, 7, 5, {false, 0, 0.4, {}}},
      {"GQA 4:2", 1, 4, 2, 8, 8, 4, {true, 0, 0.5, {}}},
      {"MQA 4:1 + ALiBi", 1, 4, 1, 8, 8, 4, {true, 0, 0.5, alibi_slopes(4)}},
      {"fewer queries than keys (decode-like)", 2, 2, 2, 3, 10, 4, {true, 0, 0.5, {}}},
      {"one query", 1, 2, 1, 1, 6, 4, {true, 4, 0.5, alibi_slopes(2)}},
  };
  return c;
}

}  // namespace

TEST_CASE("flash_attention: equals the plain composition (F64 and F32)", "[ops][attention]") {
  for (const Case& c : cases()) {
    INFO(c.name);
    Generator gen(3);
    Tensor q = Tensor::randn({c.B, c.H, c.Tq, c.d}, gen, DType::F64);
    Tensor k = Tensor::randn({c.B, c.Hkv, c.Tk, c.d}, gen, DType::F64);
    Tensor v = Tensor::randn({c.B, c.Hkv, c.Tk, c.d}, gen, DType::F64);
    const std::vector<double> ref = plain_attention(q, k, v, c.mask).to_vector();
    CHECK(testing::rel_err(ref, flash_attention(q, k, v, c.mask).to_vector()) < 1e-13);
    const Tensor out32 = flash_attention(q.to(DType::F32), k.to(DType::F32), v.to(DType::F32), c.mask);
    CHECK(testing::rel_err(ref, out32.to_vector()) < 1e-5);
  }
}

TEST_CASE("flash_attention: F64 finite-difference gradients", "[ops][attention][grad]") {
  std::vector<testing::GradCase> grads;
  for (const Case& c : cases()) {
    if (c.Tq > 40) continue;  // tile crossings are covered against the plain path below
    grads.push_back({c.name, {{c.B, c.H, c.Tq, c.d}, {c.B, c.Hkv, c.Tk, c.d}, {c.B, c.Hkv, c.Tk, c.d}},
                     [mask = c.mask](const V& x) { return flash_attention(x[0], x[1], x[2], mask); }});
  }
  testing::check_all(grads);
}

TEST_CASE("flash_attention: gradients equal the plain path across tiles", "[ops][attention][grad]") {
  for (const Case& c : cases()) {
    INFO(c.name);
    Generator gen(5);
    std::vector<Tensor> fused, plain;
    for (const Shape& s : {Shape{c.B, c.H, c.Tq, c.d}, Shape{c.B, c.Hkv, c.Tk, c.d}, Shape{c.B, c.Hkv, c.Tk, c.d}}) {
      Tensor t = Tensor::randn(s, gen, DType::F64);
      fused.push_back(t.clone().requires_grad_());
      plain.push_back(t.clone().requires_grad_());
    }
    Tensor w = Tensor::randn({c.B, c.H, c.Tq, c.d}, gen, DType::F64);
    sum(mul(flash_attention(fused[0], fused[1], fused[2], c.mask), w)).backward();
    sum(mul(plain_attention(plain[0], plain[1], plain[2], c.mask), w)).backward();
    for (int i = 0; i < 3; ++i) CHECK(testing::rel_err(plain[i].grad().to_vector(), fused[i].grad().to_vector()) < 1e-12);
  }
}

TEST_CASE("flash_attention: bad shapes are refused", "[ops][attention][errors]") {
  Tensor q = Tensor::zeros({1, 3, 4, 8}), kv = Tensor::zeros({1, 2, 4, 8});
  REQUIRE_THROWS_WITH(flash_attention(q, kv, kv, {}), Catch::Contains("Hkv dividing H"));
  REQUIRE_THROWS_WITH(flash_attention(Tensor::zeros({1, 1, 4, 1100}), Tensor::zeros({1, 1, 4, 1100}),
                                      Tensor::zeros({1, 1, 4, 1100}), {}),
                      Catch::Contains("exceeds 1024"));
}

TEST_CASE("flash_attention: the BF16 kernel is refused on the CPU with one line naming what runs", "[attention]") {
  Tensor q = Tensor::zeros({1, 1, 4, 8});
  AttentionMaskSpec spec;
  spec.bf16 = true;
  REQUIRE_THROWS_WITH(flash_attention(q, q, q, spec), Catch::Contains("BF16 kernel runs on CUDA with f32 inputs"));
}
