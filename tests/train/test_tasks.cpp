// The recall tasks and their dataset: generator invariants per task, the MQAR
// power law, determinism, seeds, epochs and batches, and input errors.
#include <omp.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <set>

#include "train/tasks/dataset.h"
#include "train/tasks/mqar.h"
#include "train/tasks/registry.h"
#include "train/tasks/sampling.h"
#include "train/tasks/segments.h"

using namespace mixlab;

namespace {

std::vector<size_t> scored_positions(const Example& ex) {
  std::vector<size_t> out;
  for (size_t t = 0; t < ex.targets.size(); ++t)
    if (ex.targets[t] != kIgnoreIndex) out.push_back(t);
  return out;
}

// Calls check(example) for examples 0..n-1 of one segment.
void for_examples(const Task& task, const Segment& s, int n, const std::function<void(const Example&)>& check) {
  task.validate(s);
  for (int i = 0; i < n; ++i) {
    const Example ex = task.make_example(s, 1234, static_cast<uint64_t>(i));
    REQUIRE(ex.inputs.size() == static_cast<size_t>(s.seq_len));
    REQUIRE(ex.targets.size() == static_cast<size_t>(s.seq_len));
    check(ex);
  }
}

// P(slot 0 is among the D slots) under successive weighted sampling without
// replacement, by enumerating every ordered draw sequence that avoids slot 0.
double exact_inclusion_of_slot0(const std::vector<double>& p, int draws) {
  std::vector<bool> used(p.size(), false);
  std::function<double(int, double)> excluded = [&](int left, double mass) -> double {
    if (left == 0) return 1.0;
    double sum = 0;
    for (size_t g = 1; g < p.size(); ++g) {
      if (used[g]) continue;
      used[g] = true;
      sum += p[g] / mass * excluded(left - 1, mass - p[g]);
      used[g] = false;
    }
    return sum;
  };
  return 1.0 - excluded(draws, 1.0);
}

std::map<std::string, std::set<uint64_t>> covered_by_epoch(const Dataset& data, int64_t epoch, int64_t batch_size,
                                                           size_t* total_rows) {
  std::map<std::string, std::set<uint64_t>> covered;
  for (int64_t b = 0; b < data.batches_per_epoch(batch_size); ++b) {
    const BatchPlan p = data.train_batch_plan(epoch, b, batch_size);
    for (uint64_t i : p.indices) covered[std::to_string(p.segment)].insert(i);
    *total_rows += p.indices.size();
  }
  return covered;
}

}  // namespace

// ---- the random primitives ---------------------------------------------------

TEST_CASE("PhiloxStream: bounded draws stay in range and reach both ends", "[tasks]") {
  PhiloxStream rng(7, 3);
  std::set<uint64_t> seen;
  for (int i = 0; i < 2000; ++i) {
    const uint64_t x = rng.below(10);
    REQUIRE(x < 10);
    seen.insert(x);
    const double u = rng.uniform();
    REQUIRE(u > 0.0);
    REQUIRE(u < 1.0);
    REQUIRE(rng.below(uint64_t{1} << 40) < (uint64_t{1} << 40));
  }
  CHECK(seen.size() == 10);
  // Same (key, stream, counter) -> same numbers; another stream -> others.
  PhiloxStream a(5, 9), b(5, 9), c(5, 10);
  std::vector<uint64_t> va, vb, vc;
  for (int i = 0; i < 8; ++i) va.push_back(a.next_u64()), vb.push_back(b.next_u64()), vc.push_back(c.next_u64());
  CHECK(va == vb);
  CHECK(va != vc);
}

TEST_CASE("distinct_uniform and shuffle: distinct, in range, every value reachable", "[tasks]") {
  PhiloxStream rng(11, 0);
  std::vector<int> hits(20, 0);
  for (int i = 0; i < 500; ++i) {
    const std::vector<int64_t> v = distinct_uniform(rng, 100, 120, 5);
    REQUIRE(v.size() == 5);
    REQUIRE(std::set<int64_t>(v.begin(), v.end()).size() == 5);
    for (int64_t x : v) {
      REQUIRE(x >= 100);
      REQUIRE(x < 120);
      ++hits[static_cast<size_t>(x - 100)];
    }
  }
  // 2500 draws over 20 values: each about 125; a sampler stuck on part of the
  // range would leave some at 0.
  for (int h : hits) CHECK(h > 60);
  std::vector<int> items{0, 1, 2, 3, 4, 5, 6, 7};
  shuffle(items, rng);
  std::vector<int> sorted = items;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7});
  CHECK_THROWS_AS(distinct_uniform(rng, 0, 3, 4), Error);
}

