// `mixlab bench decode [--mixers a,b] [--contexts 1024,8192,32768] ...`: the
// decode-cost table of the literature, measured. For each mixer setup
// (cli/mixer_setups.h) and context length L: prefill L random tokens through
// the mixer's state, then time single-token steps. Reports tokens/s, the
// decode state the mixer accounts for (state_bytes: total and per token of
// context) and the bytes the allocator actually holds for that state.
// With --config CONFIG.ini (repeatable) the same is measured for whole models
// (LanguageModel::prefill, then step): hybrids against their pure stacks.
#include <omp.h>

#include <chrono>
#include <cstdio>

#include "autograd/allocator.h"
#include "autograd/ops.h"
#include "cli/bench.h"
#include "cli/mixer_setups.h"
#include "kernels/cpu/threads.h"
#include "train/experiment.h"

namespace mixlab::cli {

namespace {

struct DecodeResult {
  double tokens_per_s = 0;
  double held_mib = 0;  // allocator bytes in use for the state after the prefill
};

DecodeResult measure(SequenceMixer& m, int64_t B, int64_t L, int64_t D, int64_t steps) {
  NoGradGuard no_grad;
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  Generator gen(3);
  const size_t before = alloc.stats().bytes_in_use;
  auto state = m.init_state(B);
  constexpr int64_t kPiece = 2048;  // prefill in pieces: bounded activations for every mixer
  for (int64_t s = 0; s < L; s += kPiece) m.prefill(Tensor::randn({B, std::min(kPiece, L - s), D}, gen), *state);
  DecodeResult r;
  r.held_mib = static_cast<double>(alloc.stats().bytes_in_use - before) / 1048576.0;
  std::vector<Tensor> tokens;
  for (int64_t i = 0; i < steps; ++i) tokens.push_back(Tensor::randn({B, D}, gen));
  m.step(tokens.front(), *state);  // warm-up: first-call allocations are not decode cost
  const auto start = std::chrono::steady_clock::now();
  for (const Tensor& x : tokens) m.step(x, *state);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.tokens_per_s = static_cast<double>(B * steps) / seconds;
  return r;
}

DecodeResult measure_model(const LanguageModel& m, int64_t B, int64_t L, int64_t steps) {
  NoGradGuard no_grad;
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  Generator gen(3);
  auto random_ids = [&](int64_t n) {
    std::vector<int64_t> ids(n);
    for (int64_t& id : ids)
      id = std::min<int64_t>(m.vocab_size - 1, static_cast<int64_t>(Tensor::uniform({1}, gen, 0, m.vocab_size, DType::F64).item()));
    return ids;
  };
  const size_t before = alloc.stats().bytes_in_use;
  auto state = m.init_state(B);
  constexpr int64_t kPiece = 2048;
  for (int64_t s = 0; s < L; s += kPiece) {
    const int64_t n = std::min(kPiece, L - s);
    m.prefill(Tensor::from_indices(random_ids(B * n), {B, n}), state);
  }
  DecodeResult r;
  r.held_mib = static_cast<double>(alloc.stats().bytes_in_use - before) / 1048576.0;
  const std::vector<int64_t> tokens = random_ids(B * steps);
  m.step(Tensor::from_indices(std::vector<int64_t>(tokens.begin(), tokens.begin() + B), {B}), state);  // warm-up
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i)
    m.step(Tensor::from_indices(std::vector<int64_t>(tokens.begin() + i * B, tokens.begin() + (i + 1) * B), {B}), state);
  r.tokens_per_s = static_cast<double>(B * steps) / std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return r;
}

int run_model_decode(const std::vector<std::string>& configs, const std::vector<int64_t>& contexts, int64_t B,
                     int64_t steps, int threads) {
  // Models are built (and refused) before anything is measured.
  std::vector<std::pair<std::string, std::unique_ptr<LanguageModel>>> models;
  for (const std::string& config : configs) {
    try {
      models.emplace_back(config, Experiment::load(config).build_model());
    } catch (const Error& e) {
      throw UsageError(std::string("bench decode: ") + e.what());
    }
    const LanguageModel& m = *models.back().second;
    if (!m.first_non_causal_mixer().empty())
      throw UsageError("bench decode: " + config + ": mixer '" + m.first_non_causal_mixer() + "' has no decode form");
    int64_t longest = 0;
    for (int64_t L : contexts) longest = std::max(longest, L + steps + 1);  // + the warm-up step
    if (m.pos_embed && longest > m.max_seq_len)
      throw UsageError("bench decode: " + config + " has " + std::to_string(m.max_seq_len) +
                       " learned positions, fewer than context + steps (" + std::to_string(longest) +
                       "); use positions none/sinusoidal or RoPE for decode benchmarks");
  }
  std::printf("mixlab bench decode: whole models, batch %lld, F32, %s, %lld timed steps\n",
              static_cast<long long>(B), count_of(threads, "thread").c_str(), static_cast<long long>(steps));
  std::printf("%-40s %10s %8s | %10s | %12s %12s\n", "config", "params", "context", "tokens/s", "state MiB", "held MiB");
  for (auto& [config, model] : models) {
    model->eval();
    for (int64_t L : contexts) {
      const DecodeResult r = measure_model(*model, B, L, steps);
      std::printf("%-40s %9.2fM %8lld | %10.1f | %12.2f %12.2f\n", config.c_str(),
                  static_cast<double>(model->num_parameters()) / 1e6, static_cast<long long>(L), r.tokens_per_s,
                  static_cast<double>(model->state_bytes(L)) / 1048576.0, r.held_mib / static_cast<double>(B));
      std::fflush(stdout);
    }
  }
  return 0;
}

int run_decode_benchmark(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab bench decode [options]");
  options.add_options()("help,h", "print this help")("threads", po::value<int>()->default_value(omp_get_max_threads()),
                                                      "threads")(
      "mixers", po::value<std::string>()->default_value(""), "comma-separated setups (default: all decodable)")(
      "contexts", po::value<std::string>()->default_value("1024,8192,32768"), "context lengths L")(
      "d-model", po::value<int64_t>()->default_value(512), "model width")(
      "batch", po::value<int64_t>()->default_value(1), "sequences decoded together")(
      "steps", po::value<int64_t>()->default_value(64), "timed decode steps after the prefill")(
      "config", po::value<std::vector<std::string>>(), "whole models from experiment configs instead of mixers "
                                                        "(repeatable; positions must reach the longest context)");
  po::variables_map vm;
  parse_args("bench decode", args, options, nullptr, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab bench decode [--mixers a,b] [--contexts 1024,8192,32768] [--d-model 512] [--batch 1] "
                "[--steps 64] [--threads N]\n");
    std::printf("setups:");
    for (const MixerSetup& s : mixer_setups()) std::printf(" %s", s.label.c_str());
    std::printf("\n");
    return 0;
  }
  const int threads = vm["threads"].as<int>();
  const int64_t D = vm["d-model"].as<int64_t>(), B = vm["batch"].as<int64_t>(), steps = vm["steps"].as<int64_t>();
  if (threads < 1 || D < 1 || B < 1 || steps < 1)
    throw UsageError("bench decode: --threads, --d-model, --batch and --steps must be >= 1");
  const std::vector<int64_t> contexts = parse_positive_list("bench decode", "--contexts", vm["contexts"].as<std::string>());
  const std::vector<MixerSetup> setups = select_mixer_setups("bench decode", vm["mixers"].as<std::string>());
  cpu::set_compute_threads(threads);
  int64_t longest = 0;
  for (int64_t L : contexts) longest = std::max(longest, L);
  if (vm.count("config")) return run_model_decode(vm["config"].as<std::vector<std::string>>(), contexts, B, steps, threads);

