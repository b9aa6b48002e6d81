#pragma once
// MQAR, multi-query associative recall, as Zoology generates it
// (Arora et al. 2023, HazyResearch/zoology `zoology/data/multiquery_ar.py`;
// definition in docs/tasks.md):
//   [k1 v1 ... kD vD] × passes, then query slots holding the D keys in random
//   order at power-law-distributed slots; the target at a query key's own
//   position is its value.
#include <vector>

#include "train/tasks/task.h"

namespace mixlab {

struct MqarOptions {
  int64_t vocab_size = 8192;
  double power_a = 0.01;
  int64_t passes = 1;
  bool random_non_queries = true;
};

class MqarTask : public Task {
 public:
  explicit MqarTask(const MqarOptions& options);  // throws naming the bad task.* key
  std::string name() const override { return "mqar"; }
  std::string describe() const override;
  int64_t vocab_size() const override { return opt_.vocab_size; }
  bool causal() const override { return true; }
  void validate(const Segment& s) const override;
  Example make_example(const Segment& s, uint64_t seed, uint64_t index) const override;

 private:
  MqarOptions opt_;
};

// The normalised power law over query slots: p[g] ∝ a·(g+1)^(a-1), g = 0..slots-1.
std::vector<double> mqar_slot_probabilities(int64_t slots, double power_a);

}  // namespace mixlab
