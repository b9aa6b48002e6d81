#pragma once
// Dataset: which (seed, index) pairs make up the training and test data of a
// task, and in which order training batches come. Examples are never stored:
// a batch is generated on demand from its (segment seed, example index) list,
// which is cheap and makes every batch reproducible (resume is bit-exact).
//
// Seeds (as Zoology): the master seed derives one seed per train segment in
// [0, 2^31) and one per test segment in [2^31, 2^32), so test data never
// shares a seed with training data. Train seed i and test seed j come from
// separate Philox streams of the master seed: the test set does not change
// when the training mix does.
//
// Batch order, epoch e: each train segment i is cut into ceil(N_i / B)
// batches (the last may be short); the batches of all segments are shuffled
// together with Philox(shuffle key, e). A batch never mixes segments.
//   fixed examples: segment i's examples 0..N_i-1, permuted per epoch with
//     Philox(seed_i, e); batch j of the segment holds positions [jB, jB+B) of
//     that permutation. Every epoch covers the same examples.
//   fresh examples: epoch e of segment i uses examples e·N_i .. (e+1)·N_i - 1
//     in order, so no example repeats and the index keeps growing.
// The test set: each test segment's examples 0..N-1 in order, cut into
// batches of B, segment after segment.
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "layers/options.h"
#include "train/tasks/task.h"

namespace mixlab {

inline constexpr uint64_t kDefaultDataSeed = 123;
inline constexpr const char* kTrainSegmentsKey = "task.train_segments";
inline constexpr const char* kTestSegmentsKey = "task.test_segments";

enum class TrainExamples { Fixed, Fresh };

// Rows of one batch: the segment (an index into the train or test list) and
// the example indices, row by row.
struct BatchPlan {
  int segment = 0;
  std::vector<uint64_t> indices;
};

// Generates the examples of `indices` into one (B, L) batch, rows in parallel
// (OpenMP); the result does not depend on the thread count.
Batch make_batch(const Task& task, const Segment& s, uint64_t seed, const std::vector<uint64_t>& indices,
                 int segment);

class Dataset {
 public:
  // Validates every segment against the task; errors name the config key and
  // the item ("task.train_segments: 64:40:100000: mqar needs ...").
  Dataset(std::shared_ptr<const Task> task, std::vector<Segment> train, std::vector<Segment> test,
          uint64_t master_seed = kDefaultDataSeed, TrainExamples examples = TrainExamples::Fixed);

  const Task& task() const { return *task_; }
  const std::vector<Segment>& train_segments() const { return train_; }
  const std::vector<Segment>& test_segments() const { return test_; }
  uint64_t master_seed() const { return master_seed_; }
  TrainExamples train_examples() const { return examples_; }
  uint64_t train_seed(size_t segment) const { return train_seeds_.at(segment); }
  uint64_t test_seed(size_t segment) const { return test_seeds_.at(segment); }

  // Σ_i ceil(N_i / B) over the train segments.
  int64_t batches_per_epoch(int64_t batch_size) const;
  BatchPlan train_batch_plan(int64_t epoch, int64_t batch_in_epoch, int64_t batch_size) const;
  Batch train_batch(int64_t epoch, int64_t batch_in_epoch, int64_t batch_size) const;

  int64_t num_test_batches(int64_t batch_size) const;
  BatchPlan test_batch_plan(int64_t batch, int64_t batch_size) const;
  Batch test_batch(int64_t batch, int64_t batch_size) const;
  std::vector<Batch> test_batches(int64_t batch_size) const;  // all of them, in order

 private:
  // One epoch's batch order and (fixed examples) permutations, built once and
  // reused by the epoch's batches.
  struct EpochPlan {
    int64_t epoch = -1, batch_size = 0;
    std::vector<std::pair<int, int64_t>> order;     // (segment, batch within segment)
    std::vector<std::vector<uint64_t>> permutation;  // per segment; empty for fresh examples
  };
  std::shared_ptr<const EpochPlan> epoch_plan(int64_t epoch, int64_t batch_size) const;

  std::shared_ptr<const Task> task_;
  std::vector<Segment> train_, test_;
  uint64_t master_seed_;
  TrainExamples examples_;
  std::vector<uint64_t> train_seeds_, test_seeds_;
  uint64_t shuffle_key_;
  // The two most recent epochs' plans (a trainer prefetching the next epoch's
  // first batch does not rebuild the current one). Behind a pointer so that
  // Dataset stays movable (a mutex is not).
  struct PlanCache {
    std::mutex mutex;
    std::shared_ptr<const EpochPlan> recent[2];
  };
  std::unique_ptr<PlanCache> cache_ = std::make_unique<PlanCache>();
};

// The dataset keys of a [task] section: task.train_segments and
// task.test_segments (with the given defaults), task.data_seed (123) and
// task.fresh_examples (false).
void add_dataset_options(po::options_description& desc, const std::string& default_train,
                         const std::string& default_test);
Dataset make_dataset(std::shared_ptr<const Task> task, const po::variables_map& vm);

}  // namespace mixlab
