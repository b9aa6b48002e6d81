#pragma once
// Progress output: on a terminal one live line rewritten in place (step/total,
// loss, accuracy, tokens/s, ETA); otherwise plain lines at a steady pace, so
// logs of batch jobs stay readable.
#include <chrono>
#include <ostream>
#include <string>

namespace mixlab {

class ProgressReporter {
 public:
  ProgressReporter(std::ostream& out, bool live, int64_t total_steps);
  // Called after every step; prints when due.
  void update(int64_t step, double loss, double accuracy, double tokens_per_s);
  // A full line (eval results, messages); clears the live line first.
  void line(const std::string& text);
  void finish();

  static std::string format_duration(double seconds);

 private:
  std::ostream& out_;
  bool live_;
  int64_t total_;
  std::chrono::steady_clock::time_point start_, last_print_;
  bool has_live_line_ = false;
};

}  // namespace mixlab
