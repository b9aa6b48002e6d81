#include "train/tasks/sampling.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_set>

#include "autograd/error.h"

namespace mixlab {

std::vector<int64_t> distinct_uniform(PhiloxStream& rng, int64_t lo, int64_t hi, int64_t k) {
  const int64_t n = hi - lo;
  MIXLAB_CHECK(k >= 0 && k <= n, "distinct_uniform: cannot draw ", k, " distinct values from [", lo, ", ", hi, ")");
  // Floyd: for j = n-k .. n-1 draw t in [0, j]; take t unless already taken,
  // else take j. Yields a uniform k-subset; its order is not uniform, hence
  // the shuffle afterwards.
  std::vector<int64_t> out;
  out.reserve(static_cast<size_t>(k));
  std::unordered_set<int64_t> taken;
  taken.reserve(static_cast<size_t>(2 * k));
  for (int64_t j = n - k; j < n; ++j) {
    const int64_t t = static_cast<int64_t>(rng.below(static_cast<uint64_t>(j) + 1));
    const int64_t pick = taken.insert(t).second ? t : j;
    if (pick == j) taken.insert(j);
    out.push_back(lo + pick);
  }
  shuffle(out, rng);
  return out;
}

std::vector<int64_t> weighted_sample_without_replacement(PhiloxStream& rng, const std::vector<double>& weights,
                                                         int64_t k) {
  const int64_t n = static_cast<int64_t>(weights.size());
  int64_t positive = 0;
  for (double w : weights) {
    MIXLAB_CHECK(w >= 0 && std::isfinite(w), "weighted_sample_without_replacement: weights must be finite and ≥ 0");
    positive += w > 0;
  }
  MIXLAB_CHECK(k >= 0 && k <= positive, "weighted_sample_without_replacement: cannot draw ", k,
               " distinct indices from ", positive, " with positive weight");
  // key_i = log(u_i) / w_i; the i with the largest key is drawn first with
  // probability w_i / Σw, the next largest is the second draw among the rest, ...
  std::vector<std::pair<double, int64_t>> keyed(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double u = rng.uniform();  // one draw per index, so the stream use is fixed
    const double w = weights[static_cast<size_t>(i)];
    keyed[static_cast<size_t>(i)] = {w > 0 ? std::log(u) / w : -std::numeric_limits<double>::infinity(), i};
  }
  std::partial_sort(keyed.begin(), keyed.begin() + k, keyed.end(),
                    [](const auto& a, const auto& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); });
  std::vector<int64_t> out(static_cast<size_t>(k));
  for (int64_t i = 0; i < k; ++i) out[static_cast<size_t>(i)] = keyed[static_cast<size_t>(i)].second;
  return out;
}

}  // namespace mixlab
