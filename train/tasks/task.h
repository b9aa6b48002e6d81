#pragma once
// The recall-task interface. A task turns (segment, seed, index) into one
// example, deterministically: the dataset (train/tasks/dataset.h) decides
// which (seed, index) pairs make up training and test data, the task only
// knows how to build one sequence. Exact definitions: docs/tasks.md.
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

// Targets equal to this are not scored (PyTorch's cross-entropy ignore_index).
constexpr int64_t kIgnoreIndex = -100;

// One (L, K, N) block of a dataset: N examples of length L. K is the task's
// size parameter: kv pairs (mqar, ar, masked_recall), tokens to copy
// (selective_copy), unused and 0 (induction). Written "L:K:N".
struct Segment {
  int64_t seq_len = 0;
  int64_t size = 0;
  int64_t num_examples = 0;
  bool operator==(const Segment&) const = default;
};

// inputs and targets have the segment's length L. targets[t] is what the
// model's output at position t must predict (for causal tasks the next-token
// shift is already applied), kIgnoreIndex where nothing is scored.
struct Example {
  std::vector<int64_t> inputs, targets;
};

struct Batch {
  Tensor inputs;    // i64 (B, L)
  Tensor targets;   // i64 (B, L)
  int segment = 0;  // index of the segment all rows come from (batches never mix lengths)
};

class Task {
 public:
  virtual ~Task() = default;
  virtual std::string name() const = 0;
  // "mqar(vocab_size=8192, power_a=0.01, ...)": the resolved options, for logs.
  virtual std::string describe() const = 0;
  virtual int64_t vocab_size() const = 0;
  // false: a bidirectional task (masked_recall); the model may look both ways.
  virtual bool causal() const = 0;
  // Throws mixlab::Error with one line saying what the segment needs, e.g.
  // "mqar needs 2·kv·passes + 2·kv ≤ seq_len (here 160 > 64)". The dataset
  // prefixes the config key and the segment ("task.train_segments: 64:40:100000: ...").
  virtual void validate(const Segment& s) const = 0;
  // Deterministic in (seed, index): the same pair always gives the same
  // example, in any order, on any thread count. `s` must have passed validate().
  virtual Example make_example(const Segment& s, uint64_t seed, uint64_t index) const = 0;
};

}  // namespace mixlab
