// `mixlab bench scan [--threads N] [--quick] [--length T] [--chunk C]`: the
// fused chunked gated linear recurrence (gated_scan), forward and
// forward+backward, against a plain token-by-token recurrence loop (forward).
// FP32, B·H = 4 (B 1, H 4), dk = dv = 64, log decay logsigmoid(randn), per head
// and per key channel.
//
// FLOP counts (per head, per token, chunk C; only the causal half of the C×C
// products counts, as for causal attention):
//   chunked forward   C·(dk + dv) + 4·dk·dv     (scores and A·V; Q·S0 and the state update)
//   chunked backward  C·(3·dk + 2·dv) + 8·dk·dv (dA, recomputed A, dV, dQ, dK; four state products)
//   recurrence        5·dk·dv                   (decay, rank-one update, Sᵀq)
// so the chunked form does more arithmetic than the recurrence and wins by
// running it as GEMMs. GFLOP/s is each method's own count over its time.
#include <omp.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "autograd/ops.h"
#include "cli/bench.h"
#include "cli/peak_flops.h"
#include "kernels/cpu/threads.h"

namespace mixlab::cli {

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

struct Problem {
  int64_t B = 1, H = 4, T = 0, dk = 64, dv = 64;
  bool per_channel = false;
  Tensor q, k, v, g;
};

Problem make_problem(int64_t T, bool per_channel) {
  Problem p;
  p.T = T;
  p.per_channel = per_channel;
  Generator gen(1);
  p.q = Tensor::randn({p.B, p.H, T, p.dk}, gen);
  p.k = Tensor::randn({p.B, p.H, T, p.dk}, gen);
  p.v = Tensor::randn({p.B, p.H, T, p.dv}, gen);
  std::vector<double> g = Tensor::randn({p.B * p.H * T * (per_channel ? p.dk : 1)}, gen, DType::F64).to_vector();
  for (double& x : g) x = x >= 0 ? -std::log1p(std::exp(-x)) : x - std::log1p(std::exp(x));  // logsigmoid
  p.g = Tensor::from_vector(g, {p.B, p.H, T, per_channel ? p.dk : 1});
  return p;
}

// Best of `repeat` runs of the fused op: forward only, or forward + backward.
double time_fused(const Problem& p, int64_t chunk, bool backward, int repeat) {
  double best = std::numeric_limits<double>::infinity();
  const GatedScanOptions opts{.chunk = chunk, .bonus = false, .scale = 0.125};
  for (int i = 0; i < repeat; ++i) {
    Tensor q = p.q.detach(), k = p.k.detach(), v = p.v.detach(), g = p.g.detach();
    if (backward)
      for (Tensor* t : {&q, &k, &v, &g}) t->requires_grad_();
    const auto start = std::chrono::steady_clock::now();
    Tensor o = gated_scan(q, k, v, g, Tensor(), Tensor(), opts);
    if (backward) o.backward(Tensor::ones(o.shape()));
    best = std::min(best, seconds_since(start));
  }
  return best;
}

// The plain recurrence, one token at a time (the inner loops vectorise over dv).
double time_recurrence(const Problem& p, int repeat) {
  const int64_t BH = p.B * p.H, T = p.T, dk = p.dk, dv = p.dv, w = p.per_channel ? dk : 1;
  const float *q = p.q.data<float>(), *k = p.k.data<float>(), *v = p.v.data<float>(), *g = p.g.data<float>();
  std::vector<float> o(static_cast<size_t>(BH * T * dv));
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < repeat; ++r) {
    const auto start = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(static)
    for (int64_t bh = 0; bh < BH; ++bh) {
      std::vector<float> S(static_cast<size_t>(dk * dv), 0.0f);
      Eigen::ArrayXf decay(w);
      for (int64_t t = 0; t < T; ++t) {
        const float *qt = q + (bh * T + t) * dk, *kt = k + (bh * T + t) * dk, *vt = v + (bh * T + t) * dv;
        float* ot = o.data() + (bh * T + t) * dv;
        std::fill(ot, ot + dv, 0.0f);
        decay = Eigen::Map<const Eigen::ArrayXf>(g + (bh * T + t) * w, w).exp();  // vectorised exp
        for (int64_t i = 0; i < dk; ++i) {
          const float a = decay[w == 1 ? 0 : i], ki = kt[i], qi = 0.125f * qt[i];
          float* row = S.data() + i * dv;
          for (int64_t j = 0; j < dv; ++j) {
            row[j] = a * row[j] + ki * vt[j];
            ot[j] += qi * row[j];
          }
        }
      }
    }
    best = std::min(best, seconds_since(start));
  }
  return best;
}

