// Write-then-rename (train/atomic_file.h): the new content or the old, never
// half of one, one clear error on each way a replacement can fail, and no temp
// file left behind; and the sites that replace files through it.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "tests/scratch_dir.h"
#include "autograd/ops.h"
#include "train/atomic_file.h"
#include "train/metrics_log.h"
#include "train/safetensors.h"

using namespace mixlab;
namespace fs = std::filesystem;

namespace {

// A fresh folder per test case (and per process: test binaries may run in parallel).
fs::path fresh_dir(const std::string& name) {
  const fs::path dir = test::scratch_dir("atomic") / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_plain(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::binary) << text; }

// The names in `dir`, sorted.
std::vector<std::string> listing(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// Makes every write past `bytes` fail with EFBIG (SIGXFSZ ignored, so the
// write returns the error instead of killing the process) while alive.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit = saved_;
    limit.rlim_cur = bytes;
    REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

}  // namespace

TEST_CASE("atomic file: replaces the content and leaves no temp file", "[train][atomic_file]") {
  const fs::path dir = fresh_dir("replace");
  const std::string path = (dir / "config.ini").string();
  write_plain(path, "old content that is longer than the new one\n");
  write_file_atomically(path, "new\n");
  CHECK(read(path) == "new\n");
  write_file_atomically(path, "");  // an empty file is a file
  CHECK(read(path).empty());
  CHECK(listing(dir) == std::vector<std::string>{"config.ini"});
  // The temp file's name, which scripts/sweeplib/run_dir.py recognises.
  CHECK(AtomicFile(path).temp_path() == path + ".tmp." + std::to_string(::getpid()));
}

TEST_CASE("atomic file: a folder that does not exist is one clear error", "[train][atomic_file][errors]") {
  const fs::path dir = fresh_dir("missing");
  const std::string path = (dir / "no_such_dir" / "metrics.csv").string();
  REQUIRE_THROWS_MATCHES(write_file_atomically(path, "x"), Error,
                         Catch::Message("cannot write " + path + ": No such file or directory"));
  CHECK(listing(dir).empty());
}

TEST_CASE("atomic file: a failed write keeps the old file and removes the temp file", "[train][atomic_file][errors]") {
  const fs::path dir = fresh_dir("write_fails");
  const std::string path = (dir / "checkpoint.safetensors").string();
  write_plain(path, "the previous checkpoint");
  {
    FileSizeLimit limit(4096);
    REQUIRE_THROWS_MATCHES(write_file_atomically(path, std::string(10000, 'x')), Error,
                           Catch::Message("cannot write " + path + ": File too large"));
  }
  CHECK(read(path) == "the previous checkpoint");
  CHECK(listing(dir) == std::vector<std::string>{"checkpoint.safetensors"});
}

TEST_CASE("atomic file: a failed rename keeps what is there and removes the temp file", "[train][atomic_file][errors]") {
  const fs::path dir = fresh_dir("rename_fails");
  const fs::path target = dir / "curves.png";  // a folder where the file should go
  fs::create_directories(target);
  write_plain(target / "inside", "kept");
  const std::string temp = target.string() + ".tmp." + std::to_string(::getpid());
  REQUIRE_THROWS_MATCHES(write_file_atomically(target.string(), "png bytes"), Error,
                         Catch::Message("cannot rename " + temp + " to " + target.string() + ": Is a directory"));
  CHECK(fs::is_directory(target));
  CHECK(read(target / "inside") == "kept");
  CHECK(listing(dir) == std::vector<std::string>{"curves.png"});
}

TEST_CASE("atomic file: uncommitted, another program's output, and its absence", "[train][atomic_file]") {
  const fs::path dir = fresh_dir("writers");
  const std::string path = (dir / "curves.png").string();
  write_plain(path, "old");
  {  // an exception between the writes and the commit: nothing changes
    AtomicFile file(path);
    file.write("half");
  }
  CHECK(read(path) == "old");
  CHECK(listing(dir) == std::vector<std::string>{"curves.png"});
  {  // a program such as gnuplot writes the temp file; commit renames it
    AtomicFile file(path);
    write_plain(file.temp_path(), "drawn");
    file.commit();
  }
  CHECK(read(path) == "drawn");
  {  // it wrote nothing: the commit says so
    AtomicFile file(path);
    REQUIRE_THROWS_MATCHES(file.commit(), Error, Catch::Message("cannot write " + path + ": No such file or directory"));
  }
  CHECK(read(path) == "drawn");
  CHECK(listing(dir) == std::vector<std::string>{"curves.png"});
}

TEST_CASE("atomic file: the sites that replace files report failures", "[train][atomic_file][errors]") {
  const fs::path dir = fresh_dir("sites");
  // A checkpoint over a folder: the rename fails, the folder stays.
  fs::create_directories(dir / "checkpoint.safetensors");
  REQUIRE_THROWS_WITH(write_safetensors((dir / "checkpoint.safetensors").string(), {{"x", Tensor::scalar(1.0)}}),
                      Catch::Contains("cannot rename") && Catch::Contains("Is a directory"));
  CHECK(fs::is_directory(dir / "checkpoint.safetensors"));
  // Resuming metrics in a run folder that is gone: no longer silent.
  MetricsLog gone((dir / "gone").string(), {});
  REQUIRE_THROWS_WITH(gone.truncate_after(10),
                      Catch::Contains("cannot write " + (dir / "gone" / "metrics.csv").string()));
  // Resuming metrics keeps the rows up to the step, replacing the files whole.
  MetricsLog log(dir.string(), {});
  log.start();
  for (int64_t step : {10, 20, 30}) {
    MetricsRow row;
    row.step = step;
    log.append(row);
    for (int64_t s = step - 9; s <= step; ++s) log.append_step(s, 0.5);
  }
  log.truncate_after(20);
  CHECK(read_metrics_csv((dir / "metrics.csv").string())["step"] == std::vector<double>{10, 20});
  CHECK(read_metrics_csv((dir / "train_loss.csv").string())["step"].size() == 20);
  std::istringstream jsonl(read(dir / "metrics.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(jsonl, line);) ++lines;
  CHECK(lines == 2);
  CHECK(listing(dir) ==
        std::vector<std::string>{"checkpoint.safetensors", "metrics.csv", "metrics.jsonl", "train_loss.csv"});
}
