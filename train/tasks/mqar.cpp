#include "train/tasks/mqar.h"

#include <cmath>

#include "layers/options.h"
#include "train/tasks/registry.h"
#include "train/tasks/sampling.h"

namespace mixlab {

MqarTask::MqarTask(const MqarOptions& options) : opt_(options) {
  // V ≥ 4 gives at least one key (1..V/2-1) and one value; V > L is checked per segment.
  MIXLAB_CHECK(opt_.vocab_size >= 4, "task.vocab_size: ", opt_.vocab_size, " is too small for mqar (need ≥ 4)");
  MIXLAB_CHECK(opt_.power_a > 0 && std::isfinite(opt_.power_a), "task.power_a: ", opt_.power_a,
               " must be > 0 (0.01: queries crowd the start; 1: uniform slots)");
  MIXLAB_CHECK(opt_.passes >= 1, "task.passes: ", opt_.passes, " must be ≥ 1");
}

std::string MqarTask::describe() const {
  return detail::concat("mqar(vocab_size=", opt_.vocab_size, ", power_a=", opt_.power_a, ", passes=", opt_.passes,
                        ", random_non_queries=", opt_.random_non_queries ? "true" : "false", ")");
}

void MqarTask::validate(const Segment& s) const {
  const int64_t L = s.seq_len, D = s.size;
  MIXLAB_CHECK(D >= 1, "mqar needs at least 1 kv pair (here ", D, ")");
  MIXLAB_CHECK(L % 2 == 0, "mqar needs an even seq_len (here ", L, ")");
  MIXLAB_CHECK(opt_.vocab_size > L, "mqar needs task.vocab_size > seq_len (here ", opt_.vocab_size, " ≤ ", L, ")");
  MIXLAB_CHECK(2 * D * opt_.passes + 2 * D <= L, "mqar needs 2·kv·passes + 2·kv ≤ seq_len (here ",
               2 * D * opt_.passes + 2 * D, " > ", L, "; kv=", D, ", passes=", opt_.passes, ")");
  // Implied by V > L ≥ 4·kv, kept so the sampler's precondition is visible here.
  MIXLAB_CHECK(D <= opt_.vocab_size / 2 - 1, "mqar needs kv ≤ task.vocab_size/2 - 1 distinct keys");
}

std::vector<double> mqar_slot_probabilities(int64_t slots, double power_a) {
  std::vector<double> p(static_cast<size_t>(slots));
  double total = 0;
  for (int64_t g = 0; g < slots; ++g) {
    p[static_cast<size_t>(g)] = power_a * std::pow(static_cast<double>(g + 1), power_a - 1);
    total += p[static_cast<size_t>(g)];
  }
  for (double& x : p) x /= total;
  return p;
}

Example MqarTask::make_example(const Segment& s, uint64_t seed, uint64_t index) const {
  const int64_t L = s.seq_len, D = s.size, V = opt_.vocab_size;
  const int64_t C = 2 * D * opt_.passes;  // the kv block, all passes
  const int64_t slots = (L - C) / 2;
  PhiloxStream rng(seed, index);
  const std::vector<int64_t> keys = distinct_uniform(rng, 1, V / 2, D);  // token 0 is never a key
  const std::vector<int64_t> values = distinct_uniform(rng, V / 2, V, D);
  const std::vector<int64_t> gaps = weighted_sample_without_replacement(rng, mqar_slot_probabilities(slots, opt_.power_a), D);
  // Which key goes to which drawn slot: a uniform permutation, so the query
  // order carries no information about the kv order.
  std::vector<int64_t> order(static_cast<size_t>(D));
  for (int64_t i = 0; i < D; ++i) order[static_cast<size_t>(i)] = i;
  shuffle(order, rng);

  Example ex{std::vector<int64_t>(static_cast<size_t>(L), 0), std::vector<int64_t>(static_cast<size_t>(L), kIgnoreIndex)};
  for (int64_t pass = 0; pass < opt_.passes; ++pass)
    for (int64_t i = 0; i < D; ++i) {
      ex.inputs[static_cast<size_t>(2 * (pass * D + i))] = keys[static_cast<size_t>(i)];
      ex.inputs[static_cast<size_t>(2 * (pass * D + i) + 1)] = values[static_cast<size_t>(i)];
    }
  for (int64_t i = 0; i < D; ++i) {
    // In Zoology's (L+1)-token sequence the label sits one after the query key;
    // after the shift (targets = labels[1:]) it is at the key's own position.
    const size_t pos = static_cast<size_t>(C + 2 * gaps[static_cast<size_t>(i)]);
    const size_t pair = static_cast<size_t>(order[static_cast<size_t>(i)]);
    ex.inputs[pos] = keys[pair];
    ex.targets[pos] = values[pair];
  }
  if (opt_.random_non_queries) {
    // One draw per position from its own counter range: the noise never shifts
    // the structure above, and the same (seed, index) with noise off differs
    // only at the filled positions.
    PhiloxStream noise(seed, index, kNoiseCounterBase);
    for (int64_t& token : ex.inputs) {
      const int64_t r = static_cast<int64_t>(noise.below(static_cast<uint64_t>(V)));
      if (token == 0) token = r;
    }
  }
  return ex;
}

TaskSpec mqar_task_spec() {
  TaskSpec spec;
  spec.name = "mqar";
  spec.summary = "multi-query associative recall (Zoology): D kv pairs, then the D keys as queries; value at each query";
  spec.default_train_segments = "64:4:100000";
  spec.default_test_segments = "64:4:3000";
  spec.add_options = [](po::options_description& desc) {
    const MqarOptions d;
    desc.add_options()
        ("task.vocab_size", po::value<int64_t>()->default_value(d.vocab_size),
         "vocabulary size V: keys 1..V/2-1, values V/2..V-1; must exceed seq_len")
        ("task.power_a", real_value(d.power_a),
         "power law of query slots, p(g) ∝ a(g+1)^(a-1); 1 = uniform")
        ("task.passes", po::value<int64_t>()->default_value(d.passes),
         "times the kv block is repeated before the queries (JRT)")
        ("task.random_non_queries", po::value<bool>()->default_value(d.random_non_queries, d.random_non_queries ? "true" : "false"),
         "fill the non-query positions after the kv block with uniform random tokens instead of 0");
  };
  spec.make = [](const po::variables_map& vm) -> std::unique_ptr<Task> {
    MqarOptions o;
    o.vocab_size = option<int64_t>(vm, "task.vocab_size");
    o.power_a = option<double>(vm, "task.power_a");
    o.passes = option<int64_t>(vm, "task.passes");
    o.random_non_queries = option<bool>(vm, "task.random_non_queries");
    return std::make_unique<MqarTask>(o);
  };
  return spec;
}

}  // namespace mixlab