// ---- MQAR --------------------------------------------------------------------

TEST_CASE("mqar: kv block, passes, token ranges and exactly D scored queries", "[tasks]") {
  struct Case {
    int64_t vocab, L, D, passes;
  };
  for (const Case c : {Case{8192, 64, 4, 1}, Case{80, 64, 8, 2}, Case{8192, 64, 16, 1}, Case{300, 256, 16, 3}}) {
    DYNAMIC_SECTION("V=" << c.vocab << " L=" << c.L << " D=" << c.D << " passes=" << c.passes) {
      const auto task = make_task_from_args(
          "mqar", {"task.vocab_size=" + std::to_string(c.vocab), "task.passes=" + std::to_string(c.passes),
                   "task.random_non_queries=false"});
      const int64_t C = 2 * c.D * c.passes;
      for_examples(*task, {c.L, c.D, 1}, 200, [&](const Example& ex) {
        std::map<int64_t, int64_t> value_of;
        std::set<int64_t> values;
        for (int64_t i = 0; i < c.D; ++i) {
          const int64_t k = ex.inputs[2 * i], v = ex.inputs[2 * i + 1];
          REQUIRE(k >= 1);
          REQUIRE(k < c.vocab / 2);
          REQUIRE(v >= c.vocab / 2);
          REQUIRE(v < c.vocab);
          value_of[k] = v;
          values.insert(v);
          for (int64_t pass = 1; pass < c.passes; ++pass) {  // later passes repeat the block
            REQUIRE(ex.inputs[2 * (pass * c.D + i)] == k);
            REQUIRE(ex.inputs[2 * (pass * c.D + i) + 1] == v);
          }
        }
        REQUIRE(value_of.size() == static_cast<size_t>(c.D));  // keys unique
        REQUIRE(values.size() == static_cast<size_t>(c.D));    // values unique
        const std::vector<size_t> scored = scored_positions(ex);
        REQUIRE(scored.size() == static_cast<size_t>(c.D));
        std::set<int64_t> queried;
        for (size_t t : scored) {
          REQUIRE(static_cast<int64_t>(t) >= C);
          REQUIRE((t - C) % 2 == 0);  // a query slot
          REQUIRE(value_of.count(ex.inputs[t]) == 1);
          REQUIRE(ex.targets[t] == value_of[ex.inputs[t]]);
          queried.insert(ex.inputs[t]);
        }
        REQUIRE(queried.size() == static_cast<size_t>(c.D));  // every key queried once
        for (int64_t t = C; t < c.L; ++t)
          if (ex.targets[t] == kIgnoreIndex) REQUIRE(ex.inputs[t] == 0);
      });
    }
  }
}

TEST_CASE("mqar: random_non_queries fills the zeros and nothing else", "[tasks]") {
  const auto plain = make_task_from_args("mqar", {"task.random_non_queries=false"});
  const auto noisy = make_task_from_args("mqar", {"task.random_non_queries=true"});
  const Segment s{64, 4, 1};
  int64_t filled = 0, still_zero = 0;
  std::set<int64_t> noise_tokens;
  for (uint64_t i = 0; i < 200; ++i) {
    const Example a = plain->make_example(s, 99, i), b = noisy->make_example(s, 99, i);
    REQUIRE(a.targets == b.targets);
    for (size_t t = 0; t < a.inputs.size(); ++t) {
      REQUIRE(b.inputs[t] >= 0);
      REQUIRE(b.inputs[t] < 8192);
      if (a.inputs[t] != 0) {
        REQUIRE(b.inputs[t] == a.inputs[t]);
      } else {
        ++filled;
        still_zero += b.inputs[t] == 0;
        noise_tokens.insert(b.inputs[t]);
      }
    }
  }
  CHECK(filled == 200 * (64 - 8 - 4));
  CHECK(still_zero < filled / 100);  // uniform over 8192 tokens: ~1/8192 stay 0
  CHECK(noise_tokens.size() > static_cast<size_t>(filled / 2));
}

