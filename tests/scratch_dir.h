#pragma once
// A scratch folder for the tests that write files: one per suite and per
// process under the system's temp folder, so test binaries run in parallel
// (ctest -j) never share one. Each is removed when the process exits
// normally; a crashed run leaves its folder for inspection.
#include <unistd.h>

#include <filesystem>
#include <map>
#include <string>
#include <system_error>

namespace mixlab::test {

namespace detail {
struct RemovedAtExit {
  std::filesystem::path dir;
  ~RemovedAtExit() {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};
}  // namespace detail

// <temp>/mixlab_<suite>_<pid>, created if missing.
inline std::filesystem::path scratch_dir(const std::string& suite) {
  static std::map<std::string, detail::RemovedAtExit> dirs;
  auto [it, fresh] = dirs.try_emplace(suite);
  if (fresh)
    it->second.dir = std::filesystem::temp_directory_path() / ("mixlab_" + suite + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(it->second.dir);
  return it->second.dir;
}

}  // namespace mixlab::test
