#include "train/tasks/induction_heads.h"

#include "train/tasks/registry.h"
#include "train/tasks/sampling.h"

namespace mixlab {

InductionHeadsTask::InductionHeadsTask(const InductionHeadsOptions& options) : opt_(options) {
  MIXLAB_CHECK(opt_.vocab_size >= 3, "task.vocab_size: ", opt_.vocab_size,
               " is too small for induction (need ≥ 3: two content tokens and the trigger)");
}

std::string InductionHeadsTask::describe() const {
  return detail::concat("induction(vocab_size=", opt_.vocab_size, ")");
}

void InductionHeadsTask::validate(const Segment& s) const {
  MIXLAB_CHECK(s.size == 0, "induction has no size parameter: write L:0:N (here K=", s.size, ")");
  MIXLAB_CHECK(s.seq_len >= 4, "induction needs seq_len ≥ 4 (trigger, copied token, one more token, trigger; here ",
               s.seq_len, ")");
}

Example InductionHeadsTask::make_example(const Segment& s, uint64_t seed, uint64_t index) const {
  const int64_t L = s.seq_len, trig = trigger();
  PhiloxStream rng(seed, index);
  Example ex{std::vector<int64_t>(static_cast<size_t>(L)), std::vector<int64_t>(static_cast<size_t>(L), kIgnoreIndex)};
  for (int64_t t = 0; t < L - 1; ++t) ex.inputs[static_cast<size_t>(t)] = rng.range(0, trig);
  // Safari draws the trigger position from [0, n-2) over its n = L-1 random
  // tokens, so the copied token is never the one just before the final trigger.
  const int64_t p = rng.range(0, L - 3);
  ex.inputs[static_cast<size_t>(p)] = trig;
  ex.inputs[static_cast<size_t>(L - 1)] = trig;
  ex.targets[static_cast<size_t>(L - 1)] = ex.inputs[static_cast<size_t>(p + 1)];
  return ex;
}

TaskSpec induction_heads_task_spec() {
  TaskSpec spec;
  spec.name = "induction";
  spec.summary = "induction heads (Safari/Mamba): random tokens, trigger + token, trigger at the end; predict the token";
  spec.default_train_segments = "256:0:10000";  // Mamba trains at length 256
  spec.default_test_segments = "256:0:1000";
  spec.add_options = [](po::options_description& desc) {
    desc.add_options()("task.vocab_size", po::value<int64_t>()->default_value(InductionHeadsOptions{}.vocab_size),
                       "vocabulary size V: content tokens 0..V-2, trigger V-1");
  };
  spec.make = [](const po::variables_map& vm) -> std::unique_ptr<Task> {
    return std::make_unique<InductionHeadsTask>(InductionHeadsOptions{option<int64_t>(vm, "task.vocab_size")});
  };
  return spec;
}

}  // namespace mixlab
