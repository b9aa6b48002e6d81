#pragma once
// `mixlab bench <name>`: the benchmark registry. A benchmark lives in its own
// file (cli/bench_<name>.cpp) and registers itself with one line:
//
//   MIXLAB_REGISTER_BENCHMARK(gemm, "FP32 GEMM GFLOP/s ...", run_gemm_benchmark);
//
// Benchmarks report against the peak measured in the same run
// (cli/peak_flops.h) and are kept apart from the tests: no test asserts a time.
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "cli/command.h"

namespace mixlab::cli {

struct Benchmark {
  std::string name;
  std::string summary;                  // one line, shown by `mixlab bench --help`
  std::function<int(const Args&)> run;  // gets the arguments after the name
};

const std::map<std::string, Benchmark>& benchmarks();

// "256,1024" -> {256, 1024}; throws UsageError naming `context` and `flag`
// unless every item is a positive integer.
std::vector<int64_t> parse_positive_list(const std::string& context, const std::string& flag, const std::string& text);
bool register_benchmark(Benchmark benchmark);

}  // namespace mixlab::cli

#define MIXLAB_REGISTER_BENCHMARK(name, summary, run_fn)                         \
  static const bool MIXLAB_CLI_CONCAT(mixlab_benchmark_registered_, name) =     \
      ::mixlab::cli::register_benchmark(::mixlab::cli::Benchmark{#name, summary, run_fn})
