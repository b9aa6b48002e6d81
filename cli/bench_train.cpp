// `mixlab bench train CONFIG [--steps N] [--warmup N] [--device D] [--section.key value ...]`:
// training throughput of an experiment's model, timed over the same
// train_step() the trainer runs on train.device, with the share of the step
// spent in GEMMs (CPU) and the peak memory. Nothing is written.
#include <chrono>
#include <cstdio>

#include "autograd/allocator.h"
#include "cli/bench.h"
#include "cli/gpu_peak.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/threads.h"
#include "kernels/cuda/cuda_api.h"
#include "train/experiment.h"
#include "train/schedule.h"
#include "train/train_step.h"

namespace mixlab::cli {

namespace {

int64_t parse_count(const std::string& flag, const std::string& value) {
  try {
    size_t used = 0;
    const long long n = std::stoll(value, &used);
    if (used == value.size() && n >= 0) return n;
  } catch (const std::exception&) {
  }
  throw UsageError("bench train: " + flag + " needs a non-negative integer, got '" + value + "'");
}

int run_train_benchmark(const Args& args) {
  std::string config;
  int64_t steps = 30, warmup = 5;
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: mixlab bench train CONFIG.ini [--steps N (30)] [--warmup N (5)] [--device cpu|cuda]\n"
          "                         [--section.key value ...]\n"
          "Times N training steps (after warm-up) of the experiment's model on train.device (--device\n"
          "sets it) and reports tokens/s, the share of the step spent in GEMMs (CPU) and the peak\n"
          "memory. Writes nothing.\n");
      return 0;
    }
    if (a == "--steps" || a == "--warmup") {
      if (i + 1 >= args.size()) throw UsageError("bench train: " + a + " needs a value");
      (a == "--steps" ? steps : warmup) = parse_count(a, args[++i]);
    } else if (a == "--device") {
      if (i + 1 >= args.size()) throw UsageError("bench train: --device needs a value (cpu, cuda, cuda:N)");
      overrides.push_back("--train.device=" + args[++i]);
    } else if (config.empty() && overrides.empty() && !a.starts_with("-")) {
      config = a;
    } else {
      overrides.push_back(a);
    }
  }
  if (config.empty()) throw UsageError("bench train: no config given (usage: mixlab bench train CONFIG.ini)");
  if (steps == 0) throw UsageError("bench train: --steps must be > 0");
  Experiment ex;
  try {
    ex = Experiment::load(config, overrides);
  } catch (const Error& e) {
    throw UsageError(std::string("bench train: ") + e.what());
  }
  const Device device = ex.train.device;
  if (device.is_cuda()) require_gpu_kernels("bench train");
  cpu::set_compute_threads(ex.train.threads);
  cuda::set_tf32(ex.train.tf32);
  auto model = ex.build_model();
  model->to(device);
  AdamW optimizer(model->named_parameters(), ex.train.adamw);
  model->train();
  const Dataset& data = *ex.dataset;
  const int64_t bpe = data.batches_per_epoch(ex.train.batch_size);
  // Batches are generated before timing: the benchmark measures the model.
  std::vector<Batch> batches;
  for (int64_t i = 0; i < warmup + steps; ++i) batches.push_back(data.train_batch(i / bpe, i % bpe, ex.train.batch_size));

  for (int64_t i = 0; i < warmup; ++i) train_step(*model, optimizer, batches[i], ex.train.lr, ex.train.grad_clip);
  auto& allocator = CachingAllocator::for_device(device);
  allocator.reset_peak();
  cpu::reset_gemm_stats();
  double tokens = 0;
  wait_for(device);
  const auto start = std::chrono::steady_clock::now();
  for (int64_t i = warmup; i < warmup + steps; ++i) {
    train_step(*model, optimizer, batches[i], ex.train.lr, ex.train.grad_clip);
    tokens += static_cast<double>(batches[i].inputs.numel());
  }
  wait_for(device);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const cpu::GemmStats gemm = cpu::gemm_stats();

  const std::string where = device.is_cuda() ? device.str() + (cuda::tf32_enabled() ? " (TF32)" : "")
                                             : count_of(cpu::compute_threads(), "thread");
  std::printf("bench train %s: %s, model %s x%d d_model %lld, %lld parameters, batch %lld, %s\n", config.c_str(),
              ex.task->describe().c_str(), ex.model.pattern.size() == 1 ? ex.model.pattern[0].c_str() : "hybrid",
              ex.model.n_layers, static_cast<long long>(ex.model.d_model),
              static_cast<long long>(model->num_parameters()), static_cast<long long>(ex.train.batch_size),
              where.c_str());
  std::printf("  %lld steps in %.3f s: %.1f ms/step, %.1fk tokens/s\n", static_cast<long long>(steps), seconds,
              1e3 * seconds / static_cast<double>(steps), tokens / seconds / 1e3);
  if (device.is_cpu())
    std::printf("  GEMM: %.1f%% of the step (%llu calls, %.1f GFLOP/s while in GEMM); the rest: %.1f%%\n",
                100.0 * gemm.seconds / seconds, static_cast<unsigned long long>(gemm.calls),
                gemm.seconds > 0 ? gemm.flops / gemm.seconds / 1e9 : 0.0, 100.0 * (1.0 - gemm.seconds / seconds));
  std::printf("  peak memory in use: %.1f MiB (tensors, caching allocator)\n",
              static_cast<double>(allocator.stats().peak_bytes_in_use) / 1048576.0);
  return 0;
}

}  // namespace

MIXLAB_REGISTER_BENCHMARK(train, "training tokens/s of an experiment config, GEMM share and peak memory",
                          run_train_benchmark);

}  // namespace mixlab::cli