TEST_CASE("mqar: query slots follow the power law", "[tasks]") {
  // docs/tasks.md: P(first slot) ≈ 0.25 at L=64/D=4 and ≈ 0.17 at L=512/D=64.
  CHECK(mqar_slot_probabilities(28, 0.01)[0] == Approx(0.25).margin(0.01));
  CHECK(mqar_slot_probabilities(192, 0.01)[0] == Approx(0.17).margin(0.01));

  const std::vector<double> p = mqar_slot_probabilities(28, 0.01);  // L=64, D=4: 28 slots
  // The sampler's first draw lands on slot 0 with probability p[0].
  PhiloxStream rng(5, 0);
  int first_is_zero = 0;
  const int trials = 4000;
  for (int i = 0; i < trials; ++i) first_is_zero += weighted_sample_without_replacement(rng, p, 4)[0] == 0;
  CHECK(static_cast<double>(first_is_zero) / trials == Approx(p[0]).margin(0.03));  // σ ≈ 0.007

  // Generated examples: slot 0 (position C = 8) holds a query with the exact
  // inclusion probability of successive sampling (≈ 0.6; uniform slots: 4/28).
  const double expected = exact_inclusion_of_slot0(p, 4);
  const Segment s{64, 4, 1};
  auto slot0_rate = [&](const Task& task) {
    int used = 0;
    for (uint64_t i = 0; i < static_cast<uint64_t>(trials); ++i)
      used += task.make_example(s, 2024, i).targets[8] != kIgnoreIndex;
    return static_cast<double>(used) / trials;
  };
  CHECK(slot0_rate(*make_task_from_args("mqar")) == Approx(expected).margin(0.03));
  // power_a = 1 makes the slots uniform: slot 0 used with probability D/S.
  CHECK(slot0_rate(*make_task_from_args("mqar", {"task.power_a=1"})) == Approx(4.0 / 28).margin(0.03));

  // Queries come in random order: the first query asks for the first kv pair's
  // key 1 time in D. (Assigning keys to slots in draw order would make early
  // pairs early queries: the first draw tends to be the smallest slot.)
  const auto task = make_task_from_args("mqar");
  int first_pair_first = 0;
  for (uint64_t i = 0; i < static_cast<uint64_t>(trials); ++i) {
    const Example ex = task->make_example(s, 31, i);
    first_pair_first += ex.inputs[scored_positions(ex)[0]] == ex.inputs[0];
  }
  CHECK(static_cast<double>(first_pair_first) / trials == Approx(0.25).margin(0.03));
}

// ---- the other tasks ---------------------------------------------------------

TEST_CASE("ar: pairs, separator, a present query key and its value at the last position", "[tasks]") {
  const int64_t V = 20;
  const auto task = make_task_from_args("ar", {"task.vocab_size=20"});
  for (const Segment s : {Segment{42, 20, 1}, Segment{30, 5, 1}}) {
    DYNAMIC_SECTION("L=" << s.seq_len << " K=" << s.size) {
      for_examples(*task, s, 300, [&](const Example& ex) {
        const int64_t L = s.seq_len, K = s.size;
        std::map<int64_t, int64_t> value_of;
        for (int64_t i = 0; i < K; ++i) {
          const int64_t k = ex.inputs[2 * i], v = ex.inputs[2 * i + 1];
          REQUIRE(k >= 1);
          REQUIRE(k < V / 2);
          REQUIRE(v >= V / 2);
          REQUIRE(v < V - 1);
          if (value_of.count(k)) REQUIRE(value_of[k] == v);  // a key keeps its value
          value_of[k] = v;
        }
        for (int64_t t = 2 * K; t < L - 2; ++t) REQUIRE(ex.inputs[t] == 0);  // padding
        REQUIRE(ex.inputs[L - 2] == V - 1);                                   // separator
        const int64_t q = ex.inputs[L - 1];
        REQUIRE(value_of.count(q) == 1);
        REQUIRE(scored_positions(ex) == std::vector<size_t>{static_cast<size_t>(L - 1)});
        REQUIRE(ex.targets[L - 1] == value_of[q]);
      });
    }
  }
}

