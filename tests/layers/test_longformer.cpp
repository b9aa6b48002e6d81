// longformer (docs/mixers.md): the banded computation equals the dense F64
// reference (allenai's "sliding_chunks vs dense" test) for many block
// layouts, both forms, and global tokens that differ per batch row; the
// window is one side (exact dependency sets); decoding and prefill in pieces
// equal the forward; the memory is banded, not T×T; bad options are refused.
#include <catch2/catch.hpp>
#include <cmath>

#include "autograd/allocator.h"
#include "autograd/ops.h"
#include "layers/mixers/longformer.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

std::vector<std::string> args(bool causal, int64_t w, int64_t g, int64_t block, int64_t heads = 2) {
  return {"longformer.causal=" + std::string(causal ? "true" : "false"), "longformer.window=" + std::to_string(w),
          "longformer.n_global=" + std::to_string(g), "longformer.block_size=" + std::to_string(block),
          "longformer.n_heads=" + std::to_string(heads)};
}

std::shared_ptr<LongformerAttention> make(const std::vector<std::string>& a, int64_t D = 12) {
  auto m = std::dynamic_pointer_cast<LongformerAttention>(testing::make_f64_mixer("longformer", D, a, 7));
  REQUIRE(m);
  return m;
}

Tensor randn(int64_t B, int64_t T, int64_t D, uint64_t seed = 5) {
  Generator gen(seed);
  return Tensor::randn({B, T, D}, gen, DType::F64);
}

// Global tokens that differ per row, in count (3, 0, 1) and place.
std::vector<std::vector<bool>> ragged_mask(int64_t T) {
  std::vector<std::vector<bool>> m(3, std::vector<bool>(T, false));
  m[0][0] = m[0][5] = m[0][T - 2] = true;
  m[2][3] = true;
  return m;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b, int64_t from, int64_t to) {
  double d = 0;
  for (int64_t i = from; i < to; ++i) d = std::max(d, std::abs(a[i] - b[i]));
  return d;
}

}  // namespace

TEST_CASE("longformer: the banded form equals the dense reference", "[longformer]") {
  const int64_t B = 2, D = 12;
  struct Case {
    bool causal;
    int64_t w, g, block, T;
  };
  // T not a multiple of the block; windows below, at and above the block;
  // sequences shorter than one block (a single block of every key).
  for (const Case& c : {Case{false, 1, 0, 2, 15}, Case{false, 3, 2, 4, 23}, Case{false, 5, 1, 5, 37},
                        Case{true, 1, 0, 2, 15}, Case{true, 3, 2, 4, 23}, Case{true, 6, 3, 4, 37},
                        Case{true, 20, 2, 16, 9}, Case{false, 20, 2, 16, 9}}) {
    INFO("causal " << c.causal << " w " << c.w << " g " << c.g << " block " << c.block << " T " << c.T);
    auto m = make(args(c.causal, c.w, c.g, c.block), D);
    NoGradGuard no_grad;
    Tensor x = randn(B, c.T, D);
    CHECK(testing::rel_err(m->reference_forward(x).to_vector(), m->forward(x).to_vector()) < 1e-12);
    // F32 fast path against the F64 reference on the same parameters
    m->to(DType::F32);
    Tensor x32 = x.to(DType::F32);
    CHECK(testing::rel_err(m->reference_forward(x32.to(DType::F64)).to_vector(), m->forward(x32).to_vector()) < 1e-5);
  }
}

TEST_CASE("longformer: outputs and gradients do not depend on the block size", "[longformer]") {
  const int64_t B = 2, D = 12, T = 29;
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    Tensor x = randn(B, T, D);
    Generator gen(11);
    Tensor w = Tensor::uniform({B, T, D}, gen, -1.0, 1.0, DType::F64);
    // block 32 >= T: one block holding every key (the dense layout)
    const auto dense = testing::forward_backward(*make(args(causal, 3, 2, 32)), x, w);
    for (int64_t block : {1, 3, 7}) {
      INFO("block " << block);
      testing::check_same_outcome(dense, testing::forward_backward(*make(args(causal, 3, 2, block)), x, w), 1e-12,
                                  1e-12);
    }
  }
}

