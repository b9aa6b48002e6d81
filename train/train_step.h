#pragma once
// One optimizer step: forward at the scored positions, backward, clipping,
// AdamW, zeroed gradients. The trainer and `mixlab bench train` share it, so
// the benchmark times exactly what training runs.
#include "models/language_model.h"
#include "train/adamw.h"
#include "train/tasks/task.h"

namespace mixlab {

// A non-finite loss or gradient throws mixlab::Error (saying which) before
// the update, leaving the parameters as they were.
// Returns the batch's mean cross-entropy; MoE auxiliary losses are minimised with it
// but not included (train_loss stays comparable across models).
double train_step(LanguageModel& model, AdamW& optimizer, const Batch& batch, double lr, double grad_clip);

}  // namespace mixlab