TEST_CASE("induction: one trigger + token inside, trigger at the end, the token is the target", "[tasks]") {
  const int64_t V = 16;
  const auto task = make_task_from_args("induction");
  REQUIRE(task->vocab_size() == V);
  for (const int64_t L : {8, 64}) {
    std::set<int64_t> trigger_positions;
    for_examples(*task, {L, 0, 1}, 1000, [&](const Example& ex) {
      std::vector<int64_t> triggers;
      for (int64_t t = 0; t < L; ++t) {
        REQUIRE(ex.inputs[t] >= 0);
        REQUIRE(ex.inputs[t] < V);
        if (ex.inputs[t] == V - 1) triggers.push_back(t);
      }
      REQUIRE(triggers.size() == 2);
      REQUIRE(triggers[1] == L - 1);
      trigger_positions.insert(triggers[0]);
      REQUIRE(scored_positions(ex) == std::vector<size_t>{static_cast<size_t>(L - 1)});
      REQUIRE(ex.targets[L - 1] == ex.inputs[triggers[0] + 1]);
    });
    // Safari's range: the first trigger sits in [0, L-3).
    CHECK(*trigger_positions.begin() == 0);
    CHECK(*trigger_positions.rbegin() == L - 4);
  }
}

TEST_CASE("selective_copy: M tokens among noise, M markers, the tokens in order at the markers", "[tasks]") {
  const int64_t V = 16;
  const auto task = make_task_from_args("selective_copy");
  for (const Segment s : {Segment{40, 8, 1}, Segment{16, 8, 1}}) {
    DYNAMIC_SECTION("L=" << s.seq_len << " M=" << s.size) {
      const int64_t L = s.seq_len, M = s.size;
      for_examples(*task, s, 300, [&](const Example& ex) {
        std::vector<int64_t> content;
        for (int64_t t = 0; t < L - M; ++t) {
          REQUIRE(ex.inputs[t] >= 0);
          REQUIRE(ex.inputs[t] <= V - 2);
          if (ex.inputs[t] != 0) content.push_back(ex.inputs[t]);
          REQUIRE(ex.targets[t] == kIgnoreIndex);
        }
        REQUIRE(content.size() == static_cast<size_t>(M));
        for (int64_t j = 0; j < M; ++j) {
          REQUIRE(ex.inputs[L - M + j] == V - 1);
          REQUIRE(ex.targets[L - M + j] == content[static_cast<size_t>(j)]);
        }
      });
    }
  }
}

TEST_CASE("masked_recall: each key once more followed by MASK, the value is the target at the MASK", "[tasks]") {
  const int64_t V = 64;
  const auto task = make_task_from_args("masked_recall", {"task.vocab_size=64"});
  CHECK_FALSE(task->causal());
  for (const Segment s : {Segment{64, 4, 1}, Segment{32, 8, 1}}) {
    DYNAMIC_SECTION("L=" << s.seq_len << " K=" << s.size) {
      const int64_t L = s.seq_len, K = s.size;
      for_examples(*task, s, 300, [&](const Example& ex) {
        std::map<int64_t, int64_t> value_of;
        std::set<int64_t> values;
        for (int64_t i = 0; i < K; ++i) {
          const int64_t k = ex.inputs[2 * i], v = ex.inputs[2 * i + 1];
          REQUIRE(k >= 1);
          REQUIRE(k < V / 2);
          REQUIRE(v >= V / 2);
          REQUIRE(v < V - 1);
          value_of[k] = v;
          values.insert(v);
        }
        REQUIRE(value_of.size() == static_cast<size_t>(K));
        REQUIRE(values.size() == static_cast<size_t>(K));
        const std::vector<size_t> scored = scored_positions(ex);
        REQUIRE(scored.size() == static_cast<size_t>(K));
        std::set<int64_t> queried;
        for (size_t t : scored) {
          REQUIRE(ex.inputs[t] == V - 1);  // MASK
          REQUIRE(static_cast<int64_t>(t) >= 2 * K + 1);
          REQUIRE((t - 1 - 2 * K) % 2 == 0);
          REQUIRE(value_of.count(ex.inputs[t - 1]) == 1);
          REQUIRE(ex.targets[t] == value_of[ex.inputs[t - 1]]);
          queried.insert(ex.inputs[t - 1]);
        }
        REQUIRE(queried.size() == static_cast<size_t>(K));
        const int64_t masks = std::count(ex.inputs.begin(), ex.inputs.end(), V - 1);
        const int64_t empty = std::count(ex.inputs.begin(), ex.inputs.end(), 0);
        REQUIRE(masks == K);
        REQUIRE(empty == L - 4 * K);
      });
    }
  }
}

