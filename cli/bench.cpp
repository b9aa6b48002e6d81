#include "cli/bench.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

namespace mixlab::cli {

namespace {

std::map<std::string, Benchmark>& registry() {
  static std::map<std::string, Benchmark> benchmarks;
  return benchmarks;
}

void print_bench_help() {
  std::cout << "usage: mixlab bench <benchmark> [options]   (mixlab bench <benchmark> --help for its options)\n\n"
            << "benchmarks:\n";
  size_t width = 0;
  for (const auto& [name, benchmark] : benchmarks()) width = std::max(width, name.size());
  for (const auto& [name, benchmark] : benchmarks())
    std::cout << "  " << name << std::string(width - name.size() + 3, ' ') << benchmark.summary << "\n";
}

int run_bench(const Args& args) {
  if (args.empty())
    throw UsageError("bench: missing benchmark name (allowed: " + join_keys(benchmarks()) + ")");
  const std::string& name = args[0];
  if (name == "--help" || name == "-h") {
    print_bench_help();
    return 0;
  }
  auto it = benchmarks().find(name);
  if (it == benchmarks().end()) {
    std::string what = name.starts_with("-") ? "expected a benchmark name before options, got '" + name + "'"
                                              : "unknown benchmark '" + name + "'";
    throw UsageError("bench: " + what + " (allowed: " + join_keys(benchmarks()) + ")");
  }
  return it->second.run(Args(args.begin() + 1, args.end()));
}

}  // namespace

const std::map<std::string, Benchmark>& benchmarks() { return registry(); }

std::vector<int64_t> parse_positive_list(const std::string& context, const std::string& flag, const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    size_t used = 0;
    long long n = 0;
    try {
      n = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || n < 1)
      throw UsageError(context + ": " + flag + " needs positive integers separated by commas, got '" + text + "'");
    out.push_back(n);
  }
  if (out.empty()) throw UsageError(context + ": " + flag + " needs at least one positive integer");
  return out;
}

bool register_benchmark(Benchmark benchmark) {
  auto [it, inserted] = registry().emplace(benchmark.name, benchmark);
  if (!inserted) {
    std::fprintf(stderr, "mixlab: internal error: benchmark '%s' is registered twice\n", benchmark.name.c_str());
    std::abort();
  }
  return true;
}

MIXLAB_REGISTER_COMMAND(bench, "measure kernel throughput against this machine's measured peak (e.g. bench gemm)",
                        run_bench);

}  // namespace mixlab::cli
