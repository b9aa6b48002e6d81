// mla: absorbed decoding (scores against the latent through W_UK, output
// through W_UV) equals naive decoding (k and v re-expanded from the latent) and
// the parallel flash forward, in F64 (DeepSeek-V3's inference/model.py has both
// paths, docs/mixers.md); prefill continues from a cache; the cache holds
// only kv_lora_rank + qk_rope_dim values per token; parameter layout; options.
#include <catch2/catch.hpp>
#include <map>

#include "autograd/ops.h"
#include "layers/mixers/mla.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/layers/mixer_forms.h"

using namespace mixlab;

namespace {

// Settings with every shape case: defaults (d_v = d_q), q LoRA with d_v < d_q
// (v padded for the kernel), d_v > d_q (q and k padded), one head.
const std::vector<std::vector<std::string>> kSettings = {
    {},
    {"mla.q_lora_rank=12", "mla.kv_lora_rank=10", "mla.qk_nope_dim=6", "mla.qk_rope_dim=4", "mla.v_head_dim=5"},
    {"mla.n_heads=3", "mla.kv_lora_rank=8", "mla.qk_nope_dim=4", "mla.qk_rope_dim=2", "mla.v_head_dim=9"},
    {"mla.n_heads=1", "mla.q_lora_rank=6", "mla.kv_lora_rank=16", "mla.qk_nope_dim=8", "mla.qk_rope_dim=8",
     "mla.v_head_dim=16", "mla.rope_base=50"},
};

std::string label(const std::vector<std::string>& args) {
  std::string s = "mla";
  for (const auto& a : args) s += " " + a;
  return s;
}

std::shared_ptr<SequenceMixer> make_mla(int64_t d_model, std::vector<std::string> args, const std::string& decode) {
  args.push_back("mla.decode=" + decode);
  return testing::make_f64_mixer("mla", d_model, args, 11);
}

// Token-by-token decoding through `step`: (B,T,D) -> (B,T,D).
Tensor decode_all(SequenceMixer& m, const Tensor& x, MixerState& state, int64_t from) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  std::vector<Tensor> out;
  for (int64_t t = from; t < T; ++t) out.push_back(m.step(slice(x, 1, t, t + 1).reshape({B, D}), state).reshape({B, 1, D}));
  return concat(out, 1);
}

double rel(const Tensor& a, const Tensor& b) { return testing::rel_err(b.to_vector(), a.to_vector()); }

}  // namespace

TEST_CASE("mla: absorbed decoding equals naive decoding and the parallel forward (F64)", "[mla]") {
  const int64_t B = 2, T = 24, D = 16;
  for (const auto& args : kSettings) {
    INFO(label(args));
    NoGradGuard no_grad;
    Generator gen(4);
    Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
    // Same seed: the two instances hold identical parameters.
    auto absorbed = make_mla(D, args, "absorbed"), naive = make_mla(D, args, "naive");
    Tensor full = absorbed->forward(x);
    REQUIRE(rel(full, naive->forward(x)) == 0.0);
    auto sa = absorbed->init_state(B), sn = naive->init_state(B);
    Tensor by_absorbed = decode_all(*absorbed, x, *sa, 0), by_naive = decode_all(*naive, x, *sn, 0);
    CHECK(rel(by_absorbed, full) < 1e-12);
    CHECK(rel(by_naive, full) < 1e-12);
    CHECK(rel(by_absorbed, by_naive) < 1e-12);
    // and both equal the plain-loop reference
    CHECK(rel(full, absorbed->reference_forward(x)) < 1e-12);
  }
}

TEST_CASE("mla: prefill in pieces continues the latent cache, then absorbed decoding", "[mla]") {
  const int64_t B = 2, T = 20, D = 16;
  for (const auto& args : kSettings) {
    INFO(label(args));
    NoGradGuard no_grad;
    Generator gen(6);
    Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
    auto m = make_mla(D, args, "absorbed");
    Tensor full = m->forward(x);
    auto state = m->init_state(B);
    std::vector<Tensor> pieces;
    for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 5}, {5, 6}, {6, 15}}) {
      pieces.push_back(m->prefill(slice(x, 1, s, e), *state));
      CHECK(state->position == e);
    }
    pieces.push_back(decode_all(*m, x, *state, 15));
    CHECK(rel(concat(pieces, 1), full) < 1e-12);
  }
}