// ---- determinism ---------------------------------------------------------------

TEST_CASE("every task: an example depends only on (seed, index)", "[tasks]") {
  for (const TaskSpec& spec : task_registry()) {
    DYNAMIC_SECTION(spec.name) {
      const auto task = make_task_from_args(spec.name);
      const Segment s = parse_segments(spec.default_train_segments, "default")[0];
      std::vector<Example> forward, backward(10);
      for (uint64_t i = 0; i < 10; ++i) forward.push_back(task->make_example(s, 77, i));
      for (uint64_t i = 10; i-- > 0;) backward[i] = task->make_example(s, 77, i);
      int differing = 0;
      for (size_t i = 0; i < 10; ++i) {
        REQUIRE(forward[i].inputs == backward[i].inputs);
        REQUIRE(forward[i].targets == backward[i].targets);
        differing += forward[i].inputs != task->make_example(s, 78, i).inputs;
        if (i > 0) differing += forward[i].inputs != forward[i - 1].inputs;
      }
      CHECK(differing == 19);  // another seed or index gives another example
    }
  }
}

TEST_CASE("make_batch: the same rows on 1 thread and on 4", "[tasks]") {
  const auto task = make_task_from_args("mqar");
  const Segment s{64, 4, 1};
  std::vector<uint64_t> indices;
  for (uint64_t i = 0; i < 256; ++i) indices.push_back(i * 7 + 3);
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const Batch one = make_batch(*task, s, 42, indices, 0);
  omp_set_num_threads(4);
  const Batch four = make_batch(*task, s, 42, indices, 0);
  omp_set_num_threads(before);
  CHECK(one.inputs.to_indices() == four.inputs.to_indices());
  CHECK(one.targets.to_indices() == four.targets.to_indices());
  const Example row5 = task->make_example(s, 42, indices[5]);
  const std::vector<int64_t> flat = one.inputs.to_indices();
  CHECK(std::vector<int64_t>(flat.begin() + 5 * 64, flat.begin() + 6 * 64) == row5.inputs);
}

// ---- the dataset ---------------------------------------------------------------

TEST_CASE("dataset: train seeds below 2^31, test seeds from 2^31 to 2^32, derived from the master seed", "[tasks]") {
  std::shared_ptr<const Task> task = make_task_from_args("mqar");
  const std::vector<Segment> train = parse_segments("64:4:10,128:8:10,256:16:10", "t");
  const std::vector<Segment> test = parse_segments("64:4:5,128:8:5", "t");
  const Dataset a(task, train, test), b(task, train, test), c(task, train, test, 124);
  const Dataset fewer_train(task, {train[0]}, test);
  const uint64_t half = uint64_t{1} << 31;
  std::set<uint64_t> all;
  for (size_t i = 0; i < train.size(); ++i) {
    CHECK(a.train_seed(i) < half);
    CHECK(a.train_seed(i) == b.train_seed(i));
    CHECK(a.train_seed(i) != c.train_seed(i));
    all.insert(a.train_seed(i));
  }
  for (size_t i = 0; i < test.size(); ++i) {
    CHECK(a.test_seed(i) >= half);
    CHECK(a.test_seed(i) < 2 * half);
    CHECK(a.test_seed(i) == fewer_train.test_seed(i));  // the test set ignores the training mix
    all.insert(a.test_seed(i));
  }
  CHECK(all.size() == train.size() + test.size());
  CHECK(a.master_seed() == kDefaultDataSeed);
}

