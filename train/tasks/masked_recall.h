#pragma once
// Masked (bidirectional) recall, mixlab's own task for non-causal mixers:
// the kv block [k1 v1 ... kK vK], then each key once more at a uniformly
// chosen query slot, followed by a MASK token in place of its value; the
// target at each MASK position is the value. The model sees the whole
// sequence (causal() is false). Definition: docs/tasks.md.
#include "train/tasks/task.h"

namespace mixlab {

struct MaskedRecallOptions {
  int64_t vocab_size = 8192;
};

class MaskedRecallTask : public Task {
 public:
  explicit MaskedRecallTask(const MaskedRecallOptions& options);
  std::string name() const override { return "masked_recall"; }
  std::string describe() const override;
  int64_t vocab_size() const override { return opt_.vocab_size; }
  bool causal() const override { return false; }
  void validate(const Segment& s) const override;
  Example make_example(const Segment& s, uint64_t seed, uint64_t index) const override;

  // Token layout: empty 0, keys [1, V/2), values [V/2, V-1), MASK V-1.
  int64_t mask() const { return opt_.vocab_size - 1; }

 private:
  MaskedRecallOptions opt_;
};

}  // namespace mixlab
