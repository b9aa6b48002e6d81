#pragma once
// Reopens a finished or running run directory: its resolved config and its
// checkpoint, for `mixlab eval`, `mixlab forward` and generation.
#include <memory>
#include <string>

#include "train/checkpoint.h"
#include "train/experiment.h"

namespace mixlab {

struct LoadedRun {
  std::string run_dir;
  Experiment experiment;
  std::unique_ptr<LanguageModel> model;  // in eval mode, weights from the checkpoint
  TrainProgress progress;
};

// Errors name the run directory and what is missing or broken. The model is
// moved to `device` after loading: checkpoints hold host tensors, so a run
// trained on either device loads on either.
LoadedRun load_run(const std::string& run_dir, Device device = Device::cpu());

// The run's experiment with other [task] settings ("--task.test_segments=128:8:500",
// "--task.name=associative_recall", ...), for evaluating its checkpoint on other
// lengths and tasks; with a new task.name, the run's other [task] keys are
// dropped. Refused with one line naming the key: a key outside [task], a
// vocabulary other than the model's, a causal task for a bidirectional
// model, and test sequences longer than the model's learned positions
// (model.positions = learned has one trained row per position up to the
// longest sequence the run saw; it cannot extrapolate, while sinusoidal,
// RoPE, ALiBi and position-free models take any length).
Experiment with_task_settings(const LoadedRun& run, const std::vector<std::string>& task_overrides);

}  // namespace mixlab
