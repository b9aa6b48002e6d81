#pragma once
// A scratch folder for the tests that write files: one per suite and per
// process under the system's temp folder, so test binaries run in parallel
// (ctest -j) never share one.
#include <unistd.h>

#include <filesystem>
#include <string>

namespace mixlab::test {

// <temp>/mixlab_<suite>_<pid>, created if missing.
inline std::filesystem::path scratch_dir(const std::string& suite) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("mixlab_" + suite + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace mixlab::test
