#pragma once
// Reopens a finished or running run directory: its resolved config and its
// checkpoint, for `mixlab eval`, `mixlab forward` and generation.
#include <memory>
#include <string>

#include "train/checkpoint.h"
#include "train/experiment.h"

namespace mixlab {

struct LoadedRun {
  Experiment experiment;
  std::unique_ptr<LanguageModel> model;  // in eval mode, weights from the checkpoint
  TrainProgress progress;
};

// Errors name the run directory and what is missing or broken. The model is
// moved to `device` after loading: checkpoints hold host tensors, so a run
// trained on either device loads on either.
LoadedRun load_run(const std::string& run_dir, Device device = Device::cpu());

}  // namespace mixlab
