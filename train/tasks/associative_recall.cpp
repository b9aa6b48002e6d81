#include "train/tasks/associative_recall.h"

#include "train/tasks/registry.h"
#include "train/tasks/sampling.h"

namespace mixlab {

AssociativeRecallTask::AssociativeRecallTask(const AssociativeRecallOptions& options) : opt_(options) {
  MIXLAB_CHECK(opt_.vocab_size >= 4, "task.vocab_size: ", opt_.vocab_size,
               " is too small for ar (need ≥ 4: pad, a key, a value, the separator)");
}

std::string AssociativeRecallTask::describe() const { return detail::concat("ar(vocab_size=", opt_.vocab_size, ")"); }

void AssociativeRecallTask::validate(const Segment& s) const {
  MIXLAB_CHECK(s.size >= 1, "ar needs at least 1 kv pair (here ", s.size, ")");
  MIXLAB_CHECK(2 * s.size + 2 <= s.seq_len, "ar needs 2·kv + 2 ≤ seq_len for the pairs, separator and query (here ",
               2 * s.size + 2, " > ", s.seq_len, ")");
}

Example AssociativeRecallTask::make_example(const Segment& s, uint64_t seed, uint64_t index) const {
  const int64_t L = s.seq_len, K = s.size, V = opt_.vocab_size;
  const int64_t first_value = V / 2, num_keys = V / 2 - 1, num_values = V - 1 - first_value;
  PhiloxStream rng(seed, index);
  // Safari fixes a random value for every key of the vocabulary, then draws
  // pairs from that map. Drawing a key's value when it first appears has the
  // same distribution and touches only the keys used.
  std::vector<int64_t> value_of(static_cast<size_t>(num_keys + 1), 0);  // by key token; 0 = not present
  std::vector<int64_t> present;                                         // distinct keys, first-seen order
  Example ex{std::vector<int64_t>(static_cast<size_t>(L), 0), std::vector<int64_t>(static_cast<size_t>(L), kIgnoreIndex)};
  for (int64_t i = 0; i < K; ++i) {
    const int64_t key = rng.range(1, 1 + num_keys);
    int64_t& value = value_of[static_cast<size_t>(key)];
    if (value == 0) {
      value = rng.range(first_value, first_value + num_values);
      present.push_back(key);
    }
    ex.inputs[static_cast<size_t>(2 * i)] = key;
    ex.inputs[static_cast<size_t>(2 * i + 1)] = value;
  }
  // The query is a key that appeared (Safari's allow_dot=False), uniform over
  // the distinct keys present.
  const int64_t query = present[rng.below(present.size())];
  ex.inputs[static_cast<size_t>(L - 2)] = separator();
  ex.inputs[static_cast<size_t>(L - 1)] = query;
  ex.targets[static_cast<size_t>(L - 1)] = value_of[static_cast<size_t>(query)];
  return ex;
}

TaskSpec associative_recall_task_spec() {
  TaskSpec spec;
  spec.name = "ar";
  spec.summary = "single-query associative recall (Safari): K kv pairs, separator, one key; its value at the last position";
  // Safari's default: input_seq_len 40 (20 pairs) plus separator and query.
  spec.default_train_segments = "42:20:5000";
  spec.default_test_segments = "42:20:500";
  spec.add_options = [](po::options_description& desc) {
    desc.add_options()("task.vocab_size", po::value<int64_t>()->default_value(AssociativeRecallOptions{}.vocab_size),
                       "vocabulary size V: pad 0, keys 1..V/2-1, values V/2..V-2, separator V-1");
  };
  spec.make = [](const po::variables_map& vm) -> std::unique_ptr<Task> {
    return std::make_unique<AssociativeRecallTask>(AssociativeRecallOptions{option<int64_t>(vm, "task.vocab_size")});
  };
  return spec;
}

}  // namespace mixlab
