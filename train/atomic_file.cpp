#include "train/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "autograd/error.h"

namespace mixlab {

AtomicFile::AtomicFile(std::string path)
    : path_(std::move(path)), temp_(path_ + ".tmp." + std::to_string(::getpid())) {}

AtomicFile::~AtomicFile() {
  if (done_) return;
  if (fd_ >= 0) ::close(fd_);
  ::unlink(temp_.c_str());
}

// create: the temp file this object writes (truncating any stale one a dead
// process with the same pid left); otherwise the one another program wrote.
void AtomicFile::open_temp(bool create) {
  fd_ = create ? ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)
               : ::open(temp_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) fail("cannot write ", errno);
}

void AtomicFile::write(const void* data, size_t bytes) {
  MIXLAB_CHECK(!done_, "AtomicFile: write to ", path_, " after commit");
  if (fd_ < 0) open_temp(true);
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = ::write(fd_, p, bytes);
    if (n < 0 && errno == EINTR) continue;  // a signal (the trainer's Ctrl-C handler) arrived mid-write
    if (n <= 0) fail("cannot write ", n < 0 ? errno : EIO);
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void AtomicFile::commit() {
  MIXLAB_CHECK(!done_, "AtomicFile: ", path_, " committed twice");
  if (fd_ < 0) open_temp(false);
  // Synced before the rename: otherwise a crash could leave the new name
  // pointing at data that never reached the disk.
  if (::fsync(fd_) != 0) fail("cannot write ", errno);
  const int fd = fd_;
  fd_ = -1;
  if (::close(fd) != 0) fail("cannot write ", errno);
  if (std::rename(temp_.c_str(), path_.c_str()) != 0) fail("cannot rename " + temp_ + " to ", errno);
  done_ = true;
}

void AtomicFile::fail(const std::string& what, int error) {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(temp_.c_str());
  done_ = true;
  throw Error(detail::concat(what, path_, ": ", std::strerror(error)));
}

namespace {

// Whether `pid` names a live process other than this one.
bool another_live_process(const std::string& pid_text) {
  if (pid_text.empty() || pid_text.size() > 9 || pid_text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
  if (pid <= 0 || pid == ::getpid()) return false;
  return ::kill(pid, 0) == 0 || errno == EPERM;  // EPERM: alive, owned by someone else
}

}  // namespace

std::vector<std::string> remove_stale_temp_files(const std::string& dir, const std::vector<std::string>& names) {
  namespace fs = std::filesystem;
  std::vector<std::string> removed;
  std::error_code ec;
  for (const fs::directory_entry& entry : fs::directory_iterator(dir, ec)) {
    const std::string file = entry.path().filename().string();
    for (const std::string& name : names) {
      const std::string prefix = name + ".tmp";
      if (!file.starts_with(prefix)) continue;
      const std::string rest = file.substr(prefix.size());
      const bool stale = rest.empty() || (rest[0] == '.' && rest.size() > 1 &&
                                          rest.find_first_not_of("0123456789", 1) == std::string::npos &&
                                          !another_live_process(rest.substr(1)));
      if (stale && entry.is_regular_file() && ::unlink(entry.path().c_str()) == 0) removed.push_back(file);
    }
  }
  return removed;
}

void write_file_atomically(const std::string& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

}  // namespace mixlab