TEST_CASE("longformer: global tokens set per batch row match the reference", "[longformer]") {
  const int64_t B = 3, D = 12, T = 21;
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    auto m = make(args(causal, 2, 1, 4));
    NoGradGuard no_grad;
    Tensor x = randn(B, T, D);
    const std::vector<double> by_default = m->forward(x).to_vector();
    m->set_global_mask(ragged_mask(T));
    const std::vector<double> y = m->forward(x).to_vector();
    CHECK(testing::rel_err(m->reference_forward(x).to_vector(), y) < 1e-12);
    CHECK(testing::rel_err(by_default, y) > 1e-3);  // the mask changed the global tokens
    // and each row is the same alone, with its own mask row
    for (int64_t b = 0; b < B; ++b) {
      m->set_global_mask({ragged_mask(T)[b]});
      CHECK(testing::rel_err(std::vector<double>(y.begin() + b * T * D, y.begin() + (b + 1) * T * D),
                             m->forward(slice(x, 0, b, b + 1)).to_vector()) < 1e-13);
    }
    m->set_global_mask({});  // back to the default
    CHECK(m->forward(x).to_vector() == by_default);
  }
}

TEST_CASE("longformer: F64 gradients with ragged global tokens and several blocks", "[longformer]") {
  const int64_t D = 8, T = 11;
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    auto m = make(args(causal, 2, 1, 3), D);
    m->set_global_mask(ragged_mask(T));
    testing::check_gradients({causal ? "longformer causal" : "longformer encoder", {{3, T, D}},
                              [&m](const std::vector<Tensor>& in) { return m->forward(in[0]); }});
  }
}

TEST_CASE("longformer: window w is one side; global tokens see and are seen by every token", "[longformer]") {
  // Output i moves with input j iff the row attends j (or attends a global
  // row that does; a single layer has no such path except through the
  // global query rows themselves), so the dependency set is exactly:
  //   encoder: |i-j| <= w or i, j global;  causal: j <= i and the same.
  const int64_t D = 8, T = 13, w = 2;
  for (bool causal : {false, true}) {
    INFO("causal " << causal);
    auto m = make(args(causal, w, 0, 16, 1), D);
    std::vector<std::vector<bool>> mask(1, std::vector<bool>(T, false));
    auto m_glob = make(args(causal, w, 1, 3, 1), D);
    mask[0][0] = mask[0][7] = true;
    m_glob->set_global_mask(mask);
    NoGradGuard no_grad;
    Tensor x = randn(1, T, D);
    for (auto* mixer : {m.get(), m_glob.get()}) {
      const bool with_globals = mixer == m_glob.get();
      INFO("globals " << with_globals);
      const std::vector<double> base = mixer->forward(x).to_vector();
      for (int64_t j = 0; j < T; ++j) {
        std::vector<double> v = x.to_vector();
        for (int64_t c = 0; c < D; ++c) v[j * D + c] += 0.5;
        const std::vector<double> y = mixer->forward(Tensor::from_vector(v, x.shape(), DType::F64)).to_vector();
        for (int64_t i = 0; i < T; ++i) {
          const bool global = with_globals && (mask[0][i] || mask[0][j]);
          const bool visible = (!causal || j <= i) && (global || std::abs(i - j) <= w);
          INFO("query " << i << " key " << j);
          CHECK((max_abs_diff(base, y, i * D, (i + 1) * D) > 0) == visible);
        }
      }
    }
  }
}

TEST_CASE("longformer: decoding and prefill in pieces equal the forward", "[longformer]") {
  const int64_t B = 2, D = 12, T = 40;
  for (int64_t w : {1, 3, 9}) {
    INFO("window " << w);
    auto m = make(args(true, w, 3, 4));
    NoGradGuard no_grad;
    Tensor x = randn(B, T, D);
    Tensor full = m->forward(x);
    auto state = m->init_state(B);
    std::vector<Tensor> steps;
    for (int64_t t = 0; t < T; ++t) steps.push_back(m->step(slice(x, 1, t, t + 1).reshape({B, D}), *state).reshape({B, 1, D}));
    CHECK(testing::rel_err(full.to_vector(), concat(steps, 1).to_vector()) < 1e-12);
    // pieces shorter and longer than a block, crossing the global tokens
    state = m->init_state(B);
    std::vector<Tensor> pieces;
    for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 2}, {2, 13}, {13, 14}, {14, 40}})
      pieces.push_back(m->prefill(slice(x, 1, s, e), *state));
    CHECK(state->position == T);
    CHECK(testing::rel_err(full.to_vector(), concat(pieces, 1).to_vector()) < 1e-12);
  }
}

