// The mixer conformance suite: every mixer in the registry, with its default
// options and each of its declared variants, is checked for the contract in
// layers/mixers/mixer.h. A new mixer gets all of this by registering.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/ops.h"
#include "layers/init.h"
#include "layers/mixers/registry.h"
#include "tests/autograd/gradcheck.h"
#include "tests/cuda_test_util.h"
#include "tests/layers/param_gradcheck.h"

using namespace mixlab;

namespace {

constexpr int64_t kDModel = 8, kBatch = 2, kSeq = 7;

// One setting of a mixer: its spec and "key=value" settings (a preset's
// defaults first), run as the Catch2 section `group` > `label`.
struct Variant {
  const MixerSpec* spec;
  std::vector<std::string> settings;
  std::string label;
};

struct VariantGroup {
  std::string name;  // the mixer or preset
  std::vector<Variant> variants;
};

std::string label_of(const std::vector<std::string>& settings) {
  std::string s;
  for (const std::string& a : settings) s += (s.empty() ? "" : " ") + a;
  return s.empty() ? "defaults" : s;
}

// Every registered mixer with its defaults and declared variants, and every
// preset with its settings.
const std::vector<VariantGroup>& variant_groups() {
  static const std::vector<VariantGroup> groups = [] {
    std::vector<VariantGroup> out;
    for (const MixerSpec& spec : mixer_registry()) {
      VariantGroup g{spec.name, {{&spec, {}, "defaults"}}};
      for (const auto& v : spec.conformance_variants) g.variants.push_back({&spec, v, label_of(v)});
      out.push_back(std::move(g));
    }
    for (const MixerPreset& preset : mixer_presets())
      out.push_back({preset.name, {{&find_mixer(preset.mixer), preset.settings, "defaults"}}});
    return out;
  }();
  return groups;
}

// Runs `check` on every variant, each in a section of its own: run one mixer
// with `mixlab_tests "[conformance]" -c mamba2`, one variant with
// `-c mamba2 -c "d_state=3 headdim=4 ngroups=2 chunk_size=3"`.
template <typename Check>
void for_each_variant(Check&& check) {
  for (const VariantGroup& group : variant_groups()) {
    DYNAMIC_SECTION(group.name) {
      for (const Variant& v : group.variants) {
        DYNAMIC_SECTION(v.label) { check(v); }
      }
    }
  }
}

std::vector<std::string> options_of(const Variant& v) {
  std::vector<std::string> args;
  for (const std::string& s : v.settings) args.push_back(v.spec->name + "." + s);
  return args;
}

std::shared_ptr<SequenceMixer> build(const Variant& v, uint64_t seed = 17, DType dtype = DType::F32) {
  MixerContext ctx;
  ctx.d_model = kDModel;
  ctx.n_layers = 2;
  ctx.max_seq_len = 64;
  Generator gen(seed);
  auto m = v.spec->make(parse_options(mixer_options(), options_of(v)), ctx, gen);
  if (dtype != DType::F32) m->to(dtype);
  return m;
}

double rel_error(const Tensor& out, const Tensor& ref) { return testing::rel_err(ref.to_vector(), out.to_vector()); }

Tensor input(DType dtype, int64_t B = kBatch, int64_t T = kSeq, uint64_t seed = 3) {
  Generator gen(seed);
  return Tensor::randn({B, T, kDModel}, gen, dtype);
}

// Larger random parameters than the N(0, 0.02) init, so no term of the mixer
// is numerically negligible in the comparisons below.
void randomise(SequenceMixer& m) {
  Generator gen(23);
  for (const Tensor& p : m.parameters()) uniform_(p, -0.5, 0.5, gen);
}

}  // namespace

TEST_CASE("conformance: every mixer preserves shape and is deterministic by seed", "[mixers][conformance]") {
  for_each_variant([&](const Variant& v) {
    auto a = build(v), b = build(v);
    Tensor x = input(DType::F32);
    Tensor ya = a->forward(x), yb = b->forward(x);
    CHECK(ya.shape() == x.shape());
    CHECK(ya.to_vector() == yb.to_vector());
    CHECK(a->name() == v.spec->name);
  });
}

