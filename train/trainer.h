#pragma once
// The training loop: batches from the dataset, AdamW with the configured
// schedule and clipping, eval every N steps (or epoch), early stop at the
// target accuracy, metrics and checkpoints in the run directory, resume.
#include <functional>
#include <ostream>
#include <string>

#include "distributed/communicator.h"
#include "train/experiment.h"

namespace mixlab {

struct TrainOptions {
  bool resume = false;              // continue <out_dir>/<name> from its checkpoint
  std::ostream* console = nullptr;  // progress and messages (null: silent)
  bool live_progress = false;       // rewrite one line in place (a terminal)
  // Asked before each step with the steps done so far; true checkpoints and
  // stops (the CLI answers from its SIGINT flag).
  // When any rank answers true, every rank stops at the same step.
  std::function<bool(int64_t)> should_stop;
  // The ranks training this run together (null: world(), one process unless
  // launched by mpirun/srun). Rank 0 alone reads and writes the run
  // directory; each rank trains on its shard of every global batch of
  // train.batch_size rows.
  Communicator* comm = nullptr;
};

struct TrainSummary {
  std::string run_dir;
  int64_t steps = 0, total_steps = 0;
  bool evaluated = false;  // an eval ran in this session (final_* are its results)
  double final_accuracy = 0, best_accuracy = 0, final_loss = 0;
  double train_seconds = 0, tokens_per_s = 0;
  int64_t peak_bytes = 0;
  bool reached_target = false, interrupted = false;
};

TrainSummary run_training(const Experiment& ex, const TrainOptions& opts);

// The run directory of an experiment: <out_dir>/<name>.
std::string run_directory(const Experiment& ex);

}  // namespace mixlab
