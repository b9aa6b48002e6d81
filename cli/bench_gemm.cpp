// `mixlab bench gemm`: FP32 GEMM throughput of each CPU backend (OpenBLAS,
// Eigen) on the matmul shapes of small language models, side by side and as a
// fraction of the FMA peak measured in the same run on the same threads.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cli/bench.h"
#include "cli/cpu_runtime.h"
#include "cli/peak_flops.h"
#include "kernels/cpu/fill.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/threads.h"

namespace mixlab::cli {

namespace {

namespace po = boost::program_options;
using cpu::GemmBackend;
using Clock = std::chrono::steady_clock;

// Tokens per step of the small models these shapes come from: batch 8 x 256.
constexpr int64_t kBatch = 8, kSeqLen = 256, kTokens = kBatch * kSeqLen;

struct GemmShape {
  std::string label;
  int64_t M, N, K;
  bool trans_a, trans_b;
  bool square;
  double flops() const { return 2.0 * static_cast<double>(M) * static_cast<double>(N) * static_cast<double>(K); }
  std::string op() const { return std::string(trans_a ? "T" : "N") + (trans_b ? "T" : "N"); }
};

// The three GEMMs of a Linear layer in -> out with weight w (out, in) on
// x (tokens, in): forward y = x w^T (NT), input gradient dx = dy w (NN),
// weight gradient dw = dy^T x (TN, reducing over the tokens).
void add_linear(std::vector<GemmShape>& shapes, const std::string& name, int64_t in, int64_t out) {
  shapes.push_back({name + " fwd  y=x.w^T", kTokens, out, in, false, true, false});
  shapes.push_back({name + " bwd dx=dy.w", kTokens, in, out, false, false, false});
  shapes.push_back({name + " bwd dw=dy^T.x", out, in, kTokens, true, false, false});
}

std::vector<GemmShape> gemm_shapes(bool quick) {
  std::vector<int64_t> widths = quick ? std::vector<int64_t>{64, 512} : std::vector<int64_t>{64, 128, 256, 512};
  std::vector<int64_t> squares = quick ? std::vector<int64_t>{512, 1024} : std::vector<int64_t>{512, 1024, 2048};
  std::vector<GemmShape> shapes;
  for (int64_t d : widths) {
    std::string model = "d=" + std::to_string(d);
    add_linear(shapes, model + " qkv/out d->d ", d, d);
    add_linear(shapes, model + " mlp up d->4d ", d, 4 * d);
    add_linear(shapes, model + " mlp dn 4d->d ", 4 * d, d);
  }
  for (int64_t n : squares) shapes.push_back({"square " + std::to_string(n), n, n, n, false, false, true});
  return shapes;
}

struct FloatBuffer {
  std::unique_ptr<float, decltype(&std::free)> data{nullptr, &std::free};
  explicit FloatBuffer(int64_t n) {
    size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;  // aligned_alloc wants a multiple
    data.reset(static_cast<float*>(std::aligned_alloc(64, bytes)));
    if (!data) throw std::bad_alloc();
  }
  float* get() const { return data.get(); }
};

// Operands big enough for every shape; each shape uses a prefix.
struct Operands {
  FloatBuffer a, b, c, check;
  explicit Operands(const std::vector<GemmShape>& shapes)
      : a(max_of(shapes, [](auto& s) { return s.M * s.K; })),
        b(max_of(shapes, [](auto& s) { return s.K * s.N; })),
        c(max_of(shapes, [](auto& s) { return s.M * s.N; })),
        check(max_of(shapes, [](auto& s) { return s.M * s.N; })) {
    // Values in [-1, 1]: no overflow or denormals to distort the timing.
    cpu::fill_uniform(a.get(), max_of(shapes, [](auto& s) { return s.M * s.K; }), 1, 0, -1.0, 1.0);
    cpu::fill_uniform(b.get(), max_of(shapes, [](auto& s) { return s.K * s.N; }), 2, 0, -1.0, 1.0);
  }
  template <typename F>
  static int64_t max_of(const std::vector<GemmShape>& shapes, F size) {
    int64_t m = 1;
    for (const auto& s : shapes) m = std::max(m, size(s));
    return m;
  }
};

void run_gemm(GemmBackend backend, const GemmShape& s, const Operands& ops, float* c) {
  cpu::gemm_with<float>(backend, s.trans_a, s.trans_b, s.M, s.N, s.K, 1.0f, ops.a.get(), 0, ops.b.get(), 0, 0.0f, c,
                        0, 1);
}

// GFLOP/s of the best of `repeat` timed runs. Each run repeats the call until
// it has taken at least `min_seconds`, so small shapes are not timer noise. An
// untimed warm-up run first warms caches, page mappings and the thread pools,
// and sets the call count (the very first call also pays for thread start-up).
double time_gemm(GemmBackend backend, const GemmShape& s, const Operands& ops, int repeat, double min_seconds) {
  auto run_calls = [&](int64_t calls) {
    auto t0 = Clock::now();
    for (int64_t i = 0; i < calls; ++i) run_gemm(backend, s, ops, ops.c.get());
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  auto calls_for = [&](double seconds_per_call) {
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(min_seconds / std::max(seconds_per_call, 1e-9))));
  };
  int64_t calls = calls_for(run_calls(1));
  calls = calls_for(run_calls(calls) / static_cast<double>(calls));
  double best = 0;
  for (int r = 0; r < repeat; ++r)
    best = std::max(best, s.flops() * static_cast<double>(calls) / run_calls(calls) / 1e9);
  return best;
}

// Largest ||C_b - C_ref|| / ||C_ref|| over the shapes: both backends must
// compute the same product, or the table compares nothing.
double max_backend_difference(GemmBackend backend, GemmBackend reference, const std::vector<GemmShape>& shapes,
                              const Operands& ops) {
  double worst = 0;
  for (const auto& s : shapes) {
    run_gemm(reference, s, ops, ops.check.get());
    run_gemm(backend, s, ops, ops.c.get());
    double diff = 0, norm = 0;
    for (int64_t i = 0; i < s.M * s.N; ++i) {
      double r = ops.check.get()[i], d = ops.c.get()[i] - r;
      diff += d * d;
      norm += r * r;
    }
    worst = std::max(worst, std::sqrt(diff / std::max(norm, 1e-300)));
  }
  return worst;
}

struct Options {
  int threads = 1;
  int repeat = 5;
  std::string backend = "both";
  bool quick = false;
};

std::vector<GemmBackend> backends_for(const std::string& choice) {
  std::vector<GemmBackend> chosen;
  for (GemmBackend b : {GemmBackend::OpenBLAS, GemmBackend::Eigen}) {
    bool wanted = choice == "both" || choice == cpu::gemm_backend_name(b);
    if (wanted && cpu::gemm_backend_available(b)) chosen.push_back(b);
    if (wanted && choice != "both" && !cpu::gemm_backend_available(b))
      throw UsageError(std::string("bench gemm: --backend ") + choice +
                       " is not built in (configure with -DMIXLAB_OPENBLAS=ON); allowed here: eigen");
  }
  return chosen;
}

int run_gemm_benchmark(const Args& args) {
  Options opt;
  opt.threads = available_processors();
  po::options_description desc("mixlab bench gemm options");
  desc.add_options()("help,h", "print this help and exit")(
      "threads", po::value<int>(&opt.threads)->default_value(opt.threads),
      "threads (1 to the processor count): cpu::gemm splits each product across them")(
      "repeat", po::value<int>(&opt.repeat)->default_value(opt.repeat),
      "timed runs per shape after one warm-up; the best is reported (2 with --quick)")(
      "backend", po::value<std::string>(&opt.backend)->default_value(opt.backend),
      "openblas, eigen or both")("quick", po::bool_switch(&opt.quick),
                                 "fewer shapes and shorter runs (a few seconds; for smoke tests)");
  po::variables_map vm;
  parse_args("bench gemm", args, desc, nullptr, vm);
  if (vm.count("help")) {
    std::cout << "usage: mixlab bench gemm [options]\n\n"
              << "FP32 GEMM GFLOP/s per backend on small-LM shapes (tokens " << kTokens << " = " << kBatch << " x "
              << kSeqLen << ", d_model 64..512) and squares,\nas % of the FMA peak measured in the same run.\n\n"
              << desc;
    return 0;
  }
  // Reject bad input before any work starts.
  if (opt.threads < 1 || opt.threads > available_processors())
    throw UsageError("bench gemm: --threads " + std::to_string(opt.threads) + " is out of range (allowed: 1 to " +
                     std::to_string(available_processors()) + ", the processors available)");
  if (opt.repeat < 1 || opt.repeat > 1000)
    throw UsageError("bench gemm: --repeat " + std::to_string(opt.repeat) + " is out of range (allowed: 1 to 1000)");
  if (opt.backend != "openblas" && opt.backend != "eigen" && opt.backend != "both")
    throw UsageError("bench gemm: --backend '" + opt.backend + "' is not one of: openblas, eigen, both");
  std::vector<GemmBackend> backends = backends_for(opt.backend);
  if (opt.quick && vm["repeat"].defaulted()) opt.repeat = 2;
  const double min_seconds = opt.quick ? 0.005 : 0.05;
  const double peak_seconds = opt.quick ? 0.05 : 0.2;

  // As the engine runs: cpu::gemm splits each product across our OpenMP
  // threads and keeps OpenBLAS single-threaded inside them.
  cpu::set_compute_threads(opt.threads);
  std::vector<GemmShape> shapes = gemm_shapes(opt.quick);
  Operands ops(shapes);

  std::printf("mixlab bench gemm: FP32, row-major C = op(A).op(B); GFLOP/s = 2.M.N.K / time,\n"
              "  best of %d timed runs (each >= %.0f ms of calls) after a warm-up; %d thread%s\n",
              opt.repeat, min_seconds * 1e3, opt.threads, opt.threads == 1 ? "" : "s");
  std::fflush(stdout);
  CpuTimes cpu_before = cpu_times();
  // The peak first: before any GEMM, no library's thread pool is spinning.
  PeakFlops peak = measure_peak_flops(opt.threads, peak_seconds);
  std::printf("peak: %.1f GFLOP/s on %d thread%s (%.1f per thread); %s FMA loop at ~%.2f GHz = %.1f flops/cycle/thread\n",
              peak.gflops, peak.threads, peak.threads == 1 ? "" : "s", peak.gflops / peak.threads,
              fma_loop_description().c_str(), peak.clock_ghz, peak.flops_per_cycle);
  if (std::find(backends.begin(), backends.end(), GemmBackend::OpenBLAS) != backends.end())
    std::printf("openblas: %s\n", openblas_description().c_str());
  std::printf("shapes: tokens %lld = batch %lld x seq %lld; Linear w (out,in): fwd y=x.w^T (NT), "
              "bwd dx=dy.w (NN), dw=dy^T.x (TN)\n",
              static_cast<long long>(kTokens), static_cast<long long>(kBatch), static_cast<long long>(kSeqLen));
  std::fflush(stdout);

  // One backend at a time over all shapes, with a pause in between: after a
  // parallel region, idle worker threads busy-wait for new work for a while
  // (OpenMP's GOMP_SPINCOUNT; a pthread build of OpenBLAS, if linked, spins
  // for about 2^28 cycles in its own pool). A backend timed while another
  // pool still spins on the same cores shares them, and OpenMP's barriers make
  // that cost far more than the stolen share.
  auto let_idle_threads_sleep = [] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); };
  std::vector<std::vector<double>> gflops(backends.size(), std::vector<double>(shapes.size(), 0.0));
  for (size_t b = 0; b < backends.size(); ++b) {
    for (size_t i = 0; i < shapes.size(); ++i)
      gflops[b][i] = time_gemm(backends[b], shapes[i], ops, opt.repeat, min_seconds);
    let_idle_threads_sleep();
  }

  // The peak again: if it moved, the machine was busy or changed clocks during
  // the run. The higher of the two is the reference, so no % is flattered.
  PeakFlops peak_after = measure_peak_flops(opt.threads, peak_seconds);
  double peak_gflops = std::max(peak.gflops, peak_after.gflops);
  double moved = std::abs(peak_after.gflops - peak.gflops) / peak_gflops;
  std::printf("peak after the GEMMs: %.1f GFLOP/s%s; %%peak below is of %.1f GFLOP/s\n", peak_after.gflops,
              moved > 0.1 ? " -- WARNING: moved by more than 10%, the numbers are unreliable" : "", peak_gflops);

  CpuTimes cpu_after = cpu_times();
  // Other processes on these cores make every number meaningless; say so.
  double foreign = foreign_cpu_share(cpu_before, cpu_after);
  if (foreign >= 0)
    std::printf("machine: other processes used %.1f%% of the CPU time during the run%s\n\n", 100.0 * foreign,
                foreign > 0.05 ? " -- WARNING: they competed for the cores, the numbers are unreliable" : "");

  // The table.
  size_t label_width = 0;
  for (const auto& s : shapes) label_width = std::max(label_width, s.label.size());
  std::string header = std::string("shape") + std::string(label_width - 5, ' ') + "       M      N      K  op";
  for (GemmBackend b : backends) {
    std::string column = std::string(cpu::gemm_backend_name(b)) + " GF/s";
    header += std::string(2 + 15 - std::min<size_t>(column.size(), 15), ' ') + column + "  %peak";
  }
  if (backends.size() == 2) header += "  ratio";
  std::printf("%s\n", header.c_str());
  for (size_t i = 0; i < shapes.size(); ++i) {
    const GemmShape& s = shapes[i];
    std::printf("%-*s  %6lld %6lld %6lld  %s", static_cast<int>(label_width), s.label.c_str(),
                static_cast<long long>(s.M), static_cast<long long>(s.N), static_cast<long long>(s.K), s.op().c_str());
    for (size_t b = 0; b < backends.size(); ++b)
      std::printf("  %15.1f %5.1f%%", gflops[b][i], 100.0 * gflops[b][i] / peak_gflops);
    if (backends.size() == 2) std::printf("  %5.2fx", gflops[0][i] / gflops[1][i]);
    std::printf("\n");
  }
  if (backends.size() == 2) std::printf("(ratio = %s / %s)\n", cpu::gemm_backend_name(backends[0]),
                                        cpu::gemm_backend_name(backends[1]));

  if (backends.size() == 2) {
    double diff = max_backend_difference(backends[0], backends[1], shapes, ops);
    std::printf("check: %s and %s agree to ||diff||/||C|| <= %.1e on every shape%s\n",
                cpu::gemm_backend_name(backends[0]), cpu::gemm_backend_name(backends[1]), diff,
                diff <= 1e-4 ? "" : "  <-- MISMATCH");
  }

  // The verdict on the squares >= 512, where a good SGEMM should be near peak.
  std::vector<double> mean_gflops(backends.size(), 0.0);
  int squares = 0;
  for (size_t i = 0; i < shapes.size(); ++i) {
    if (!shapes[i].square || shapes[i].M < 512) continue;
    ++squares;
    for (size_t b = 0; b < backends.size(); ++b) mean_gflops[b] += gflops[b][i];
  }
  for (double& g : mean_gflops) g /= std::max(squares, 1);
  size_t winner = std::max_element(mean_gflops.begin(), mean_gflops.end()) - mean_gflops.begin();
  std::printf("\nsquares >= 512 on %d thread%s: %s %s, %.1f GFLOP/s = %.1f%% of the measured peak on average",
              opt.threads, opt.threads == 1 ? "" : "s", cpu::gemm_backend_name(backends[winner]),
              backends.size() > 1 ? "is faster" : "(only backend run)", mean_gflops[winner],
              100.0 * mean_gflops[winner] / peak_gflops);
  for (size_t b = 0; b < backends.size(); ++b)
    if (b != winner)
      std::printf(" (%s %.1f%%)", cpu::gemm_backend_name(backends[b]), 100.0 * mean_gflops[b] / peak_gflops);
  std::printf("\n");
  if (backends.size() > 1 && backends[winner] != cpu::default_gemm_backend())
    std::printf("note: the engine's default GEMM backend is %s; MIXLAB_GEMM=%s selects %s (kernels/cpu/gemm.h)\n",
                cpu::gemm_backend_name(cpu::default_gemm_backend()), cpu::gemm_backend_name(backends[winner]),
                cpu::gemm_backend_name(backends[winner]));
  return 0;
}

}  // namespace

MIXLAB_REGISTER_BENCHMARK(gemm, "FP32 GEMM GFLOP/s of OpenBLAS and Eigen on small-LM shapes, as % of measured peak",
                          run_gemm_benchmark);

}  // namespace mixlab::cli
