#pragma once
// The training objective: logits only at scored positions (MQAR scores a
// handful per sequence, and the LM head is the largest matmul of a small
// model), cross-entropy over the full vocabulary.
#include <vector>

#include "models/language_model.h"
#include "train/tasks/task.h"

namespace mixlab {

struct ScoredOutput {
  Tensor logits;                   // (n, V) at the scored positions, row-major order of (b, t)
  Tensor targets;                  // i64 (n)
  std::vector<int64_t> row_of;     // batch row of each scored position
  Tensor loss;                     // mean cross-entropy, shape ()
  Tensor auxiliary_loss;           // MoE balance/z losses (weighted), shape (); undefined without MoE
  // What training minimises: loss + auxiliary_loss.
  Tensor objective() const;
};

ScoredOutput scored_forward(LanguageModel& model, const Batch& batch);

}  // namespace mixlab
