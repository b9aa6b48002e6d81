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

// Errors name the run directory and what is missing or broken.
LoadedRun load_run(const std::string& run_dir);

}  // namespace mixlab
