// The long-convolution mixers (baseconv, h3, hyena) beyond the conformance
// suite: the FFT and direct convolution paths give the same layer (and its
// F64 reference) at a length where `auto` picks the FFT; sequences longer
// than the filter and inconsistent options are refused with one line.
#include <catch2/catch.hpp>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"

using namespace mixlab;
using mixlab::testing::rel_err;

namespace {

std::shared_ptr<SequenceMixer> build(const std::string& mixer, std::vector<std::string> settings, int64_t l_max = 48) {
  MixerContext ctx;
  ctx.section = mixer;
  ctx.d_model = 8;
  ctx.n_layers = 2;
  ctx.max_seq_len = l_max;
  for (std::string& s : settings) s = mixer + "." + s;
  Generator gen(5);
  auto m = find_mixer(mixer).make(parse_options(mixer_options(), settings), ctx, gen);
  m->to(DType::F64);
  Generator values(9);
  for (const Tensor& p : m->parameters()) uniform_(p, -0.5, 0.5, values);
  return m;
}

}  // namespace

TEST_CASE("long-conv mixers: FFT and direct convolution give the same layer", "[mixers][long_conv]") {
  Generator gen(3);
  const Tensor x = Tensor::randn({2, 40, 8}, gen, DType::F64);
  for (const std::string mixer : {"baseconv", "h3", "hyena"}) {
    for (const std::string extra : {"", "filter=explicit", "head_dim=2"}) {
      if ((extra == "filter=explicit" && mixer != "baseconv") || (extra == "head_dim=2" && mixer != "h3")) continue;
      INFO(mixer << " " << extra);
      std::vector<std::string> fft{"conv=fft"}, direct{"conv=direct"};
      if (!extra.empty()) {
        fft.push_back(extra);
        direct.push_back(extra);
      }
      NoGradGuard no_grad;
      const Tensor a = build(mixer, fft)->forward(x), b = build(mixer, direct)->forward(x);
      CHECK(rel_err(b.to_vector(), a.to_vector()) < 1e-12);
      CHECK(rel_err(build(mixer, fft)->reference_forward(x).to_vector(), a.to_vector()) < 1e-12);
    }
  }
}

TEST_CASE("long-conv mixers: a sequence longer than the filter is refused", "[mixers][long_conv]") {
  Generator gen(3);
  const Tensor x = Tensor::randn({1, 20, 8}, gen, DType::F64);
  for (const std::string mixer : {"baseconv", "hyena"})
    CHECK_THROWS_WITH(build(mixer, {}, 16)->forward(x),
                      Catch::Contains(mixer + ": sequence of 20 tokens is longer than the filter (max_seq_len 16)"));
}

TEST_CASE("long-conv mixers: options that depend on each other are checked with the key", "[mixers][long_conv]") {
  CHECK_THROWS_WITH(build("h3", {"head_dim=3"}), Catch::Contains("h3.head_dim: d_model 8 is not divisible by head_dim 3"));
  CHECK_THROWS_WITH(build("baseconv", {"d_emb=4"}), Catch::Contains("baseconv.d_emb = 4 is not allowed (allowed: odd"));
  CHECK_THROWS_WITH(build("hyena", {"emb_dim=6"}), Catch::Contains("hyena.emb_dim = 6 is not allowed (allowed: odd"));
}