int run_scan_benchmark(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab bench scan [options]");
  options.add_options()("help,h", "print this help")("threads", po::value<int>()->default_value(omp_get_max_threads()),
                                                      "threads")("quick", "T up to 1k only")(
      "length", po::value<int64_t>(), "only this sequence length")("chunk", po::value<int64_t>()->default_value(64),
                                                                  "tokens per chunk");
  po::variables_map vm;
  parse_args("bench scan", args, options, nullptr, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab bench scan [--threads N] [--quick] [--length T] [--chunk C]\n");
    return 0;
  }
  const int threads = vm["threads"].as<int>();
  if (threads < 1) throw UsageError("bench scan: --threads must be >= 1");
  const int64_t chunk = vm["chunk"].as<int64_t>();
  if (chunk < 1) throw UsageError("bench scan: --chunk must be >= 1");
  std::vector<int64_t> lengths =
      vm.count("quick") ? std::vector<int64_t>{256, 1024} : std::vector<int64_t>{256, 1024, 4096, 16384};
  if (vm.count("length")) {
    if (vm["length"].as<int64_t>() < 1) throw UsageError("bench scan: --length must be >= 1");
    lengths = {vm["length"].as<int64_t>()};
  }
  cpu::set_compute_threads(threads);
  const PeakFlops peak = measure_peak_flops(threads, 0.3);
  std::printf("mixlab bench scan: FP32 gated_scan, B·H = 4 (B 1, H 4), dk = dv = 64, chunk %lld, %s, "
              "peak %.1f GFLOP/s\n",
              static_cast<long long>(chunk), count_of(threads, "thread").c_str(), peak.gflops);
  std::printf("%6s %8s | %8s %8s | %9s %8s %6s | %9s %8s %8s\n", "T", "decay", "fwd ms", "GFLOP/s", "f+b ms",
              "GFLOP/s", "%peak", "recur ms", "GFLOP/s", "fwd gain");
  for (int64_t T : lengths)
    for (bool per_channel : {false, true}) {
      const Problem p = make_problem(T, per_channel);
      const double tokens = static_cast<double>(p.B * p.H * T), dk = p.dk, dv = p.dv, C = std::min(chunk, T);
      const double fwd_flops = tokens * (C * (dk + dv) + 4 * dk * dv);
      const double bwd_flops = tokens * (C * (3 * dk + 2 * dv) + 8 * dk * dv);
      const double rec_flops = tokens * 5 * dk * dv;
      const int repeat = T <= 1024 ? 5 : 2;
      const double fwd = time_fused(p, chunk, false, repeat);
      const double both = time_fused(p, chunk, true, repeat);
      const double rec = time_recurrence(p, repeat);
      std::printf("%6lld %8s | %8.2f %8.1f | %9.2f %8.1f %5.1f%% | %9.2f %8.1f %7.1fx\n", static_cast<long long>(T),
                  per_channel ? "channel" : "head", 1e3 * fwd, fwd_flops / fwd / 1e9, 1e3 * both,
                  (fwd_flops + bwd_flops) / both / 1e9, 100.0 * (fwd_flops + bwd_flops) / both / 1e9 / peak.gflops,
                  1e3 * rec, rec_flops / rec / 1e9, rec / fwd);
      std::fflush(stdout);
    }
  return 0;
}

}  // namespace

MIXLAB_REGISTER_BENCHMARK(scan, "chunked gated linear recurrence vs token loop: ms, GFLOP/s, T 256..16k",
                          run_scan_benchmark);

}  // namespace mixlab::cli
