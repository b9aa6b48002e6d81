#include "train/figure_points.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"

namespace mixlab {

Point summarise(const std::vector<double>& values) {
  MIXLAB_CHECK(!values.empty(), "summarise: no values");
  Point p;
  p.n = static_cast<int>(values.size());
  double sum = 0;
  for (double v : values) sum += v;
  p.mean = sum / p.n;
  double squares = 0;
  for (double v : values) squares += (v - p.mean) * (v - p.mean);
  p.sd = p.n > 1 ? std::sqrt(squares / (p.n - 1)) : 0.0;
  p.lo = *std::min_element(values.begin(), values.end());
  p.hi = *std::max_element(values.begin(), values.end());
  return p;
}

void PointBuilder::add(const std::string& group, double value) {
  if (std::isnan(value)) return;
  groups_[group].push_back(value);
}

Point PointBuilder::reduce() const {
  MIXLAB_CHECK(!groups_.empty(), "PointBuilder::reduce: no values");
  Point best;
  bool first = true;
  for (const auto& [group, values] : groups_) {
    Point p = summarise(values);
    if (first || p.mean > best.mean) {
      best = p;
      best.chosen = group;
      first = false;
    }
  }
  best.candidates = static_cast<int>(groups_.size());
  return best;
}

}  // namespace mixlab
