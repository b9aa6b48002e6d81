#include "train/tasks/dataset.h"

#include <exception>

#include "autograd/error.h"
#include "train/tasks/sampling.h"
#include "train/tasks/segments.h"

namespace mixlab {

namespace {

// Philox streams of the master seed, one per purpose.
constexpr uint64_t kTrainSeedStream = 1, kTestSeedStream = 2, kShuffleKeyStream = 3;

uint64_t derived_u32(uint64_t master, uint64_t stream, uint64_t i) { return philox::generate(master, i, stream).v[0]; }

void validate_segments(const Task& task, const std::vector<Segment>& segments, const char* key) {
  for (const Segment& s : segments) {
    try {
      task.validate(s);
    } catch (const Error& e) {
      throw Error(detail::concat(key, ": ", format_segment(s), ": ", e.what()));
    }
  }
}

void check_batch_size(int64_t batch_size) {
  MIXLAB_CHECK(batch_size >= 1, "batch_size: ", batch_size, " must be ≥ 1");
}

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace

Batch make_batch(const Task& task, const Segment& s, uint64_t seed, const std::vector<uint64_t>& indices,
                 int segment) {
  const int64_t rows = static_cast<int64_t>(indices.size()), L = s.seq_len;
  std::vector<int64_t> inputs(static_cast<size_t>(rows * L)), targets(static_cast<size_t>(rows * L));
  // An exception must not leave an OpenMP region: keep the first and rethrow.
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 4) if (rows * L >= 4096)
  for (int64_t r = 0; r < rows; ++r) {
    try {
      const Example ex = task.make_example(s, seed, indices[static_cast<size_t>(r)]);
      MIXLAB_CHECK(static_cast<int64_t>(ex.inputs.size()) == L && static_cast<int64_t>(ex.targets.size()) == L,
                   task.name(), " made an example of length ", ex.inputs.size(), " for seq_len ", L);
      std::copy(ex.inputs.begin(), ex.inputs.end(), inputs.begin() + r * L);
      std::copy(ex.targets.begin(), ex.targets.end(), targets.begin() + r * L);
    } catch (...) {
#pragma omp critical(mixlab_make_batch_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return Batch{Tensor::from_indices(inputs, {rows, L}), Tensor::from_indices(targets, {rows, L}), segment};
}

Dataset::Dataset(std::shared_ptr<const Task> task, std::vector<Segment> train, std::vector<Segment> test,
                 uint64_t master_seed, TrainExamples examples)
    : task_(std::move(task)), train_(std::move(train)), test_(std::move(test)), master_seed_(master_seed),
      examples_(examples) {
  MIXLAB_CHECK(task_ != nullptr, "Dataset: no task");
  MIXLAB_CHECK(!train_.empty(), kTrainSegmentsKey, ": no training segments");
  validate_segments(*task_, train_, kTrainSegmentsKey);
  validate_segments(*task_, test_, kTestSegmentsKey);
  for (size_t i = 0; i < train_.size(); ++i)
    train_seeds_.push_back(derived_u32(master_seed_, kTrainSeedStream, i) >> 1);  // [0, 2^31)
  for (size_t i = 0; i < test_.size(); ++i)
    test_seeds_.push_back((derived_u32(master_seed_, kTestSeedStream, i) >> 1) | (uint64_t{1} << 31));  // [2^31, 2^32)
  shuffle_key_ = (derived_u32(master_seed_, kShuffleKeyStream, 0) << 32) | derived_u32(master_seed_, kShuffleKeyStream, 1);
}

int64_t Dataset::batches_per_epoch(int64_t batch_size) const {
  check_batch_size(batch_size);
  int64_t n = 0;
  for (const Segment& s : train_) n += ceil_div(s.num_examples, batch_size);
  return n;
}

std::shared_ptr<const Dataset::EpochPlan> Dataset::epoch_plan(int64_t epoch, int64_t batch_size) const {
  std::lock_guard<std::mutex> lock(cache_->mutex);
  for (const auto& cached : cache_->recent)
    if (cached && cached->epoch == epoch && cached->batch_size == batch_size) return cached;
  auto plan = std::make_shared<EpochPlan>();
  plan->epoch = epoch;
  plan->batch_size = batch_size;
  for (size_t i = 0; i < train_.size(); ++i)
    for (int64_t j = 0; j < ceil_div(train_[i].num_examples, batch_size); ++j)
      plan->order.emplace_back(static_cast<int>(i), j);
  PhiloxStream order_rng(shuffle_key_, static_cast<uint64_t>(epoch));
  shuffle(plan->order, order_rng);
  if (examples_ == TrainExamples::Fixed) {
    plan->permutation.resize(train_.size());
    for (size_t i = 0; i < train_.size(); ++i) {
      std::vector<uint64_t>& perm = plan->permutation[i];
      perm.resize(static_cast<size_t>(train_[i].num_examples));
      for (size_t k = 0; k < perm.size(); ++k) perm[k] = k;
      PhiloxStream perm_rng(train_seeds_[i], static_cast<uint64_t>(epoch), kPermutationCounterBase);
      shuffle(perm, perm_rng);
    }
  }
  cache_->recent[1] = std::move(cache_->recent[0]);
  cache_->recent[0] = plan;
  return plan;
}

BatchPlan Dataset::train_batch_plan(int64_t epoch, int64_t batch_in_epoch, int64_t batch_size) const {
  const int64_t n = batches_per_epoch(batch_size);
  MIXLAB_CHECK(epoch >= 0, "train_batch: epoch ", epoch, " must be ≥ 0");
  MIXLAB_CHECK(batch_in_epoch >= 0 && batch_in_epoch < n, "train_batch: batch ", batch_in_epoch,
               " is out of range (an epoch has ", n, " batches of ", batch_size, ")");
  const std::shared_ptr<const EpochPlan> plan = epoch_plan(epoch, batch_size);
  const auto [segment, j] = plan->order[static_cast<size_t>(batch_in_epoch)];
  const int64_t N = train_[static_cast<size_t>(segment)].num_examples;
  BatchPlan out{segment, {}};
  for (int64_t k = j * batch_size; k < std::min(N, (j + 1) * batch_size); ++k) {
    if (examples_ == TrainExamples::Fixed)
      out.indices.push_back(plan->permutation[static_cast<size_t>(segment)][static_cast<size_t>(k)]);
    else
      out.indices.push_back(static_cast<uint64_t>(epoch) * static_cast<uint64_t>(N) + static_cast<uint64_t>(k));
  }
  return out;
}

Batch Dataset::train_batch(int64_t epoch, int64_t batch_in_epoch, int64_t batch_size) const {
  const BatchPlan p = train_batch_plan(epoch, batch_in_epoch, batch_size);
  const size_t i = static_cast<size_t>(p.segment);
  return make_batch(*task_, train_[i], train_seeds_[i], p.indices, p.segment);
}

int64_t Dataset::num_test_batches(int64_t batch_size) const {
  check_batch_size(batch_size);
  int64_t n = 0;
  for (const Segment& s : test_) n += ceil_div(s.num_examples, batch_size);
  return n;
}

BatchPlan Dataset::test_batch_plan(int64_t batch, int64_t batch_size) const {
  const int64_t n = num_test_batches(batch_size);
  MIXLAB_CHECK(batch >= 0 && batch < n, "test_batch: batch ", batch, " is out of range (the test set has ", n,
               " batches of ", batch_size, ")");
  for (size_t i = 0; i < test_.size(); ++i) {
    const int64_t here = ceil_div(test_[i].num_examples, batch_size);
    if (batch < here) {
      BatchPlan out{static_cast<int>(i), {}};
      for (int64_t k = batch * batch_size; k < std::min(test_[i].num_examples, (batch + 1) * batch_size); ++k)
        out.indices.push_back(static_cast<uint64_t>(k));
      return out;
    }
    batch -= here;
  }
  throw Error("test_batch: unreachable");
}

Batch Dataset::test_batch(int64_t batch, int64_t batch_size) const {
  const BatchPlan p = test_batch_plan(batch, batch_size);
  const size_t i = static_cast<size_t>(p.segment);
  return make_batch(*task_, test_[i], test_seeds_[i], p.indices, p.segment);
}

std::vector<Batch> Dataset::test_batches(int64_t batch_size) const {
  std::vector<Batch> out;
  for (int64_t b = 0; b < num_test_batches(batch_size); ++b) out.push_back(test_batch(b, batch_size));
  return out;
}

void add_dataset_options(po::options_description& desc, const std::string& default_train,
                         const std::string& default_test) {
  desc.add_options()
      (kTrainSegmentsKey, po::value<std::string>()->default_value(default_train),
       "training segments L:K:N,... (seq_len : task size, e.g. kv pairs : examples)")
      (kTestSegmentsKey, po::value<std::string>()->default_value(default_test),
       "test segments L:K:N,... (a fixed set, seeds disjoint from training)")
      ("task.data_seed", po::value<int64_t>()->default_value(static_cast<int64_t>(kDefaultDataSeed)),
       "master seed of the data: derives every segment's seed and the batch order")
      ("task.fresh_examples", po::value<bool>()->default_value(false, "false"),
       "draw new training examples every epoch instead of reshuffling the fixed set");
}

Dataset make_dataset(std::shared_ptr<const Task> task, const po::variables_map& vm) {
  const int64_t seed = option<int64_t>(vm, "task.data_seed");
  MIXLAB_CHECK(seed >= 0, "task.data_seed: ", seed, " must be ≥ 0");
  return Dataset(std::move(task), parse_segments(option<std::string>(vm, kTrainSegmentsKey), kTrainSegmentsKey),
                 parse_segments(option<std::string>(vm, kTestSegmentsKey), kTestSegmentsKey),
                 static_cast<uint64_t>(seed),
                 option<bool>(vm, "task.fresh_examples") ? TrainExamples::Fresh : TrainExamples::Fixed);
}

}  // namespace mixlab
