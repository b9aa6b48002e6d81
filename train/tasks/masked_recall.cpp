#include "train/tasks/masked_recall.h"

#include <algorithm>

#include "train/tasks/registry.h"
#include "train/tasks/sampling.h"

namespace mixlab {

MaskedRecallTask::MaskedRecallTask(const MaskedRecallOptions& options) : opt_(options) {
  MIXLAB_CHECK(opt_.vocab_size >= 4, "task.vocab_size: ", opt_.vocab_size,
               " is too small for masked_recall (need ≥ 4: empty, a key, a value, MASK)");
}

std::string MaskedRecallTask::describe() const {
  return detail::concat("masked_recall(vocab_size=", opt_.vocab_size, ")");
}

void MaskedRecallTask::validate(const Segment& s) const {
  const int64_t L = s.seq_len, K = s.size, V = opt_.vocab_size;
  MIXLAB_CHECK(K >= 1, "masked_recall needs at least 1 kv pair (here ", K, ")");
  MIXLAB_CHECK(L % 2 == 0, "masked_recall needs an even seq_len (here ", L, ")");
  MIXLAB_CHECK(4 * K <= L, "masked_recall needs 4·kv ≤ seq_len for the kv block and the queries (here ", 4 * K, " > ",
               L, ")");
  const int64_t distinct = std::min(V / 2 - 1, V - 1 - V / 2);
  MIXLAB_CHECK(K <= distinct, "masked_recall needs kv ≤ ", distinct, " distinct keys and values for task.vocab_size ",
               V, " (here kv=", K, ")");
}

Example MaskedRecallTask::make_example(const Segment& s, uint64_t seed, uint64_t index) const {
  const int64_t L = s.seq_len, K = s.size, V = opt_.vocab_size;
  const int64_t slots = (L - 2 * K) / 2;
  PhiloxStream rng(seed, index);
  const std::vector<int64_t> keys = distinct_uniform(rng, 1, V / 2, K);
  const std::vector<int64_t> values = distinct_uniform(rng, V / 2, V - 1, K);
  // Uniform slots in a uniformly random order: key i goes to slots[i].
  const std::vector<int64_t> slot = distinct_uniform(rng, 0, slots, K);
  Example ex{std::vector<int64_t>(static_cast<size_t>(L), 0), std::vector<int64_t>(static_cast<size_t>(L), kIgnoreIndex)};
  for (int64_t i = 0; i < K; ++i) {
    const size_t k = static_cast<size_t>(i);
    ex.inputs[2 * k] = keys[k];
    ex.inputs[2 * k + 1] = values[k];
    const size_t q = static_cast<size_t>(2 * K + 2 * slot[k]);
    ex.inputs[q] = keys[k];
    ex.inputs[q + 1] = mask();
    ex.targets[q + 1] = values[k];  // unshifted: predicted at the MASK itself
  }
  return ex;
}

TaskSpec masked_recall_task_spec() {
  TaskSpec spec;
  spec.name = "masked_recall";
  spec.summary = "bidirectional recall: kv block, then each key followed by MASK; predict the value at the MASK";
  spec.default_train_segments = "64:4:100000";
  spec.default_test_segments = "64:4:3000";
  spec.add_options = [](po::options_description& desc) {
    desc.add_options()("task.vocab_size", po::value<int64_t>()->default_value(MaskedRecallOptions{}.vocab_size),
                       "vocabulary size V: empty 0, keys 1..V/2-1, values V/2..V-2, MASK V-1");
  };
  spec.make = [](const po::variables_map& vm) -> std::unique_ptr<Task> {
    return std::make_unique<MaskedRecallTask>(MaskedRecallOptions{option<int64_t>(vm, "task.vocab_size")});
  };
  return spec;
}

}  // namespace mixlab
