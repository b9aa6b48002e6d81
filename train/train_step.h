#pragma once
// One optimizer step: forward at the scored positions, backward, clipping,
// AdamW, zeroed gradients. The trainer and `mixlab bench train` share it, so
// the benchmark times exactly what training runs.
#include "distributed/communicator.h"
#include "models/language_model.h"
#include "train/adamw.h"
#include "train/tasks/task.h"

namespace mixlab {

// A non-finite loss or gradient throws mixlab::Error (saying which) before
// the update, leaving the parameters as they were.
// Returns the batch's mean cross-entropy; MoE auxiliary losses are minimised with it
// but not included (train_loss stays comparable across models).
double train_step(LanguageModel& model, AdamW& optimizer, const Batch& batch, double lr, double grad_clip);

// The same step over the ranks of `comm`, `shard` being this rank's rows of
// the global batch (possibly none): each rank back-propagates its loss summed
// over its scored positions, the gradients and the loss sums are summed over
// the ranks, and the gradient is divided by the global count of scored
// positions, so it is the gradient of the global batch's mean loss (equal to
// the one-process step up to float rounding); clipping and AdamW then see the
// same gradient on every rank. Returns the global batch's mean cross-entropy.
// A non-finite step throws CollectiveError on every rank. With one rank it is
// train_step above.
double train_step(LanguageModel& model, AdamW& optimizer, const Batch& shard, double lr, double grad_clip,
                  Communicator& comm);

}  // namespace mixlab