TEST_CASE("conformance: causal mixers never look ahead", "[mixers][conformance]") {
  for_each_variant([&](const Variant& v) {
    auto m = build(v, 17, DType::F64);
    randomise(*m);
    if (!m->traits().causal) return;
    NoGradGuard no_grad;
    Tensor x = input(DType::F64);
    std::vector<double> changed = x.to_vector();
    const int64_t t0 = 4;
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t c = 0; c < kDModel; ++c) changed[(b * kSeq + t0) * kDModel + c] += 1.0;
    std::vector<double> y0 = m->forward(x).to_vector();
    std::vector<double> y1 = m->forward(Tensor::from_vector(changed, x.shape(), DType::F64)).to_vector();
    // Earlier outputs must not move beyond rounding: exactly not for the
    // direct forms, while an FFT convolution (baseconv, h3, hyena with conv =
    // fft) lets every input reach every output at the level of F64 rounding
    // of the whole sequence's scale. A look-ahead moves them by O(1).
    double scale = 0;
    for (double y : y0) scale = std::max(scale, std::abs(y));
    for (int64_t b = 0; b < kBatch; ++b)
      for (int64_t t = 0; t < kSeq; ++t) {
        double diff = 0;
        for (int64_t c = 0; c < kDModel; ++c) {
          size_t i = (b * kSeq + t) * kDModel + c;
          diff += std::abs(y1[i] - y0[i]);
        }
        if (t < t0)
          CHECK(diff <= 1e-13 * kDModel * scale);
        else if (t == t0)
          CHECK(diff > 0.0);  // the change is seen from its own position on
      }
  });
}

TEST_CASE("conformance: forward equals the F64 plain-loop reference", "[mixers][conformance]") {
  for_each_variant([&](const Variant& v) {
    NoGradGuard no_grad;
    auto m64 = build(v, 17, DType::F64);
    randomise(*m64);
    Tensor x64 = input(DType::F64);
    CHECK(rel_error(m64->forward(x64), m64->reference_forward(x64)) < 1e-12);
    // The F32 fast path against the reference on the same (F32) parameters.
    auto m32 = build(v);
    Tensor x32 = input(DType::F32);
    CHECK(rel_error(m32->forward(x32), m32->reference_forward(x32.to(DType::F64))) < 1e-5);
  });
}

TEST_CASE("conformance: F64 finite-difference gradients for input and parameters", "[mixers][conformance]") {
  for_each_variant([&](const Variant& v) {
    auto m = build(v, 17, DType::F64);
    randomise(*m);
    testing::check_gradients({v.spec->name + " " + v.label, {{kBatch, 5, kDModel}}, [&m](const std::vector<Tensor>& in) {
                                return m->forward(in[0]);
                              }});
    Tensor x = input(DType::F64, kBatch, 5);
    testing::check_parameter_gradients(*m, [&] { return m->forward(x); });
  });
}

TEST_CASE("conformance: step-by-step decoding equals the parallel forward", "[mixers][conformance]") {
  for_each_variant([&](const Variant& v) {
    auto m = build(v, 17, DType::F64);
    if (!m->traits().has_decode) return;
    randomise(*m);
    NoGradGuard no_grad;
    Tensor x = input(DType::F64);
    Tensor full = m->forward(x);
    auto state = m->init_state(kBatch);
    std::vector<Tensor> steps;
    for (int64_t t = 0; t < kSeq; ++t) {
      Tensor y = m->step(slice(x, 1, t, t + 1).reshape({kBatch, kDModel}), *state);
      REQUIRE(y.shape() == Shape{kBatch, kDModel});
      steps.push_back(y.reshape({kBatch, 1, kDModel}));
    }
    CHECK(state->position == kSeq);
    CHECK(rel_error(concat(steps, 1), full) < 1e-12);
    CHECK(m->state_bytes(kSeq) >= 0);
  });
}

