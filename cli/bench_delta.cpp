// `mixlab bench delta [--threads N] [--lengths 256,1024,4096] [--rounds R] [--chunk C]`:
// the delta-rule scan's forward+backward in three forms, measured alternately
// in one run (round r times each form once, in turn), FP32, B·H = 4 (B 1, H 4),
// dk = dv = 64, DeltaNet's inputs (L2-normalised keys, β = sigmoid(randn),
// a = −α β k̂, b = k̂), without decay (deltanet) and with a per-head decay
// (gated_deltanet):
//   fused     delta_scan, the chunked WY/UT kernel with its hand-written backward
//   recurrent delta_scan with the decay spelt per key channel: the fused token loop
//   composed  the same chunked WY/UT form from existing ops (layers/delta_scan_composed.h)
// Reports the median time of each and the composed/fused and recurrent/fused
// ratios: the median of the per-round ratios, with their min and max.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <vector>

#include "autograd/ops.h"
#include "cli/bench.h"
#include "kernels/cpu/threads.h"
#include "layers/delta_scan_composed.h"

namespace mixlab::cli {

namespace {

struct Problem {
  int64_t B = 1, H = 4, T = 0, dk = 64, dv = 64;
  Tensor q, k, v, g, g_channels, a, b;
};

Problem make_problem(int64_t T, bool decay) {
  Problem p;
  p.T = T;
  Generator gen(1);
  const Shape key{p.B, p.H, T, p.dk};
  p.q = Tensor::randn(key, gen);
  Tensor k = Tensor::randn(key, gen);
  k = mul(k, rsqrt(sum(square(k), -1, true)));  // k̂
  Tensor beta = sigmoid(Tensor::randn({p.B, p.H, T, 1}, gen));
  p.v = mul(Tensor::randn({p.B, p.H, T, p.dv}, gen), beta);
  p.k = k;
  p.b = k;
  p.a = mul(k, neg(beta));
  if (decay) {
    // log α = −softplus(randn)·0.1: the slow decays of Gated DeltaNet at init.
    p.g = mul(softplus(Tensor::randn({p.B, p.H, T, 1}, gen)), -0.1);
    p.a = mul(p.a, exp(p.g));
    p.g_channels = expand(p.g, key);
  } else {
    p.g_channels = Tensor::zeros(key);
  }
  return p;
}

enum class Form { Fused, Recurrent, Composed };

double seconds_of(const Problem& p, Form form, int64_t chunk) {
  Tensor q = p.q.detach(), k = p.k.detach(), v = p.v.detach(), a = p.a.detach(), b = p.b.detach();
  Tensor g = form == Form::Recurrent ? p.g_channels.detach() : p.g.defined() ? p.g.detach() : Tensor();
  for (Tensor* t : {&q, &k, &v, &a, &b}) t->requires_grad_();
  if (g.defined()) g.requires_grad_();
  const DeltaScanOptions opts{.chunk = chunk, .scale = 0.125};
  const auto start = std::chrono::steady_clock::now();
  Tensor o = form == Form::Composed ? delta_scan_composed(q, k, v, g, a, b, Tensor(), opts)
                                    : delta_scan(q, k, v, g, a, b, Tensor(), opts);
  o.backward(Tensor::ones(o.shape()));
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

double median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

int run_delta_benchmark(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab bench delta [options]");
  options.add_options()("help,h", "print this help")("threads", po::value<int>()->default_value(omp_get_max_threads()),
                                                      "threads")(
      "lengths", po::value<std::string>()->default_value("256,1024,4096"), "sequence lengths T")(
      "rounds", po::value<int>()->default_value(5), "alternating rounds per length")(
      "chunk", po::value<int64_t>()->default_value(64), "tokens per chunk");
  po::variables_map vm;
  parse_args("bench delta", args, options, nullptr, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab bench delta [--threads N] [--lengths 256,1024,4096] [--rounds 5] [--chunk 64]\n");
    return 0;
  }
  const int threads = vm["threads"].as<int>(), rounds = vm["rounds"].as<int>();
  const int64_t chunk = vm["chunk"].as<int64_t>();
  if (threads < 1 || rounds < 1 || chunk < 1)
    throw UsageError("bench delta: --threads, --rounds and --chunk must be >= 1");
  const std::vector<int64_t> lengths = parse_positive_list("bench delta", "--lengths", vm["lengths"].as<std::string>());
  cpu::set_compute_threads(threads);
  std::printf("mixlab bench delta: FP32 delta_scan forward+backward, B·H = 4 (B 1, H 4), dk = dv = 64, chunk %lld, "
              "%d threads, %d alternating rounds (one warm-up round first)\n",
              static_cast<long long>(chunk), threads, rounds);
  std::printf("%6s %9s | %9s %9s %9s | %-24s | %-24s\n", "T", "decay", "fused ms", "recur ms", "compos ms",
              "composed/fused med [min,max]", "recurrent/fused med [min,max]");
  for (int64_t T : lengths)
    for (bool decay : {false, true}) {
      const Problem p = make_problem(T, decay);
      std::vector<double> fused, recurrent, composed, r_comp, r_rec;
      for (int r = 0; r <= rounds; ++r) {
        const double f = seconds_of(p, Form::Fused, chunk), rec = seconds_of(p, Form::Recurrent, chunk),
                     c = seconds_of(p, Form::Composed, chunk);
        if (r == 0) continue;  // warm-up: first-touch allocations
        fused.push_back(f);
        recurrent.push_back(rec);
        composed.push_back(c);
        r_comp.push_back(c / f);
        r_rec.push_back(rec / f);
      }
      auto [cmin, cmax] = std::minmax_element(r_comp.begin(), r_comp.end());
      auto [rmin, rmax] = std::minmax_element(r_rec.begin(), r_rec.end());
      std::printf("%6lld %9s | %9.2f %9.2f %9.2f | %6.2fx [%5.2f, %5.2f]      | %6.2fx [%5.2f, %5.2f]\n",
                  static_cast<long long>(T), decay ? "per-head" : "none", 1e3 * median(fused),
                  1e3 * median(recurrent), 1e3 * median(composed), median(r_comp), *cmin, *cmax, median(r_rec), *rmin,
                  *rmax);
      std::fflush(stdout);
    }
  return 0;
}

}  // namespace

MIXLAB_REGISTER_BENCHMARK(delta, "delta-rule scan fwd+bwd: fused chunked vs fused recurrent vs composed ops, alternating",
                          run_delta_benchmark);

}  // namespace mixlab::cli