TEST_CASE("longformer: decoding with a different number of leading global tokens per row", "[longformer]") {
  const int64_t B = 3, D = 12, T = 17;
  auto m = make(args(true, 2, 1, 4));
  std::vector<std::vector<bool>> mask(B, std::vector<bool>(T, false));
  for (int64_t t = 0; t < 4; ++t) mask[0][t] = true;  // row 0: 4, row 1: none, row 2: 1
  mask[2][0] = true;
  m->set_global_mask(mask);
  NoGradGuard no_grad;
  Tensor x = randn(B, T, D);
  Tensor full = m->forward(x);
  CHECK(testing::rel_err(m->reference_forward(x).to_vector(), full.to_vector()) < 1e-12);
  auto state = m->init_state(B);
  Tensor head = m->prefill(slice(x, 1, 0, 3), *state);
  std::vector<Tensor> out{head};
  for (int64_t t = 3; t < T; ++t) out.push_back(m->step(slice(x, 1, t, t + 1).reshape({B, D}), *state).reshape({B, 1, D}));
  CHECK(testing::rel_err(full.to_vector(), concat(out, 1).to_vector()) < 1e-12);
  // a global token after a local one cannot be decoded with a constant state
  mask[1][5] = true;
  m->set_global_mask(mask);
  REQUIRE_THROWS_WITH(m->init_state(B), Catch::Contains("row 1") && Catch::Contains("leading"));
}

TEST_CASE("longformer: state is the window ring plus the cached global tokens", "[longformer]") {
  const int64_t D = 12;
  auto m = make(args(true, 5, 3, 4));
  const int64_t per_token = 2 * D * 4;  // a key and a value at F32
  CHECK(m->state_bytes(1) == per_token * (1 + 2 * 1));
  CHECK(m->state_bytes(4) == per_token * (4 + 2 * 3));
  CHECK(m->state_bytes(5) == per_token * (5 + 2 * 3));
  CHECK(m->state_bytes(100000) == m->state_bytes(5));  // constant past w and g
  auto encoder = make(args(false, 5, 3, 4));
  CHECK(!encoder->traits().causal);
  CHECK(!encoder->traits().has_decode);
  REQUIRE_THROWS_WITH(encoder->init_state(1), Catch::Contains("causal = false"));
}

TEST_CASE("longformer: memory is banded, never T x T", "[longformer]") {
  // T = 4096, w = 4: a T×T score matrix alone would be 64 MiB at F32; the
  // banded form holds (B, H, T, 2c) scores with c = 16, about 0.5 MiB.
  const int64_t T = 4096, D = 8;
  MixerContext ctx;
  ctx.d_model = D;
  Generator gen(3);
  auto m = find_mixer("longformer").make(parse_options(mixer_options(), {"longformer.window=4"}), ctx, gen);
  Tensor x = Tensor::randn({1, T, D}, gen);
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  const size_t before = alloc.stats().bytes_in_use;
  alloc.reset_peak();
  sum(m->forward(x)).backward();
  const size_t used = alloc.stats().peak_bytes_in_use - before;
  INFO("peak bytes " << used);
  CHECK(used < static_cast<size_t>(T) * T * 4 / 16);
}

TEST_CASE("longformer: bad options and masks are refused with one line", "[longformer]") {
  auto build = [](std::vector<std::string> a) {
    MixerContext ctx;
    ctx.d_model = 12;
    Generator gen(1);
    return find_mixer("longformer").make(parse_options(mixer_options(), a), ctx, gen);
  };
  REQUIRE_THROWS_WITH(build({"longformer.n_heads=5"}), Catch::Contains("longformer.n_heads"));
  REQUIRE_THROWS_WITH(build({"longformer.window=0"}), Catch::Contains("longformer.window"));
  REQUIRE_THROWS_WITH(build({"longformer.n_global=-1"}), Catch::Contains("longformer.n_global"));
  REQUIRE_THROWS_WITH(build({"longformer.block_size=0"}), Catch::Contains("longformer.block_size"));
  auto none = std::dynamic_pointer_cast<LongformerAttention>(build({"longformer.n_global=0"}));
  REQUIRE_THROWS_WITH(none->set_global_mask({{true}}), Catch::Contains("n_global = 0"));
  auto m = std::dynamic_pointer_cast<LongformerAttention>(build({}));
  m->set_global_mask({{true, false}});
  Generator gen(2);
  REQUIRE_THROWS_WITH(m->forward(Tensor::randn({2, 2, 12}, gen)), Catch::Contains("batch has 2"));
  REQUIRE_THROWS_WITH(m->forward(Tensor::randn({1, 3, 12}, gen)), Catch::Contains("sequence has 3"));
}
