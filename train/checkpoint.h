#pragma once
// Checkpoints: one safetensors file holding the model's parameters and buffers
// (Module::register_buffer) under their module-tree names, the AdamW moments ("adamw.m.<name>", "adamw.v.<name>") and,
// in the metadata, the step, the dropout RNG position and the running loss, so
// a resumed run continues bit for bit. Written atomically (temp + rename).
#include <string>

#include "models/language_model.h"
#include "train/adamw.h"

namespace mixlab {

inline constexpr const char* kCheckpointFormat = "mixlab-checkpoint-1";

// Where a run stands between steps.
struct TrainProgress {
  int64_t step = 0;             // optimizer steps completed
  double loss_sum = 0;          // training loss summed since the last eval
  int64_t loss_count = 0;       // steps in that sum
  double best_accuracy = 0;
  bool finished = false;        // reached the last step or the target accuracy
};

void save_checkpoint(const std::string& path, const LanguageModel& model, const AdamW& optimizer,
                     const TrainProgress& progress);

// Loads parameters into `model` (names and shapes must match exactly) and, when
// given, the optimizer state. Errors name the file and the offending tensor.
TrainProgress load_checkpoint(const std::string& path, LanguageModel& model, AdamW* optimizer);

}  // namespace mixlab