TEST_CASE("conformance: prefill in pieces, then decoding, equals the parallel forward", "[mixers][conformance]") {
  // Pieces of 3, 1 and 2 tokens through prefill (the path generation and
  // chunked prompt processing use), then one step: state carries across calls.
  for_each_variant([&](const Variant& v) {
    auto m = build(v, 17, DType::F64);
    if (!m->traits().has_decode) return;
    randomise(*m);
    NoGradGuard no_grad;
    Tensor x = input(DType::F64);
    Tensor full = m->forward(x);
    auto state = m->init_state(kBatch);
    std::vector<Tensor> pieces;
    for (auto [s, e] : {std::pair<int64_t, int64_t>{0, 3}, {3, 4}, {4, 6}}) {
      Tensor y = m->prefill(slice(x, 1, s, e), *state);
      REQUIRE(y.shape() == Shape{kBatch, e - s, kDModel});
      CHECK(state->position == e);
      pieces.push_back(y);
    }
    pieces.push_back(m->step(slice(x, 1, 6, 7).reshape({kBatch, kDModel}), *state).reshape({kBatch, 1, kDModel}));
    CHECK(rel_error(concat(pieces, 1), full) < 1e-12);
  });
}

TEST_CASE("conformance: batch rows are independent", "[mixers][conformance]") {
  for_each_variant([&](const Variant& v) {
    auto m = build(v, 17, DType::F64);
    randomise(*m);
    NoGradGuard no_grad;
    Tensor x = input(DType::F64, 3);
    Tensor all = m->forward(x);
    for (int64_t b = 0; b < 3; ++b) {
      Tensor alone = m->forward(slice(x, 0, b, b + 1));
      CHECK(rel_error(alone, slice(all, 0, b, b + 1)) < 1e-13);
    }
  });
}

TEST_CASE("conformance: state bytes are the bytes of the decode state's tensors", "[mixers][conformance]") {
  // state_bytes(T) is the x axis of the recall-vs-state figures: after a
  // prefill of T tokens (in pieces, past every window and chunk of the
  // variants), the state's tensors must hold exactly that many F32 bytes per
  // sequence, and it never shrinks with context.
  for_each_variant([&](const Variant& v) {
    auto m = build(v);
    CHECK(m->state_bytes(8192) >= m->state_bytes(1024));
    if (!m->traits().has_decode) {
      CHECK(m->state_bytes(1024) == 0);
      return;
    }
    NoGradGuard no_grad;
    const Tensor x = input(DType::F32, kBatch, 20);
    auto state = m->init_state(kBatch);
    int64_t done = 0;
    for (int64_t piece : {1, 2, 4, 6, 7}) {
      m->prefill(slice(x, 1, done, done + piece), *state);
      done += piece;
      int64_t elements = 0;
      for (const Tensor& t : state->tensors())
        if (t.defined()) elements += t.numel();
      INFO("after " << done << " tokens");
      CHECK(elements % kBatch == 0);
      CHECK(elements / kBatch * 4 == m->state_bytes(done));
    }
  });
}

TEST_CASE("conformance: the variants reach every choice of every option", "[mixers][conformance]") {
  // The option tables list the finite choices of each key (forms, kernels,
  // feature maps, booleans); each must be exercised by the defaults or a
  // declared variant, unless the CPU refuses it (a GPU-only kernel), so no
  // code path behind an option escapes the suite.
  for (const VariantGroup& group : variant_groups()) {
    const MixerSpec& spec = *group.variants.front().spec;
    if (group.name != spec.name) continue;  // presets are settings of their mixer
    const po::variables_map defaults = parse_options(mixer_options());
    for (const auto& [key, choices] : spec.keys)
      for (const std::string& choice : choices) {
        bool reached = false;
        for (const Variant& v : group.variants) {
          const po::variables_map vm = parse_options(mixer_options(), options_of(v));
          std::ostringstream value;
          const boost::any& a = vm.at(spec.name + "." + key).value();
          if (const auto* b = boost::any_cast<bool>(&a)) value << (*b ? "true" : "false");
          if (const auto* str = boost::any_cast<std::string>(&a)) value << *str;
          reached = reached || value.str() == choice;
        }
        if (reached) continue;
        INFO(spec.name << "." << key << " = " << choice << " is reached by no variant");
        bool runs_on_cpu = true;
        try {
          build({&spec, {key + "=" + choice}, ""})->forward(input(DType::F32));
        } catch (const Error&) {
          runs_on_cpu = false;
        }
        CHECK_FALSE(runs_on_cpu);
      }
  }
}

