#include "train/evaluate.h"

#include <algorithm>

#include "autograd/ops.h"
#include "train/objective.h"

namespace mixlab {

EvalResult evaluate(LanguageModel& model, const Dataset& data, int64_t batch_size, Communicator* comm) {
  const int rank = comm ? comm->rank() : 0, ranks = comm ? comm->size() : 1;
  NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  const size_t n_segments = data.test_segments().size();
  std::vector<double> seg_correct(n_segments, 0.0), seg_sequences(n_segments, 0.0);
  double loss_sum = 0, scored = 0;
  for (int64_t b = rank; b < data.num_test_batches(batch_size); b += ranks) {
    const Batch batch = data.test_batch(b, batch_size);
    const ScoredOutput out = scored_forward(model, batch);
    const int64_t n = out.targets.numel(), rows = batch.inputs.size(0);
    loss_sum += out.loss.item() * static_cast<double>(n);
    scored += static_cast<double>(n);
    const std::vector<int64_t> predicted = argmax(out.logits, -1).to_indices(), target = out.targets.to_indices();
    std::vector<double> hits(rows, 0.0), counts(rows, 0.0);
    for (int64_t i = 0; i < n; ++i) {
      hits[out.row_of[i]] += predicted[i] == target[i] ? 1.0 : 0.0;
      counts[out.row_of[i]] += 1.0;
    }
    for (int64_t r = 0; r < rows; ++r)
      if (counts[r] > 0) {
        seg_correct[batch.segment] += hits[r] / counts[r];
        seg_sequences[batch.segment] += 1.0;
      }
  }
  model.train(was_training);
  if (ranks > 1) {
    std::vector<double> sums = seg_correct;
    sums.insert(sums.end(), seg_sequences.begin(), seg_sequences.end());
    sums.push_back(loss_sum);
    sums.push_back(scored);
    comm->all_reduce_sum(sums);
    std::copy(sums.begin(), sums.begin() + n_segments, seg_correct.begin());
    std::copy(sums.begin() + n_segments, sums.begin() + 2 * n_segments, seg_sequences.begin());
    loss_sum = sums[2 * n_segments];
    scored = sums[2 * n_segments + 1];
  }
  EvalResult result;
  double correct = 0, sequences = 0;
  for (size_t s = 0; s < n_segments; ++s) {
    result.segment_accuracy.push_back(seg_sequences[s] > 0 ? seg_correct[s] / seg_sequences[s] : 0.0);
    correct += seg_correct[s];
    sequences += seg_sequences[s];
  }
  result.accuracy = sequences > 0 ? correct / sequences : 0.0;
  result.loss = scored > 0 ? loss_sum / scored : 0.0;
  return result;
}

}  // namespace mixlab
