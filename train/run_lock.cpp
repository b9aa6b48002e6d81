#include "train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "autograd/error.h"

namespace mixlab {

namespace {

// The pid the lock file names, or "" when it names none.
std::string recorded_pid(int fd) {
  char buf[32] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
  std::string text = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "";
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.find_first_not_of("0123456789") == std::string::npos ? text : "";
}

[[noreturn]] void refuse_busy(const std::string& run_dir, const std::string& path, int fd) {
  const std::string pid = recorded_pid(fd);
  ::close(fd);
  throw Error(detail::concat("run directory ", run_dir, " is in use: another mixlab train",
                             pid.empty() ? std::string() : " (pid " + pid + ")", " holds its lock ", path,
                             "; wait for it to finish or stop it"));
}

}  // namespace

void RunLock::check_free(const std::string& run_dir) {
  const std::string path = run_dir + "/" + kRunLockFile;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // never locked
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK) refuse_busy(run_dir, path, fd);
  ::close(fd);  // releases the probe's lock
}

RunLock::RunLock(const std::string& run_dir) {
  const std::string path = run_dir + "/" + kRunLockFile;
  // O_CLOEXEC: a child (gnuplot) must not keep the lock after mixlab exits.
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
  MIXLAB_CHECK(fd_ >= 0, "cannot create ", path, ": ", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno, fd = fd_;
    fd_ = -1;
    if (error == EWOULDBLOCK) refuse_busy(run_dir, path, fd);
    ::close(fd);
    throw Error(detail::concat("cannot lock ", path, ": ", std::strerror(error)));
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  const bool recorded = ::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, pid.data(), pid.size(), 0) == static_cast<ssize_t>(pid.size());
  (void)recorded;  // without the pid the lock still holds; only a refusal's message would lack it
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

}  // namespace mixlab
