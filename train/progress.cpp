#include "train/progress.h"

#include <cstdio>

namespace mixlab {

ProgressReporter::ProgressReporter(std::ostream& out, bool live, int64_t total_steps)
    : out_(out), live_(live), total_(total_steps), start_(std::chrono::steady_clock::now()), last_print_(start_) {}

std::string ProgressReporter::format_duration(double s) {
  char buf[32];
  const int64_t total = static_cast<int64_t>(s + 0.5);
  if (total >= 3600)
    std::snprintf(buf, sizeof buf, "%lldh%02lldm", static_cast<long long>(total / 3600),
                  static_cast<long long>(total / 60 % 60));
  else if (total >= 60)
    std::snprintf(buf, sizeof buf, "%lldm%02llds", static_cast<long long>(total / 60), static_cast<long long>(total % 60));
  else
    std::snprintf(buf, sizeof buf, "%llds", static_cast<long long>(total));
  return buf;
}

void ProgressReporter::update(int64_t step, double loss, double accuracy, double tokens_per_s) {
  const auto now = std::chrono::steady_clock::now();
  const double since_print = std::chrono::duration<double>(now - last_print_).count();
  // Live: a few redraws a second. Plain: a line every 10 s (and the last step).
  if (since_print < (live_ ? 0.2 : 10.0) && step != total_) return;
  last_print_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double eta = step > 0 ? elapsed / static_cast<double>(step) * static_cast<double>(total_ - step) : 0.0;
  char buf[200];
  std::snprintf(buf, sizeof buf, "step %lld/%lld | loss %.4f | acc %.3f | %.1fk tok/s | ETA %s",
                static_cast<long long>(step), static_cast<long long>(total_), loss, accuracy, tokens_per_s / 1e3,
                format_duration(eta).c_str());
  if (live_) {
    out_ << "\r" << buf << "\033[K" << std::flush;
    has_live_line_ = true;
  } else {
    out_ << buf << "\n" << std::flush;
  }
}

void ProgressReporter::line(const std::string& text) {
  if (has_live_line_) out_ << "\r\033[K";
  has_live_line_ = false;
  out_ << text << "\n" << std::flush;
}

void ProgressReporter::finish() {
  if (has_live_line_) out_ << "\n" << std::flush;
  has_live_line_ = false;
}

}  // namespace mixlab
