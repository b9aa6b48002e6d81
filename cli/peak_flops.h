#pragma once
// The machine's measured FP32 peak: a fused multiply-add throughput loop run in
// the same process as the benchmark it normalises, so "% of peak" compares
// numbers taken under the same clocks, thread count and power state.
#include <string>

namespace mixlab::cli {

struct PeakFlops {
  double gflops = 0;            // all threads together, 2 flops per FMA per lane
  int threads = 0;
  double clock_ghz = 0;         // estimated from a dependent add chain, same threads
  double flops_per_cycle = 0;   // per thread: gflops / threads / clock_ghz
};

// The vector ISA the FMA loop was compiled for, e.g. "AVX-512 (16 lanes, 24 chains)".
std::string fma_loop_description();

// Runs the loop on `threads` OpenMP threads, each for about `seconds`, several
// times, and keeps the best.
PeakFlops measure_peak_flops(int threads, double seconds);

}  // namespace mixlab::cli
