#include "train/train_step.h"

#include "train/objective.h"

namespace mixlab {

double train_step(LanguageModel& model, AdamW& optimizer, const Batch& batch, double lr, double grad_clip) {
  ScoredOutput out = scored_forward(model, batch);
  out.objective().backward();
  clip_grad_norm(model.parameters(), grad_clip);
  optimizer.step(lr);
  model.zero_grad();
  return out.loss.item();
}

}  // namespace mixlab
