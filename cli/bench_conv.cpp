// `mixlab bench conv [--threads N] [--batch B] [--channels C] [--lengths L,..] [--rounds R]`:
// the causal long convolution (autograd/ops/long_conv.h) with a filter as
// long as the sequence (K = L, the long-conv mixers' case), forward +
// backward (input and filter gradients), FFT path against the direct path.
// Each round times both, alternately, on the same inputs, so a load change
// on a shared machine hits both; the table gives the median and the range of
// the per-round ratios, of the process's CPU time (all threads; on a
// shared machine a preempted run's wall time also counts other processes'
// slices, which long runs suffer more than short ones) and of wall time. The FFT cost should grow as L log L: the column
// "fft / L log L" divides its time by B·C·L·log2 L (ns) and should stay
// roughly flat, while the direct path's "direct / L²" does the same for its
// B·C·L²/2 multiply-adds.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cmath>
#include <cstdio>
#include <vector>

#include "autograd/ops.h"
#include "autograd/ops/long_conv.h"
#include "cli/bench.h"
#include "kernels/cpu/threads.h"

namespace mixlab::cli {

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

struct Timing {
  double cpu, wall;
};

Timing time_once(const Tensor& x0, const Tensor& h0, const Tensor& g, LongConvAlgorithm algorithm) {
  Tensor x = x0.detach(), h = h0.detach();
  x.requires_grad_();
  h.requires_grad_();
  const double cpu = cpu_seconds();
  const auto start = std::chrono::steady_clock::now();
  Tensor y = long_conv(x, h, algorithm);
  y.backward(g);
  return {cpu_seconds() - cpu, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()};
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int run_conv_benchmark(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab bench conv [options]");
  options.add_options()("help,h", "print this help")(
      "threads", po::value<int>()->default_value(omp_get_max_threads()), "threads")(
      "batch", po::value<int64_t>()->default_value(2), "batch B")(
      "channels", po::value<int64_t>()->default_value(16), "channels C")(
      "lengths", po::value<std::string>()->default_value("64,128,256,512,1024,2048,4096"),
      "sequence lengths L (the filter has L taps)")("rounds", po::value<int64_t>()->default_value(5),
                                                    "alternating rounds per length (the median is reported)");
  po::variables_map vm;
  parse_args("bench conv", args, options, nullptr, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab bench conv [--threads N] [--batch B] [--channels C] [--lengths L,..] [--rounds R]\n");
    return 0;
  }
  const int threads = vm["threads"].as<int>();
  if (threads < 1) throw UsageError("bench conv: --threads must be >= 1");
  const int64_t B = vm["batch"].as<int64_t>(), C = vm["channels"].as<int64_t>(), rounds = vm["rounds"].as<int64_t>();
  if (B < 1 || C < 1 || rounds < 1) throw UsageError("bench conv: --batch, --channels and --rounds must be >= 1");
  const std::vector<int64_t> lengths = parse_positive_list("bench conv", "--lengths", vm["lengths"].as<std::string>());
  cpu::set_compute_threads(threads);

  std::printf("mixlab bench conv: FP32 causal long convolution, forward + backward (dx, dh), B %lld, C %lld, K = L, "
              "%d threads, %lld alternating rounds (median; [min, max] of the per-round ratio)\n",
              static_cast<long long>(B), static_cast<long long>(C), threads, static_cast<long long>(rounds));
  std::printf("%6s | %9s %10s | %8s %17s | %9s %17s | %12s %12s\n", "L", "fft cpu", "direct cpu", "speedup",
              "[min, max]", "wall", "[min, max]", "fft/LlogL", "direct/L²");
  std::printf("%6s | %9s %10s | %8s %17s | %9s %17s | %12s %12s\n", "", "ms", "ms", "cpu", "", "speedup", "",
              "cpu ns", "cpu ns");
  for (int64_t L : lengths) {
    Generator gen(1);
    const Tensor x = Tensor::randn({B, L, C}, gen), h = mul(Tensor::randn({C, L}, gen), 0.05).detach(),
                 g = Tensor::randn({B, L, C}, gen);
    time_once(x, h, g, LongConvAlgorithm::Fft);  // plans and buffers, outside the timing
    std::vector<double> fft, direct, ratio, wall_ratio;
    for (int64_t r = 0; r < rounds; ++r) {
      const Timing f = time_once(x, h, g, LongConvAlgorithm::Fft);
      const Timing d = time_once(x, h, g, LongConvAlgorithm::Direct);
      fft.push_back(f.cpu);
      direct.push_back(d.cpu);
      ratio.push_back(d.cpu / f.cpu);
      wall_ratio.push_back(d.wall / f.wall);
    }
    const double f = median(fft), d = median(direct), work = static_cast<double>(B * C);
    std::printf("%6lld | %9.3f %10.3f | %7.2fx [%6.2f, %7.2f] | %8.2fx [%6.2f, %7.2f] | %12.3f %12.4f\n",
                static_cast<long long>(L), 1e3 * f, 1e3 * d, median(ratio), *std::min_element(ratio.begin(), ratio.end()),
                *std::max_element(ratio.begin(), ratio.end()), median(wall_ratio),
                *std::min_element(wall_ratio.begin(), wall_ratio.end()),
                *std::max_element(wall_ratio.begin(), wall_ratio.end()), 1e9 * f / (work * L * std::log2(double(L))),
                1e9 * d / (work * 0.5 * double(L) * double(L)));
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

MIXLAB_REGISTER_BENCHMARK(conv, "causal long convolution, FFT vs direct, forward+backward, L 64..4096",
                          run_conv_benchmark);

}  // namespace mixlab::cli