TEST_CASE("dataset: fixed examples reshuffle every epoch and cover the same examples", "[tasks]") {
  std::shared_ptr<const Task> task = make_task_from_args("mqar");
  const Dataset data(task, parse_segments("64:4:37,128:8:20", "t"), parse_segments("64:4:10", "t"));
  const int64_t B = 8;
  REQUIRE(data.batches_per_epoch(B) == 5 + 3);  // ceil(37/8) + ceil(20/8)
  std::vector<std::vector<uint64_t>> orders;
  for (int64_t epoch : {0, 1, 2}) {
    size_t rows = 0;
    const auto covered = covered_by_epoch(data, epoch, B, &rows);
    CHECK(rows == 57);  // each example exactly once
    REQUIRE(covered.at("0").size() == 37);
    REQUIRE(covered.at("1").size() == 20);
    CHECK(*covered.at("0").rbegin() == 36);
    CHECK(*covered.at("1").rbegin() == 19);
    std::vector<uint64_t> order;
    for (int64_t b = 0; b < data.batches_per_epoch(B); ++b) {
      const BatchPlan p = data.train_batch_plan(epoch, b, B);
      order.push_back(static_cast<uint64_t>(p.segment) << 32);
      order.insert(order.end(), p.indices.begin(), p.indices.end());
    }
    orders.push_back(order);
  }
  CHECK(orders[0] != orders[1]);
  CHECK(orders[1] != orders[2]);

  // Batches hold one segment's rows, generated from that segment's seed.
  for (int64_t b = 0; b < data.batches_per_epoch(B); ++b) {
    const BatchPlan p = data.train_batch_plan(1, b, B);
    const Batch batch = data.train_batch(1, b, B);
    const Segment& s = data.train_segments()[static_cast<size_t>(p.segment)];
    REQUIRE(batch.segment == p.segment);
    REQUIRE(batch.inputs.shape() == Shape{static_cast<int64_t>(p.indices.size()), s.seq_len});
    REQUIRE(batch.targets.shape() == batch.inputs.shape());
    const Example last = task->make_example(s, data.train_seed(static_cast<size_t>(p.segment)), p.indices.back());
    const std::vector<int64_t> targets = batch.targets.to_indices();
    REQUIRE(std::vector<int64_t>(targets.end() - s.seq_len, targets.end()) == last.targets);
  }
  // A second dataset built the same way gives the same batches.
  const Dataset again(task, parse_segments("64:4:37,128:8:20", "t"), parse_segments("64:4:10", "t"));
  CHECK(again.train_batch(2, 3, B).inputs.to_indices() == data.train_batch(2, 3, B).inputs.to_indices());
  CHECK_THROWS_WITH(data.train_batch(0, 8, B), Catch::Contains("out of range"));
  CHECK_THROWS_WITH(data.batches_per_epoch(0), Catch::Contains("batch_size"));
}

TEST_CASE("dataset: fresh examples never repeat, epoch e uses indices e·N .. (e+1)·N-1", "[tasks]") {
  std::shared_ptr<const Task> task = make_task_from_args("induction");
  const Dataset data(task, parse_segments("32:0:30,16:0:12", "t"), parse_segments("32:0:4", "t"), 5,
                     TrainExamples::Fresh);
  for (int64_t epoch : {0, 3}) {
    size_t rows = 0;
    const auto covered = covered_by_epoch(data, epoch, 8, &rows);
    CHECK(rows == 42);
    CHECK(covered.at("0").size() == 30);
    CHECK(*covered.at("0").begin() == static_cast<uint64_t>(epoch * 30));
    CHECK(*covered.at("0").rbegin() == static_cast<uint64_t>(epoch * 30 + 29));
    CHECK(*covered.at("1").begin() == static_cast<uint64_t>(epoch * 12));
  }
}

