#pragma once
// Selective copying, as s4's torch_copying_data(variable=True) and the Mamba
// paper: M content tokens at sorted random positions among noise (0) tokens,
// then M marker tokens; at the markers the model outputs the content tokens in
// order. Definition: docs/tasks.md.
#include "train/tasks/task.h"

namespace mixlab {

struct SelectiveCopyOptions {
  int64_t vocab_size = 16;  // the Mamba paper's vocabulary
};

class SelectiveCopyTask : public Task {
 public:
  explicit SelectiveCopyTask(const SelectiveCopyOptions& options);
  std::string name() const override { return "selective_copy"; }
  std::string describe() const override;
  int64_t vocab_size() const override { return opt_.vocab_size; }
  bool causal() const override { return true; }
  void validate(const Segment& s) const override;
  Example make_example(const Segment& s, uint64_t seed, uint64_t index) const override;

  // Token layout: noise 0, content [1, V-2], marker V-1.
  int64_t marker() const { return opt_.vocab_size - 1; }

 private:
  SelectiveCopyOptions opt_;
};

}  // namespace mixlab
