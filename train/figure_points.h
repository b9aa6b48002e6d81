#pragma once
// What one point of a summary figure means (issue 16, the protocol of
// Zoology's Figure 2): the runs sharing a line and an x value are grouped by
// the value of a "best over" setting (the learning rate); the runs of one
// group are replicates (seeds) and give a mean, a spread and a count; the
// group with the highest mean is the point, and its setting value is shown.
// Choosing by the mean, not by the best single seed, keeps a lucky seed
// from picking the learning rate.
#include <map>
#include <string>
#include <vector>

namespace mixlab {

struct Point {
  double mean = 0, sd = 0;  // sd: sample standard deviation (n - 1), 0 for one run
  double lo = 0, hi = 0;    // min and max over the replicates
  int n = 0;                // replicates (runs with a value)
  int candidates = 0;       // groups (values of the best-over setting) compared
  std::string chosen;       // the best-over value of the chosen group ("" without one)
  bool operator==(const Point&) const = default;
};

// Collects the values of one point, each tagged with its group, and reduces
// them. NaN values (a run without that column) are ignored.
class PointBuilder {
 public:
  void add(const std::string& group, double value);
  bool empty() const { return groups_.empty(); }
  // The group with the highest mean (ties: the first group in text order).
  // Requires !empty().
  Point reduce() const;

 private:
  std::map<std::string, std::vector<double>> groups_;
};

// mean, sd, min, max and n of the values (n >= 1).
Point summarise(const std::vector<double>& values);

}  // namespace mixlab
