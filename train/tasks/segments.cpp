#include "train/tasks/segments.h"

#include <charconv>

#include "autograd/error.h"

namespace mixlab {

namespace {

std::string trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(" \t") - begin + 1);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i)
    if (i == s.size() || s[i] == sep) {
      parts.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  return parts;
}

}  // namespace

std::vector<Segment> parse_segments(const std::string& text, const std::string& key) {
  const std::string expected = "expected L:K:N (seq_len:size:num_examples), e.g. 64:4:100000";
  MIXLAB_CHECK(!trim(text).empty(), key, ": no segments given (", expected, ", comma-separated)");
  std::vector<Segment> segments;
  for (const std::string& raw : split(text, ',')) {
    const std::string item = trim(raw);
    auto bad = [&](const std::string& why) {
      return Error(detail::concat(key, ": bad item '", item, "' in '", text, "' (", why, ")"));
    };
    const std::vector<std::string> fields = split(item, ':');
    if (fields.size() != 3) throw bad(expected);
    int64_t v[3];
    for (int f = 0; f < 3; ++f) {
      const std::string field = trim(fields[static_cast<size_t>(f)]);
      const char* end = field.data() + field.size();
      auto [ptr, ec] = std::from_chars(field.data(), end, v[f]);
      if (field.empty() || ec != std::errc() || ptr != end)
        throw bad(detail::concat("'", field, "' is not an integer; ", expected));
    }
    if (v[0] < 1) throw bad("seq_len L must be ≥ 1");
    if (v[1] < 0) throw bad("size K must be ≥ 0");
    if (v[2] < 1) throw bad("num_examples N must be ≥ 1");
    segments.push_back({v[0], v[1], v[2]});
  }
  return segments;
}

std::string format_segment(const Segment& s) { return detail::concat(s.seq_len, ":", s.size, ":", s.num_examples); }

std::string format_segments(const std::vector<Segment>& segments) {
  std::string out;
  for (const Segment& s : segments) out += (out.empty() ? "" : ",") + format_segment(s);
  return out;
}

}  // namespace mixlab
