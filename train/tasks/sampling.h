#pragma once
// Random selection on top of PhiloxStream: shuffles, distinct uniform draws and
// weighted sampling without replacement. Written here (rather than taken from
// <random>) because the standard distributions are implementation-defined:
// the same seed would give different data under another standard library.
#include <cstdint>
#include <utility>
#include <vector>

#include "train/tasks/philox_stream.h"

namespace mixlab {

// Fisher–Yates: every permutation equally likely.
template <typename T>
void shuffle(std::vector<T>& items, PhiloxStream& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(rng.below(i));
    std::swap(items[i - 1], items[j]);
  }
}

// k distinct integers from [lo, hi), uniformly among all k-subsets, in a
// uniformly random order. Requires 0 ≤ k ≤ hi - lo. Cost O(k), independent of
// the range (Floyd's algorithm), so drawing 4 keys from a vocabulary of 8192
// does not touch 8192 entries.
std::vector<int64_t> distinct_uniform(PhiloxStream& rng, int64_t lo, int64_t hi, int64_t k);

// k distinct indices into `weights` (all ≥ 0, at least k of them > 0), drawn
// one after another without replacement, each draw choosing among the
// remaining indices with probability proportional to its weight — the
// semantics of numpy.random.choice(replace=False, p=weights). Returned in draw
// order. Uses Efraimidis–Spirakis keys log(u)/w, whose descending order has
// exactly that distribution, in O(n log k).
std::vector<int64_t> weighted_sample_without_replacement(PhiloxStream& rng, const std::vector<double>& weights,
                                                         int64_t k);

}  // namespace mixlab
