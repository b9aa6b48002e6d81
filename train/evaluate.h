#pragma once
// Test-set evaluation: loss over scored positions and accuracy per sequence
// (the fraction of a sequence's scored positions whose argmax over the
// vocabulary is the target), averaged over sequences, overall and per segment.
#include <vector>

#include "distributed/communicator.h"
#include "models/language_model.h"
#include "train/tasks/dataset.h"

namespace mixlab {

struct EvalResult {
  double loss = 0;      // mean cross-entropy over all scored positions
  double accuracy = 0;  // mean over test sequences
  std::vector<double> segment_accuracy;  // per test segment
};

// Over the ranks of `comm` (default: this process alone), rank r evaluates the
// test batches b with b % size == r and the sums are all-reduced: every rank
// gets the result of the whole test set.
EvalResult evaluate(LanguageModel& model, const Dataset& data, int64_t batch_size, Communicator* comm = nullptr);

}  // namespace mixlab
