// `mixlab bench mixers [--mixers a,b] [--lengths 256,1024,4096,16384] ...`:
// one mixer layer's forward+backward time and peak memory against sequence
// length for every setup of cli/mixer_setups.h, next to the fused softmax
// attention (`mha`), and the crossover length where each mixer gets faster
// than it (interpolated log-log between the measured lengths).
#include <omp.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "autograd/allocator.h"
#include "autograd/ops.h"
#include "cli/bench.h"
#include "cli/mixer_setups.h"
#include "kernels/cpu/threads.h"

namespace mixlab::cli {

namespace {

struct Timing {
  double seconds = std::numeric_limits<double>::infinity();
  double peak_mib = 0;
};

// Best of `repeat` forward+backward passes of x (B,T,D) through m, with the
// peak memory above what was in use before.
Timing time_forward_backward(SequenceMixer& m, int64_t B, int64_t T, int64_t D, int repeat) {
  auto& alloc = CachingAllocator::for_device(Device::cpu());
  Generator gen(5);
  Tensor x = Tensor::randn({B, T, D}, gen);
  Timing r;
  for (int i = 0; i < repeat; ++i) {
    m.zero_grad();
    Tensor xi = x.detach().requires_grad_();
    alloc.reset_peak();
    const size_t before = alloc.stats().bytes_in_use;
    const auto start = std::chrono::steady_clock::now();
    Tensor y = m.forward(xi);
    y.backward(Tensor::ones(y.shape()));
    r.seconds = std::min(r.seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    r.peak_mib = static_cast<double>(alloc.stats().peak_bytes_in_use - before) / 1048576.0;
  }
  return r;
}

// The length where `times` first drops below `reference` (log-log
// interpolation between neighbours), or a negative value when it never does.
double crossover(const std::vector<int64_t>& lengths, const std::vector<double>& times,
                 const std::vector<double>& reference) {
  for (size_t i = 0; i < lengths.size(); ++i) {
    if (!std::isfinite(times[i])) return -1;  // not measured from here on
    const double gap = std::log(times[i] / reference[i]);
    if (gap >= 0) continue;
    if (i == 0) return static_cast<double>(lengths[0]);  // faster from the shortest length on
    const double before = std::log(times[i - 1] / reference[i - 1]);
    const double f = before / (before - gap);
    return std::exp(std::log(static_cast<double>(lengths[i - 1])) +
                    f * (std::log(static_cast<double>(lengths[i])) - std::log(static_cast<double>(lengths[i - 1]))));
  }
  return -1;
}

int run_mixers_benchmark(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab bench mixers [options]");
  options.add_options()("help,h", "print this help")("threads", po::value<int>()->default_value(omp_get_max_threads()),
                                                      "threads")(
      "mixers", po::value<std::string>()->default_value(""), "comma-separated setups (default: all)")(
      "lengths", po::value<std::string>()->default_value("256,1024,4096,16384"), "sequence lengths T")(
      "d-model", po::value<int64_t>()->default_value(512), "model width")(
      "batch", po::value<int64_t>()->default_value(1), "sequences per pass");
  po::variables_map vm;
  parse_args("bench mixers", args, options, nullptr, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab bench mixers [--mixers a,b] [--lengths 256,1024,4096,16384] [--d-model 512] "
                "[--batch 1] [--threads N]\n");
    std::printf("setups:");
    for (const MixerSetup& s : mixer_setups()) std::printf(" %s", s.label.c_str());
    std::printf("\n");
    return 0;
  }
  const int threads = vm["threads"].as<int>();
  const int64_t D = vm["d-model"].as<int64_t>(), B = vm["batch"].as<int64_t>();
  if (threads < 1 || D < 1 || B < 1) throw UsageError("bench mixers: --threads, --d-model and --batch must be >= 1");
  const std::vector<int64_t> lengths = parse_positive_list("bench mixers", "--lengths", vm["lengths"].as<std::string>());
  std::vector<MixerSetup> setups = select_mixer_setups("bench mixers", vm["mixers"].as<std::string>());
  // The fused softmax attention is the yardstick: always measured, first.
  std::erase_if(setups, [](const MixerSetup& s) { return s.label == "mha"; });
  setups.insert(setups.begin(), select_mixer_setups("bench mixers", "mha").front());
  cpu::set_compute_threads(threads);
  int64_t longest = 0;
  for (int64_t T : lengths) longest = std::max(longest, T);

  std::printf("mixlab bench mixers: one mixer layer, forward+backward, d_model %lld, batch %lld, F32, %s\n",
              static_cast<long long>(D), static_cast<long long>(B), count_of(threads, "thread").c_str());
  std::printf("%-18s", "mixer");
  for (int64_t T : lengths) std::printf(" | T=%-6lld ms    MiB", static_cast<long long>(T));
  std::printf(" | faster than mha from T\n");
  std::vector<double> reference;
  for (const MixerSetup& setup : setups) {
    auto m = build_mixer_setup(setup, D, longest);
    std::vector<double> times;
    std::printf("%-18s", setup.label.c_str());
    for (int64_t T : lengths) {
      if (setup.max_train_length > 0 && T > setup.max_train_length) {
        times.push_back(std::numeric_limits<double>::infinity());  // never "faster"
        std::printf(" | %10s %7s", "-", "-");
        continue;
      }
      // Best of 2 (3 for short T): the first pass also pays first-touch allocations.
      const Timing t = time_forward_backward(*m, B, T, D, T <= 1024 ? 3 : 2);
      times.push_back(t.seconds);
      std::printf(" | %10.1f %7.1f", 1e3 * t.seconds, t.peak_mib);
      std::fflush(stdout);
    }
    m.reset();
    CachingAllocator::for_device(Device::cpu()).empty_cache();  // no setup inherits another's cached blocks
    if (reference.empty()) {
      reference = times;
      std::printf(" | (reference)\n");
      continue;
    }
    const double from = crossover(lengths, times, reference);
    if (from < 0)
      std::printf(" | not up to %lld\n", static_cast<long long>(setup.max_train_length > 0
                                                                 ? std::min(longest, setup.max_train_length)
                                                                 : longest));
    else
      std::printf(" | ~%.0f\n", from);
  }
  return 0;
}

}  // namespace

MIXLAB_REGISTER_BENCHMARK(mixers, "forward+backward time and memory of every mixer vs T, crossover vs attention",
                          run_mixers_benchmark);

}  // namespace mixlab::cli