TEST_CASE("conformance: every mixer on a GPU equals the CPU (forward, gradients, decoding)", "[mixers][cuda]") {
  MIXLAB_REQUIRE_CUDA();
  test::allow_unverified_kernels();
  const Device gpu = Device::cuda();
  for_each_variant([&](const Variant& v) {
    auto cpu_mixer = build(v, 17, DType::F64), gpu_mixer = build(v, 17, DType::F64);
    randomise(*cpu_mixer);
    randomise(*gpu_mixer);
    gpu_mixer->to(gpu);
    // 37 tokens: more than one attention tile and scan chunk of most variants.
    const Tensor x = input(DType::F64, kBatch, 37), up = input(DType::F64, kBatch, 37, 5);
    Tensor cx = x.detach().requires_grad_(true), gx = x.to(gpu).requires_grad_(true);
    Tensor cy = cpu_mixer->forward(cx), gy = gpu_mixer->forward(gx);
    REQUIRE(gy.device() == gpu);
    CHECK(test::relative_difference(gy, cy) < 1e-10);
    cy.backward(up);
    gy.backward(up.to(gpu));
    CHECK(test::relative_difference(gx.grad(), cx.grad()) < 1e-10);
    const auto cpu_params = cpu_mixer->named_parameters(), gpu_params = gpu_mixer->named_parameters();
    for (size_t i = 0; i < cpu_params.size(); ++i) {
      INFO(cpu_params[i].first);
      if (cpu_params[i].second.grad().defined())
        CHECK(test::relative_difference(gpu_params[i].second.grad(), cpu_params[i].second.grad()) < 1e-10);
    }
    if (!gpu_mixer->traits().has_decode) return;
    NoGradGuard no_grad;
    auto state = gpu_mixer->init_state(kBatch);
    std::vector<Tensor> pieces{gpu_mixer->prefill(slice(x, 1, 0, 30).to(gpu), *state)};
    for (int64_t t = 30; t < 37; ++t)
      pieces.push_back(gpu_mixer->step(slice(x, 1, t, t + 1).reshape({kBatch, kDModel}).to(gpu), *state)
                           .reshape({kBatch, 1, kDModel}));
    CHECK(test::relative_difference(concat(pieces, 1), cy) < 1e-10);
  });
}

TEST_CASE("registry: unknown mixer names list the allowed ones", "[mixers]") {
  REQUIRE_THROWS_WITH(find_mixer("nope"), Catch::Contains("nope") && Catch::Contains("mha") &&
                                              Catch::Contains("shortconv"));
  REQUIRE_THROWS_WITH(parse_options(mixer_options(), {"--mha.n_heads=two"}), Catch::Contains("mha.n_heads"));
  REQUIRE_THROWS_AS(build({&find_mixer("mha"), {"n_heads=3"}, ""}), Error);
}

TEST_CASE("swa: row i attends exactly min(i+1, W) keys", "[mixers][swa]") {
  // A key's influence reaches exactly the queries whose window holds it, so
  // perturbing input j changes outputs j .. j+W-1 and nothing else: each row
  // therefore attends exactly the keys max(0, i-W+1) .. i.
  const int64_t T = 12;
  for (int64_t W : {1, 3, 5, 12, 20}) {
    INFO("window " << W);
    MixerContext ctx;
    ctx.d_model = kDModel;
    Generator gen(5);
    auto m = make_layer_mixer("swa", parse_options(mixer_options(), {"swa.window=" + std::to_string(W)}), ctx, gen);
    m->to(DType::F64);
    randomise(*m);
    NoGradGuard no_grad;
    Tensor x = input(DType::F64, 1, T);
    const std::vector<double> base = m->forward(x).to_vector();
    std::vector<int64_t> attended(T, 0);  // inputs each output row moved with
    for (int64_t j = 0; j < T; ++j) {
      std::vector<double> v = x.to_vector();
      for (int64_t c = 0; c < kDModel; ++c) v[j * kDModel + c] += 0.5;
      const std::vector<double> y = m->forward(Tensor::from_vector(v, x.shape(), DType::F64)).to_vector();
      for (int64_t i = 0; i < T; ++i) {
        double diff = 0;
        for (int64_t c = 0; c < kDModel; ++c) diff += std::abs(y[i * kDModel + c] - base[i * kDModel + c]);
        if (diff > 0) ++attended[i];
      }
    }
    for (int64_t i = 0; i < T; ++i) CHECK(attended[i] == std::min<int64_t>(i + 1, W));
    CHECK(m->state_bytes(1000) == m->state_bytes(std::max<int64_t>(W, 1)));  // constant once the window is full
  }
}
