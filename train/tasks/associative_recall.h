#pragma once
// Single-query associative recall, Safari style (generate_assoc_recall):
// K key-value pairs drawn with replacement from a per-example key→value map,
// then a separator and one key that appeared; the target is its value, scored
// at the last position only. Definition: docs/tasks.md.
#include "train/tasks/task.h"

namespace mixlab {

struct AssociativeRecallOptions {
  int64_t vocab_size = 20;  // Safari's icl_synthetics default
};

class AssociativeRecallTask : public Task {
 public:
  explicit AssociativeRecallTask(const AssociativeRecallOptions& options);
  std::string name() const override { return "ar"; }
  std::string describe() const override;
  int64_t vocab_size() const override { return opt_.vocab_size; }
  bool causal() const override { return true; }
  void validate(const Segment& s) const override;
  Example make_example(const Segment& s, uint64_t seed, uint64_t index) const override;

  // Token layout: 0 pad, keys [1, V/2), values [V/2, V-1), separator V-1.
  int64_t separator() const { return opt_.vocab_size - 1; }

 private:
  AssociativeRecallOptions opt_;
};

}  // namespace mixlab
