#pragma once
// Write-then-rename: the one way mixlab replaces a file it may be reading
// later (run configs, metrics on resume, checkpoints, plots), so a crash, a
// full disk or a kill never leaves a half-written file, only the old one or
// the new one.
//
// The new content goes to a temp file next to `path` (the same folder, so
// the rename never crosses file systems): <path>.tmp.<pid>, a name
// scripts/sweeplib/run_dir.py recognises when it clears a killed run's
// folder, and remove_stale_temp_files() below when a run starts or resumes. Every write, the sync and the close are checked, then the rename.
// On any failure the temp file is removed, `path` is left as it was, and one
// mixlab::Error names `path` and the OS error.
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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

// The temp files in `dir` that writers of `names` left when they died:
// <name>.tmp.<pid> of a pid that no longer runs (or is this process, which
// has not written it), and <name>.tmp of earlier mixlab versions. Removes them
// and returns their file names. Whoever calls it must keep other mixlab
// processes from writing `names` in `dir` meanwhile (train/run_lock.h), since
// a pid reused by an unrelated process keeps its stale file, never the reverse.
std::vector<std::string> remove_stale_temp_files(const std::string& dir, const std::vector<std::string>& names);

// Replaces `path` with `content` (write, then commit).
void write_file_atomically(const std::string& path, std::string_view content);

}  // namespace mixlab
