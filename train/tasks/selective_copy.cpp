#include "train/tasks/selective_copy.h"

#include <algorithm>

#include "train/tasks/registry.h"
#include "train/tasks/sampling.h"

namespace mixlab {

SelectiveCopyTask::SelectiveCopyTask(const SelectiveCopyOptions& options) : opt_(options) {
  MIXLAB_CHECK(opt_.vocab_size >= 3, "task.vocab_size: ", opt_.vocab_size,
               " is too small for selective_copy (need ≥ 3: noise, a content token, the marker)");
}

std::string SelectiveCopyTask::describe() const {
  return detail::concat("selective_copy(vocab_size=", opt_.vocab_size, ")");
}

void SelectiveCopyTask::validate(const Segment& s) const {
  MIXLAB_CHECK(s.size >= 1, "selective_copy needs at least 1 token to copy (here ", s.size, ")");
  MIXLAB_CHECK(2 * s.size <= s.seq_len, "selective_copy needs 2·tokens ≤ seq_len for the tokens and their markers (here ",
               2 * s.size, " > ", s.seq_len, ")");
}

Example SelectiveCopyTask::make_example(const Segment& s, uint64_t seed, uint64_t index) const {
  const int64_t L = s.seq_len, M = s.size, region = L - M;  // region: content + noise, s4's L+M
  PhiloxStream rng(seed, index);
  Example ex{std::vector<int64_t>(static_cast<size_t>(L), 0), std::vector<int64_t>(static_cast<size_t>(L), kIgnoreIndex)};
  std::vector<int64_t> positions = distinct_uniform(rng, 0, region, M);
  std::sort(positions.begin(), positions.end());
  for (int64_t j = 0; j < M; ++j) {
    const int64_t token = rng.range(1, marker());  // s4: randint(1, A-1)
    ex.inputs[static_cast<size_t>(positions[static_cast<size_t>(j)])] = token;
    ex.inputs[static_cast<size_t>(region + j)] = marker();
    ex.targets[static_cast<size_t>(region + j)] = token;
  }
  return ex;
}

TaskSpec selective_copy_task_spec() {
  TaskSpec spec;
  spec.name = "selective_copy";
  spec.summary = "selective copying (s4/Mamba): M tokens scattered in noise, then M markers; output the tokens in order";
  // 256 noise tokens + 16 tokens + 16 markers; Mamba's setting is 4128:16:N (4096 noise tokens).
  spec.default_train_segments = "288:16:10000";
  spec.default_test_segments = "288:16:1000";
  spec.add_options = [](po::options_description& desc) {
    desc.add_options()("task.vocab_size", po::value<int64_t>()->default_value(SelectiveCopyOptions{}.vocab_size),
                       "vocabulary size V: noise 0, content tokens 1..V-2, marker V-1");
  };
  spec.make = [](const po::variables_map& vm) -> std::unique_ptr<Task> {
    return std::make_unique<SelectiveCopyTask>(SelectiveCopyOptions{option<int64_t>(vm, "task.vocab_size")});
  };
  return spec;
}

}  // namespace mixlab