TEST_CASE("dataset: the test set is fixed, segment by segment, from the test seeds", "[tasks]") {
  std::shared_ptr<const Task> task = make_task_from_args("mqar");
  const Dataset data(task, parse_segments("64:4:100", "t"), parse_segments("64:4:10,128:8:5", "t"));
  const std::vector<Batch> batches = data.test_batches(4);
  REQUIRE(batches.size() == 3 + 2);
  const std::vector<int> segments{0, 0, 0, 1, 1};
  const std::vector<int64_t> rows{4, 4, 2, 4, 1};
  for (size_t b = 0; b < batches.size(); ++b) {
    CHECK(batches[b].segment == segments[b]);
    CHECK(batches[b].inputs.size(0) == rows[b]);
  }
  const Example first_of_second = task->make_example({128, 8, 5}, data.test_seed(1), 0);
  const std::vector<int64_t> inputs = batches[3].inputs.to_indices();
  CHECK(std::vector<int64_t>(inputs.begin(), inputs.begin() + 128) == first_of_second.inputs);
  CHECK(data.test_batches(4)[4].targets.to_indices() == batches[4].targets.to_indices());
}

// ---- configuration and errors ----------------------------------------------------

TEST_CASE("segment lists: parse, format, and errors naming the key and the item", "[tasks]") {
  const std::vector<Segment> s = parse_segments("64:4:100000, 128 : 8 : 20000", "task.train_segments");
  REQUIRE(s.size() == 2);
  CHECK(s[0] == Segment{64, 4, 100000});
  CHECK(s[1] == Segment{128, 8, 20000});
  CHECK(format_segments(s) == "64:4:100000,128:8:20000");
  const std::string key = "task.train_segments";
  CHECK_THROWS_WITH(parse_segments("64:4,128:8:20000", key),
                    Catch::Contains("task.train_segments") && Catch::Contains("bad item '64:4'"));
  CHECK_THROWS_WITH(parse_segments("64:x:10", key), Catch::Contains(key) && Catch::Contains("'x' is not an integer"));
  CHECK_THROWS_WITH(parse_segments("64:4:10,", key), Catch::Contains(key) && Catch::Contains("bad item ''"));
  CHECK_THROWS_WITH(parse_segments("  ", key), Catch::Contains(key) && Catch::Contains("no segments"));
  CHECK_THROWS_WITH(parse_segments("0:4:10", key), Catch::Contains(key) && Catch::Contains("seq_len"));
  CHECK_THROWS_WITH(parse_segments("64:-1:10", key), Catch::Contains(key) && Catch::Contains("size K"));
  CHECK_THROWS_WITH(parse_segments("64:4:0", "task.test_segments"),
                    Catch::Contains("task.test_segments") && Catch::Contains("num_examples"));
  CHECK_THROWS_WITH(parse_segments("64:4:1e5", key), Catch::Contains("'1e5' is not an integer"));
}

TEST_CASE("validation: segments a task cannot hold are rejected naming the key and the item", "[tasks]") {
  auto build = [](const std::string& name, const std::vector<std::string>& args, const std::string& train,
                  const std::string& test = "") {
    std::shared_ptr<const Task> task = make_task_from_args(name, args);
    const Segment fits = parse_segments(find_task(name).default_test_segments, "t")[0];
    Dataset(task, parse_segments(train, kTrainSegmentsKey),
            test.empty() ? std::vector<Segment>{fits} : parse_segments(test, kTestSegmentsKey));
  };
  using Catch::Contains;
  CHECK_THROWS_WITH(build("mqar", {}, "64:4:10,64:40:100000"),
                    Contains("task.train_segments: 64:40:100000") && Contains("2·kv·passes + 2·kv ≤ seq_len"));
  CHECK_THROWS_WITH(build("mqar", {"task.passes=4"}, "64:8:10"), Contains("passes=4"));
  CHECK_THROWS_WITH(build("mqar", {}, "63:4:10"), Contains("task.train_segments: 63:4:10") && Contains("even"));
  CHECK_THROWS_WITH(build("mqar", {"task.vocab_size=64"}, "64:4:10", "32:4:10"),
                    Contains("task.train_segments") && Contains("task.vocab_size > seq_len"));
  CHECK_THROWS_WITH(build("mqar", {}, "64:4:10", "64:4:10,128:40:10"),
                    Contains("task.test_segments: 128:40:10"));
  CHECK_THROWS_WITH(build("mqar", {}, "64:0:10"), Contains("at least 1 kv pair"));
  CHECK_THROWS_WITH(build("ar", {}, "10:5:10"), Contains("task.train_segments: 10:5:10") && Contains("2·kv + 2"));
  CHECK_THROWS_WITH(build("induction", {}, "64:3:10"), Contains("task.train_segments") && Contains("L:0:N"));
  CHECK_THROWS_WITH(build("induction", {}, "3:0:10"), Contains("seq_len ≥ 4"));
  CHECK_THROWS_WITH(build("selective_copy", {}, "10:8:10"), Contains("task.train_segments") && Contains("2·tokens"));
  CHECK_THROWS_WITH(build("masked_recall", {}, "16:5:10"), Contains("task.train_segments") && Contains("4·kv"));
  CHECK_THROWS_WITH(build("masked_recall", {"task.vocab_size=8"}, "64:4:10", "64:4:10"),
                    Contains("task.vocab_size 8"));
  std::shared_ptr<const Task> mqar = make_task_from_args("mqar");
  CHECK_THROWS_WITH(Dataset(mqar, {}, {}), Contains("task.train_segments") && Contains("no training segments"));
}

