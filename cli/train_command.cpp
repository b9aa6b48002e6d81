// `mixlab train CONFIG.ini [--section.key value ...] [--resume]`: trains,
// evaluates, checkpoints and plots one experiment. Ctrl-C checkpoints and exits.
// `--check` only validates; `--check-each` validates one run per stdin line
// (scripts/sweep checks every run of a grid with it, in one process).
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <cstdio>
#include <iostream>
#include <limits>
#include <set>

#include "autograd/error.h"
#include "autograd/error_text.h"
#include "cli/command.h"
#include "train/plot.h"
#include "train/trainer.h"

namespace mixlab::cli {

namespace {

std::atomic<bool> g_interrupted{false};

extern "C" void on_sigint(int) { g_interrupted.store(true); }  // SIGINT and SIGTERM

constexpr const char* kUsage =
    "usage: mixlab train CONFIG.ini [--section.key value ...] [--device cpu|cuda] [--resume] [--check | --check-each]\n"
    "                   [--stop-at STEP]\n"
    "       mixlab train RUN_DIR --resume [...]   (continue a run where it is now, moved or copied)\n"
    "Trains the experiment CONFIG.ini describes into <train.out_dir>/<train.name>\n"
    "(default runs/<config name>): config.ini, metrics.csv/.jsonl, log.txt,\n"
    "checkpoint.safetensors and curves.png. Options on the command line override\n"
    "the file. --resume continues the run from its checkpoint (from step 0 when it\n"
    "stopped before its first one); Ctrl-C (or SIGTERM) saves a\n"
    "checkpoint and stops (exit code 130). --device D is train.device = D; a run\n"
    "may resume on another device (checkpoints hold host tensors).\n"
    "--check validates the config and overrides (builds the model), prints one\n"
    "line and exits, writing nothing. --check-each does that for one run per\n"
    "line of stdin, each line tab-separated overrides added to the command\n"
    "line's, answering one line per run: 'ok' or 'error: <reason>'.\n"
    "--stop-at STEP checkpoints and stops like Ctrl-C once STEP steps are done\n"
    "(a deterministic interruption, for testing resume).\n"
    "Data parallel: mpirun -np N mixlab train CONFIG.ini (or srun) trains one run on\n"
    "N ranks (a build with MPI), train.batch_size being the global batch.\n";

// The value of --stop-at, a non-negative step count.
int64_t parse_stop_at(const std::string& text) {
  int64_t v = -1;
  try {
    size_t used = 0;
    v = std::stoll(text, &used);
    if (used != text.size()) v = -1;
  } catch (const std::exception&) {
  }
  if (v < 0) throw UsageError("train: --stop-at '" + text + "' is not a step count (allowed: an integer >= 0)");
  return v;
}

// --check-each: a sweep of hundreds of runs is checked in one process
// instead of paying the executable's start-up (CUDA libraries) per run.
// Runs that differ only in [train] settings (a learning-rate grid) share
// one model check.
int check_each(const std::string& config, const std::vector<std::string>& overrides) {
  std::set<std::string> models_checked;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::vector<std::string> all = overrides;
    for (size_t begin = 0; begin <= line.size();) {
      const size_t end = std::min(line.find('\t', begin), line.size());
      if (end > begin) all.push_back(line.substr(begin, end - begin));
      begin = end + 1;
    }
    try {
      const Experiment ex = Experiment::load(config, all, /*check_model=*/false);  // parses every key
      const std::string model = ex.model_settings();
      if (!models_checked.contains(model)) {
        ex.build_model();
        models_checked.insert(model);
      }
      std::printf("ok\n");
    } catch (const std::exception& e) {
      std::printf("error: mixlab: train: %s\n", one_error_line(e.what()).c_str());
    }
    std::fflush(stdout);
  }
  return 0;
}

int train_command(const Args& args) {
  std::string config;
  bool resume = false, help = false, check = false, check_each_line = false;
  int64_t stop_at = std::numeric_limits<int64_t>::max();
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "--resume")
      resume = true;
    else if (args[i] == "--check")
      check = true;
    else if (args[i] == "--check-each")
      check_each_line = true;
    else if (args[i] == "--stop-at") {
      if (i + 1 == args.size()) throw UsageError("train: --stop-at needs a step count");
      stop_at = parse_stop_at(args[++i]);
    } else if (args[i].rfind("--stop-at=", 0) == 0) {
      stop_at = parse_stop_at(args[i].substr(10));
    } else if (args[i] == "--device") {
      if (i + 1 == args.size()) throw UsageError("train: --device needs a value (cpu, cuda, cuda:N)");
      overrides.push_back("--train.device=" + args[++i]);
    } else if (args[i].rfind("--device=", 0) == 0)
      overrides.push_back("--train.device=" + args[i].substr(9));
    else if (args[i] == "--help" || args[i] == "-h")
      help = true;
    else if (config.empty() && overrides.empty() && args[i].rfind("-", 0) != 0)
      config = args[i];
    else
      overrides.push_back(args[i]);
  }
  if (help) {
    std::cout << kUsage << "\n";
    std::string task = "mqar";
    try {
      task = Experiment::load(config, overrides).task_name;
    } catch (const Error&) {
      // Help still shows the options of the default task.
    }
    std::cout << Experiment::options_for(task) << "\n";
    return 0;
  }
  if (config.empty() && overrides.empty())
    throw UsageError("train: no config given (usage: mixlab train CONFIG.ini [--section.key value ...] [--resume])");

  if (!config.empty() && std::filesystem::is_directory(config)) {
    // `mixlab train RUN_DIR --resume`: the run's own config, with the run
    // where it is now (it may have been moved or copied).
    if (!resume)
      throw UsageError("train: " + config + " is a directory: continue a run directory with --resume, or give a CONFIG.ini");
    std::filesystem::path run = std::filesystem::path(config).lexically_normal();
    if (run.filename().empty()) run = run.parent_path();
    const std::string parent = run.parent_path().empty() ? "." : run.parent_path().string();
    config = (run / "config.ini").string();
    overrides.insert(overrides.begin(), {"--train.out_dir=" + parent, "--train.name=" + run.filename().string()});
  }
  if (check_each_line) return check_each(config, overrides);
  Experiment ex;
  try {
    ex = Experiment::load(config, overrides);
  } catch (const Error& e) {
    throw UsageError(std::string("train: ") + e.what());
  }
  if (check) {
    // Experiment::load has parsed every key and built the model, so a run of
    // this config is refused later only for its directory's state (exists
    // without --resume, or differs from the run being resumed).
    const int64_t steps = ex.train.total_steps(ex.dataset->batches_per_epoch(ex.train.batch_size));
    std::printf("check: %s: ok: %s, %lld parameters, %lld steps\n", run_directory(ex).c_str(), ex.task->describe().c_str(),
                static_cast<long long>(ex.build_model()->num_parameters()), static_cast<long long>(steps));
    return 0;
  }
  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint);  // mpirun and Slurm stop ranks with SIGTERM
  TrainOptions opts;
  opts.resume = resume;
  opts.console = &std::cout;
  opts.live_progress = ::isatty(STDOUT_FILENO) != 0;
  opts.should_stop = [stop_at](int64_t step) { return g_interrupted.load() || step >= stop_at; };
  const TrainSummary s = run_training(ex, opts);
  if (world().rank() != 0) return s.interrupted ? 130 : 0;  // rank 0 reports and plots

  const std::string accuracy =
      s.evaluated ? "test accuracy " + std::to_string(s.final_accuracy) + " (best " + std::to_string(s.best_accuracy) + ")"
                  : "no eval in this session";
  std::printf("%s: %lld/%lld steps, %s, %.1fk tokens/s, peak memory %.1f MiB, %.1f s\n", s.run_dir.c_str(),
              static_cast<long long>(s.steps), static_cast<long long>(s.total_steps), accuracy.c_str(),
              s.tokens_per_s / 1e3, s.peak_bytes / 1048576.0, s.train_seconds);
  if (s.evaluated && gnuplot_available()) {
    try {
      plot_curves({s.run_dir}, s.run_dir + "/curves.png");
      std::printf("curves: %s/curves.png\n", s.run_dir.c_str());
    } catch (const Error& e) {
      std::fprintf(stderr, "mixlab: warning: %s\n", e.what());
    }
  }
  return s.interrupted ? 130 : 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(train, "Train a model from an experiment config (mixlab train --help)", train_command);

}  // namespace mixlab::cli
