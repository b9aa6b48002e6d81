#include "cli/peak_flops.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <vector>

#if defined(__AVX512F__) || (defined(__AVX2__) && defined(__FMA__))
#include <immintrin.h>
#elif defined(__ARM_NEON) && defined(__ARM_FEATURE_FMA)
#include <arm_neon.h>
#endif

namespace mixlab::cli {

namespace {

// One vector FMA flavour per target ISA (-march=native picks). `chains`
// independent accumulators hide the FMA latency: a core with P FMA pipes of
// latency L needs at least P*L in flight (2*4 = 8 on Zen 4/5 and Skylake-X);
// we keep more, as long as they and the two constants fit in registers (32
// zmm, 16 ymm), so the loop never spills.
#if defined(__AVX512F__)
struct Lanes {
  using V = __m512;
  static constexpr int lanes = 16, chains = 24;
  static constexpr const char* isa = "AVX-512";
  static V set1(float x) { return _mm512_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }
  static float sum(V v) {  // not _mm512_reduce_add_ps: GCC 12 warns inside it
    alignas(64) float t[16];
    _mm512_store_ps(t, v);
    float s = 0;
    for (float x : t) s += x;
    return s;
  }
};
#elif defined(__AVX2__) && defined(__FMA__)
struct Lanes {
  using V = __m256;
  static constexpr int lanes = 8, chains = 12;
  static constexpr const char* isa = "AVX2+FMA";
  static V set1(float x) { return _mm256_set1_ps(x); }
  static V fma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
  static float sum(V v) {
    alignas(32) float t[8];
    _mm256_store_ps(t, v);
    float s = 0;
    for (float x : t) s += x;
    return s;
  }
};
#elif defined(__ARM_NEON) && defined(__ARM_FEATURE_FMA)
struct Lanes {
  using V = float32x4_t;
  static constexpr int lanes = 4, chains = 16;
  static constexpr const char* isa = "NEON";
  static V set1(float x) { return vdupq_n_f32(x); }
  static V fma(V a, V b, V c) { return vfmaq_f32(c, a, b); }  // c + a*b
  static float sum(V v) { return vaddvq_f32(v); }
};
#else
// No vector FMA targeted: a scalar loop, so the "peak" is what this build can
// reach, not what the hardware could.
struct Lanes {
  using V = float;
  static constexpr int lanes = 1, chains = 8;
  static constexpr const char* isa = "scalar (no vector FMA targeted)";
  static V set1(float x) { return x; }
  static V fma(V a, V b, V c) { return std::fma(a, b, c); }
  static float sum(V v) { return v; }
};
#endif

using Clock = std::chrono::steady_clock;

// acc <- acc * a + b converges to b / (1 - a) = 1: no overflow, no denormals
// (which would slow the loop down), and the sum returned to the caller keeps
// the compiler from deleting the work.
float fma_chains(int64_t iterations) {
  Lanes::V acc[Lanes::chains];
  for (int c = 0; c < Lanes::chains; ++c) acc[c] = Lanes::set1(1.0f + 0.001f * static_cast<float>(c));
  const Lanes::V a = Lanes::set1(0.9999f), b = Lanes::set1(0.0001f);
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 32
    for (int c = 0; c < Lanes::chains; ++c) acc[c] = Lanes::fma(acc[c], a, b);
  }
  float s = 0;
  for (int c = 0; c < Lanes::chains; ++c) s += Lanes::sum(acc[c]);
  return s;
}

// A chain of dependent integer adds retires one add per cycle on any
// out-of-order core; 8 per iteration keeps the loop overhead off the
// critical path. Returns cycles counted.
uint64_t dependent_adds(int64_t iterations) {
  uint64_t x = 0;
  for (int64_t i = 0; i < iterations; ++i) {
#pragma GCC unroll 8
    for (int k = 0; k < 8; ++k) {
      x += 1;
      asm volatile("" : "+r"(x));  // forces each add to stay a separate instruction
    }
  }
  return x;
}

volatile float g_sink;  // the loops' results go here so none is optimised away

struct ParallelRun {
  double seconds = 0;  // slowest thread
  int threads = 0;
};

// Runs body(iterations) on `threads` threads started together; returns the
// slowest thread's time.
template <typename Body>
ParallelRun run_on_threads(int threads, int64_t iterations, Body body) {
  std::vector<double> times(threads, 0.0);
  int started = 0;
  float total = 0;
#pragma omp parallel num_threads(threads) reduction(+ : total)
  {
#pragma omp single
    started = omp_get_num_threads();
#pragma omp barrier
    auto t0 = Clock::now();
    total += static_cast<float>(body(iterations));
    times[omp_get_thread_num()] = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  g_sink = total;
  return {*std::max_element(times.begin(), times.begin() + started), started};
}

// Grows the iteration count until one run takes about `seconds`.
template <typename Body>
int64_t calibrate(int threads, double seconds, Body body) {
  int64_t iterations = 1000;
  for (;;) {
    double t = run_on_threads(threads, iterations, body).seconds;
    if (t >= seconds / 4) return std::max<int64_t>(1, static_cast<int64_t>(iterations * seconds / t));
    iterations *= 8;
  }
}

}  // namespace

std::string fma_loop_description() {
  return std::string(Lanes::isa) + " (" + std::to_string(Lanes::lanes) + " lanes, " + std::to_string(Lanes::chains) +
         " chains)";
}

PeakFlops measure_peak_flops(int threads, double seconds) {
  constexpr int kRuns = 3;
  PeakFlops peak;
  int64_t fma_iterations = calibrate(threads, seconds, fma_chains);
  double flops_per_iteration = 2.0 * Lanes::lanes * Lanes::chains;
  for (int r = 0; r < kRuns; ++r) {
    ParallelRun run = run_on_threads(threads, fma_iterations, fma_chains);
    double gflops = run.threads * flops_per_iteration * static_cast<double>(fma_iterations) / run.seconds / 1e9;
    if (gflops > peak.gflops) {
      peak.gflops = gflops;
      peak.threads = run.threads;
    }
  }
  // The clock under the same load shape (all threads busy), for the
  // flops-per-cycle sanity check: 2 FMA pipes x 16 lanes x 2 = 64 on AVX-512.
  int64_t add_iterations = calibrate(threads, seconds / 4, dependent_adds);
  double best_ghz = 0;
  for (int r = 0; r < kRuns; ++r) {
    ParallelRun run = run_on_threads(threads, add_iterations, dependent_adds);
    best_ghz = std::max(best_ghz, 8.0 * static_cast<double>(add_iterations) / run.seconds / 1e9);
  }
  peak.clock_ghz = best_ghz;
  peak.flops_per_cycle = peak.gflops / peak.threads / best_ghz;
  return peak;
}

}  // namespace mixlab::cli
