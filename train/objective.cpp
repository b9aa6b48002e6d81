#include "train/objective.h"

#include "autograd/ops.h"

namespace mixlab {

ScoredOutput scored_forward(LanguageModel& model, const Batch& batch) {
  const int64_t B = batch.inputs.size(0), T = batch.inputs.size(1);
  const std::vector<int64_t> targets = batch.targets.to_indices();
  std::vector<int64_t> positions, values, rows;
  for (int64_t i = 0; i < B * T; ++i)
    if (targets[i] != kIgnoreIndex) {
      positions.push_back(i);
      values.push_back(targets[i]);
      rows.push_back(i / T);
    }
  const int64_t n = static_cast<int64_t>(positions.size());
  MIXLAB_CHECK(n > 0, "batch of segment ", batch.segment, " has no scored position");
  // Batches are generated on the host; they go to wherever the model lives.
  const Device dev = model.device();
  Tensor h = model.hidden_states(batch.inputs.to(dev)).reshape({B * T, -1});
  ScoredOutput out;
  out.logits = model.head(index_select(h, 0, Tensor::from_indices(positions, {n}, dev)));
  out.targets = Tensor::from_indices(values, {n}, dev);
  out.row_of = std::move(rows);
  out.loss = cross_entropy(out.logits, out.targets, kIgnoreIndex);
  out.auxiliary_loss = model.auxiliary_loss();
  return out;
}

Tensor ScoredOutput::objective() const { return auxiliary_loss.defined() ? add(loss, auxiliary_loss) : loss; }

}  // namespace mixlab