  std::printf("mixlab bench decode: one mixer layer, d_model %lld, batch %lld, F32, %s, %lld timed steps\n",
              static_cast<long long>(D), static_cast<long long>(B), count_of(threads, "thread").c_str(),
              static_cast<long long>(steps));
  std::printf("%-12s %8s | %10s | %12s %12s | %12s\n", "mixer", "context", "tokens/s", "state KiB", "B/token",
              "held KiB");
  for (const MixerSetup& setup : setups) {
    auto m = build_mixer_setup(setup, D, longest + steps);
    if (!m->traits().has_decode) {
      std::printf("%-12s %8s | no decode form (not causal)\n", setup.label.c_str(), "-");
      continue;
    }
    m->train(false);
    for (int64_t L : contexts) {
      const DecodeResult r = measure(*m, B, L, D, steps);
      const double state = static_cast<double>(m->state_bytes(L));
      std::printf("%-12s %8lld | %10.0f | %12.1f %12.1f | %12.1f\n", setup.label.c_str(), static_cast<long long>(L),
                  r.tokens_per_s, state / 1024.0, state / static_cast<double>(L), 1024.0 * r.held_mib / B);
      std::fflush(stdout);
    }
  }
  std::printf("state: the mixer's own accounting (state_bytes, per sequence); held: what the allocator holds per "
              "sequence after the prefill (caches grow with spare room)\n");
  return 0;
}

}  // namespace

MIXLAB_REGISTER_BENCHMARK(decode, "decode tokens/s and state bytes per mixer at contexts 1k..32k",
                          run_decode_benchmark);

}  // namespace mixlab::cli
