#pragma once
// One process at a time per run directory. Two `train --resume` of one run
// would both append to metrics.csv and overwrite each other's checkpoints, and
// two fresh trainings of one name would race on its files, so training holds
// an exclusive flock(2) on <run_dir>/train.lock for as long as it runs. The
// kernel drops the lock when the process exits in any way (a crash, kill -9),
// so a lock is never stale; the file itself stays, and records the pid of its
// last holder so the refusal can name it.
#include <string>

namespace mixlab {

inline constexpr const char* kRunLockFile = "train.lock";

class RunLock {
 public:
  // Locks <run_dir>/train.lock (creating it), or throws mixlab::Error naming
  // the run directory and the pid of the process holding it.
  explicit RunLock(const std::string& run_dir);
  ~RunLock();

  // Throws the same error when another process holds the lock of `run_dir`,
  // without creating anything (a refusal for another reason should first
  // say the run is busy).
  static void check_free(const std::string& run_dir);
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace mixlab