TEST_CASE("registry: every task, its defaults, and option errors naming the key", "[tasks]") {
  std::vector<std::string> names;
  for (const TaskSpec& spec : task_registry()) names.push_back(spec.name);
  CHECK(names == std::vector<std::string>{"mqar", "ar", "induction", "selective_copy", "masked_recall"});
  CHECK_THROWS_WITH(make_task_from_args("nope"),
                    Catch::Contains("unknown task 'nope'") &&
                        Catch::Contains("allowed: mqar, ar, induction, selective_copy, masked_recall"));
  for (const TaskSpec& spec : task_registry()) {
    DYNAMIC_SECTION(spec.name) {
      // The defaults make a valid dataset: the default segments fit the default options.
      const po::variables_map vm = parse_options(task_options(spec.name));
      std::shared_ptr<const Task> task = make_task(spec.name, vm);
      CHECK(task->name() == spec.name);
      CHECK(task->describe().rfind(spec.name + "(vocab_size=", 0) == 0);
      const Dataset data = make_dataset(task, vm);
      CHECK(data.master_seed() == kDefaultDataSeed);
      CHECK(data.train_examples() == TrainExamples::Fixed);
      CHECK(data.batches_per_epoch(32) > 0);
      CHECK(task->causal() == (spec.name != "masked_recall"));
      CHECK_THROWS_WITH(make_task_from_args(spec.name, {"task.vocab_size=2"}), Catch::Contains("task.vocab_size: 2"));
    }
  }
  CHECK(make_task_from_args("mqar")->vocab_size() == 8192);
  CHECK(make_task_from_args("induction")->vocab_size() == 16);
  CHECK(make_task_from_args("mqar", {"task.vocab_size=256"})->vocab_size() == 256);
  CHECK_THROWS_WITH(make_task_from_args("mqar", {"task.power_a=0"}), Catch::Contains("task.power_a"));
  CHECK_THROWS_WITH(make_task_from_args("mqar", {"task.passes=0"}), Catch::Contains("task.passes"));
  CHECK_THROWS_AS(make_task_from_args("induction", {"task.power_a=0.5"}), Error);  // not an induction option
  const po::variables_map fresh =
      parse_options(task_options("mqar"), {"task.fresh_examples=true", "task.data_seed=7", "task.train_segments=64:4:9"});
  const Dataset data = make_dataset(make_task_from_args("mqar"), fresh);
  CHECK(data.train_examples() == TrainExamples::Fresh);
  CHECK(data.master_seed() == 7);
  CHECK(data.train_segments() == std::vector<Segment>{{64, 4, 9}});
  CHECK_THROWS_WITH(make_dataset(make_task_from_args("mqar"), parse_options(task_options("mqar"), {"task.data_seed=-1"})),
                    Catch::Contains("task.data_seed"));
}
