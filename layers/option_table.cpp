#include "layers/option_table.h"

#include <algorithm>
#include <charconv>

namespace mixlab {

namespace option_text {

std::string of(int64_t v) { return std::to_string(v); }

std::string of(double v) {
  char buf[32];  // the shortest text that reads back to the same double
  return std::string(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

std::string of(bool v) { return v ? "true" : "false"; }

std::string of(const std::string& v) { return v; }

}  // namespace option_text

ValueCheck<int64_t> at_least(int64_t low) {
  return {">= " + option_text::of(low), [low](const int64_t& v) { return v >= low; }, {}};
}

ValueCheck<double> at_least(double low) {
  return {">= " + option_text::of(low), [low](const double& v) { return v >= low; }, {}};
}

ValueCheck<double> greater_than(double low) {
  return {"> " + option_text::of(low), [low](const double& v) { return v > low; }, {}};
}

ValueCheck<double> in_range(double low, double high) {
  return {option_text::of(low) + " to " + option_text::of(high),
          [low, high](const double& v) { return low <= v && v <= high; },
          {}};
}

ValueCheck<double> in_half_open(double low, double high) {
  return {"[" + option_text::of(low) + ", " + option_text::of(high) + ")",
          [low, high](const double& v) { return low <= v && v < high; },
          {}};
}

ValueCheck<std::string> one_of(std::vector<std::string> values) {
  std::string allowed;
  for (const std::string& v : values) allowed += (allowed.empty() ? "" : ", ") + v;
  return {allowed,
          [values](const std::string& v) { return std::find(values.begin(), values.end(), v) != values.end(); },
          values};
}

}  // namespace mixlab