TEST_CASE("mla: the cache holds only the latent and the shared rotated key", "[mla]") {
  const int64_t B = 3, T = 9, D = 64;
  NoGradGuard no_grad;
  Generator gen(2);
  Tensor x = Tensor::randn({B, T, D}, gen, DType::F64);
  for (const std::string decode : {"absorbed", "naive"}) {
    INFO(decode);
    auto m = make_mla(D, {}, decode);  // defaults: 2 heads, r 32, d_n 16, d_r 16, d_v 32
    auto state = m->init_state(B);
    m->prefill(slice(x, 1, 0, 4), *state);
    decode_all(*m, x, *state, 4);
    const auto& cache = dynamic_cast<const LatentCache&>(*state);
    // one row [c (32) | k_pe (16)] per token, one KV head
    CHECK(cache.rows.length() == T);
    CHECK(cache.rows.keys().size(1) == 1);
    CHECK(cache.rows.keys().size(3) == 32 + 16);
    CHECK(!cache.rows.values().defined());
    // state_bytes is what the cache really holds, per sequence, at F32
    CHECK(m->state_bytes(T) == cache.rows.length() * cache.rows.keys().size(3) * 4);
  }
  // Against a cache of expanded keys and values (what decoding without the
  // latent would keep): H·(d_n + d_r) keys + H·d_v values = 2·32 + 2·32 = 128
  // floats per token, versus r + d_r = 48. At d_model 64 this is also what a
  // 2-head mha caches (2·D), measured through its own state_bytes.
  MixerContext ctx;
  ctx.d_model = D;
  Generator g(1);
  auto mla = find_mixer("mla").make(parse_options(mixer_options(), {}), ctx, g);
  auto mha = find_mixer("mha").make(parse_options(mixer_options(), {"mha.n_heads=2"}), ctx, g);
  const int64_t L = 1000;
  CHECK(mla->state_bytes(L) == L * 48 * 4);
  CHECK(mha->state_bytes(L) == L * 128 * 4);
  // With more heads the latent cache stays the same size; the expanded one grows.
  auto mla8 = find_mixer("mla").make(parse_options(mixer_options(), {"mla.n_heads=8"}), ctx, g);
  CHECK(mla8->state_bytes(L) == mla->state_bytes(L));
}

TEST_CASE("mla: parameter layout (one shared RoPE key head, HF DeepSeek-V2 names)", "[mla]") {
  MixerContext ctx;
  ctx.d_model = 64;
  Generator gen(1);
  auto shapes = [&](const std::vector<std::string>& args) {
    std::map<std::string, Shape> out;
    for (const auto& [name, p] : find_mixer("mla").make(parse_options(mixer_options(), args), ctx, gen)->named_parameters())
      out[name] = p.shape();
    return out;
  };
  const auto plain = shapes({"mla.n_heads=4"});
  CHECK(plain.size() == 5);
  CHECK(plain.at("q_proj.weight") == Shape{4 * (16 + 16), 64});
  CHECK(plain.at("kv_a_proj_with_mqa.weight") == Shape{32 + 16, 64});  // latent + ONE rope key, any H
  CHECK(plain.at("kv_a_layernorm.weight") == Shape{32});
  CHECK(plain.at("kv_b_proj.weight") == Shape{4 * (16 + 32), 32});
  CHECK(plain.at("o_proj.weight") == Shape{64, 4 * 32});
  const auto lora = shapes({"mla.q_lora_rank=24"});
  CHECK(lora.count("q_proj.weight") == 0);
  CHECK(lora.at("q_a_proj.weight") == Shape{24, 64});
  CHECK(lora.at("q_a_layernorm.weight") == Shape{24});
  CHECK(lora.at("q_b_proj.weight") == Shape{2 * (16 + 16), 24});
}

TEST_CASE("mla: bad options are refused naming the key", "[mla]") {
  MixerContext ctx;
  ctx.d_model = 16;
  Generator gen(1);
  auto make = [&](const std::string& arg) { return find_mixer("mla").make(parse_options(mixer_options(), {arg}), ctx, gen); };
  REQUIRE_THROWS_WITH(make("mla.n_heads=0"), Catch::Contains("mla.n_heads"));
  REQUIRE_THROWS_WITH(make("mla.q_lora_rank=-1"), Catch::Contains("mla.q_lora_rank"));
  REQUIRE_THROWS_WITH(make("mla.kv_lora_rank=0"), Catch::Contains("mla.kv_lora_rank"));
  REQUIRE_THROWS_WITH(make("mla.qk_nope_dim=0"), Catch::Contains("mla.qk_nope_dim"));
  REQUIRE_THROWS_WITH(make("mla.qk_rope_dim=3"), Catch::Contains("mla.qk_rope_dim") && Catch::Contains("even"));
  REQUIRE_THROWS_WITH(make("mla.qk_rope_dim=0"), Catch::Contains("mla.qk_rope_dim"));
  REQUIRE_THROWS_WITH(make("mla.v_head_dim=0"), Catch::Contains("mla.v_head_dim"));
  REQUIRE_THROWS_WITH(make("mla.v_head_dim=300"), Catch::Contains("mla.v_head_dim") && Catch::Contains("256"));
  REQUIRE_THROWS_WITH(make("mla.rope_base=1"), Catch::Contains("mla.rope_base"));
  REQUIRE_THROWS_WITH(make("mla.norm_eps=-1"), Catch::Contains("mla.norm_eps"));
  REQUIRE_THROWS_WITH(make("mla.decode=fast"), Catch::Contains("mla.decode") && Catch::Contains("absorbed"));
  REQUIRE_NOTHROW(make("mla.q_lora_rank=8"));
}
