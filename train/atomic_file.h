#pragma once
// Write-then-rename: the one way mixlab replaces a file it may be reading
// later (run configs, metrics on resume, checkpoints, plots), so a crash, a
// full disk or a kill never leaves a half-written file, only the old one or
// the new one.
//
// The new content goes to a temp file next to `path` (the same folder, so
// the rename never crosses file systems): <path>.tmp.<pid>, a name
// scripts/sweeplib/run_dir.py recognises when it clears a killed run's
// folder. Every write, the sync and the close are checked, then the rename.
// On any failure the temp file is removed, `path` is left as it was, and one
// mixlab::Error names `path` and the OS error.
#include <cstddef>
#include <string>
#include <string_view>

namespace mixlab {

// One replacement of `path`: write() the content (or have another program,
// such as gnuplot, write temp_path()), then commit(). Destroyed uncommitted
// (an exception on the way), it removes the temp file and leaves `path` alone.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& temp_path() const { return temp_; }

  // Appends to the temp file, creating it on the first call.
  void write(const void* data, size_t bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }

  // Syncs the temp file to disk and renames it over `path`.
  void commit();

 private:
  void open_temp(bool create);
  [[noreturn]] void fail(const std::string& what, int error);

  std::string path_, temp_;
  int fd_ = -1;
  bool done_ = false;  // committed, or failed and cleaned up
};

// Replaces `path` with `content` (write, then commit).
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace mixlab
