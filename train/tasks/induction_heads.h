#pragma once
// Induction heads, Safari style (generate_induction_head; the Mamba paper's
// setting): random tokens with one trigger token followed by the token to
// copy; the trigger again at the end; the target at the last position is the
// copied token. Definition: docs/tasks.md.
#include "train/tasks/task.h"

namespace mixlab {

struct InductionHeadsOptions {
  int64_t vocab_size = 16;  // the Mamba paper's vocabulary
};

class InductionHeadsTask : public Task {
 public:
  explicit InductionHeadsTask(const InductionHeadsOptions& options);
  std::string name() const override { return "induction"; }
  std::string describe() const override;
  int64_t vocab_size() const override { return opt_.vocab_size; }
  bool causal() const override { return true; }
  void validate(const Segment& s) const override;
  Example make_example(const Segment& s, uint64_t seed, uint64_t index) const override;

  // Token layout: content tokens [0, V-1), the trigger V-1.
  int64_t trigger() const { return opt_.vocab_size - 1; }

 private:
  InductionHeadsOptions opt_;
};

}  // namespace mixlab
