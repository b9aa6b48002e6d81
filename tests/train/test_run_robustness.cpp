// Run directories under stress: corrupt or inconsistent checkpoints, two
// processes on one run, a run going non-finite, temp files of killed writers,
// runs killed before their first checkpoint, moved runs, and evaluation of a
// trained checkpoint on other [task] settings (issue 20).
#include <catch2/catch.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/error_text.h"
#include "tests/scratch_dir.h"
#include "train/checkpoint.h"
#include "train/metrics_log.h"
#include "train/run_loader.h"
#include "train/run_lock.h"
#include "train/safetensors.h"
#include "train/trainer.h"

using namespace mixlab;
namespace fs = std::filesystem;

namespace {

std::string scratch_dir() { return test::scratch_dir("robust_tests").string(); }

// V 64, L 16, 2 kv pairs; shortconv + attention, d 16: a few seconds at most.
std::vector<std::string> tiny(const std::string& name, std::vector<std::string> extra = {},
                              const std::string& out_dir = scratch_dir()) {
  std::vector<std::string> args = {
      "--train.name=" + name,          "--train.out_dir=" + out_dir,  "--task.vocab_size=64",
      "--task.train_segments=16:2:256", "--task.test_segments=16:2:32", "--model.d_model=16",
      "--model.n_layers=2",            "--model.pattern=shortconv,mha", "--train.batch_size=16",
      "--train.lr=3e-3",               "--train.threads=1",           "--train.max_steps=20",
      "--train.eval_every=10",
  };
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A fresh run directory of `args`, trained until `stop_at` steps (or to the end).
Experiment trained(const std::vector<std::string>& args, int64_t stop_at = -1) {
  Experiment ex = Experiment::load("", args);
  fs::remove_all(run_directory(ex));
  TrainOptions opts;
  if (stop_at >= 0) opts.should_stop = [stop_at](int64_t step) { return step == stop_at; };
  run_training(ex, opts);
  return ex;
}

TrainOptions resuming() {
  TrainOptions opts;
  opts.resume = true;
  return opts;
}

// Rewrites a checkpoint with one metadata value or one tensor changed.
void edit_checkpoint(const std::string& path, const std::string& key, const std::string& value,
                     const std::string& poisoned_tensor = "") {
  SafetensorsFile f = read_safetensors(path);
  if (!key.empty()) f.metadata[key] = value;
  for (auto& [name, t] : f.tensors)
    if (name == poisoned_tensor) {
      std::vector<double> v = t.to_vector();
      v[v.size() / 2] = std::numeric_limits<double>::quiet_NaN();
      t = Tensor::from_vector(v, t.shape(), t.dtype());
    }
  write_safetensors(path, f.tensors, f.metadata);
}

}  // namespace

TEST_CASE("robustness: checkpoint metadata is parsed whole, never by its leading digits", "[train][robust]") {
  const Experiment ex = trained(tiny("strict_meta"), 10);
  const std::string ckpt = run_directory(ex) + "/checkpoint.safetensors";
  auto model = ex.build_model();
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"step", "1e5"}, {"step", "0x1p+1000"}, {"step", " 7"}, {"step", "7 "}, {"step", ""},
           {"step", "-1"}, {"loss_count", "99999999999999999999999"}, {"loss_sum", "1.5abc"},
           {"loss_sum", "nan"}, {"best_accuracy", "inf"}, {"finished", "yes"}}) {
    INFO(key << " = '" << value << "'");
    const std::string copy = scratch_dir() + "/meta.safetensors";
    fs::copy_file(ckpt, copy, fs::copy_options::overwrite_existing);
    edit_checkpoint(copy, key, value);
    REQUIRE_THROWS_WITH(load_checkpoint(copy, *model, nullptr),
                        Catch::Contains("checkpoint metadata '" + key + "'"));
  }
  // The hex floats mixlab writes still read back.
  CHECK(load_checkpoint(ckpt, *model, nullptr).step == 10);
}

TEST_CASE("robustness: non-finite parameters are refused on load, naming the tensor", "[train][robust]") {
  const Experiment ex = trained(tiny("nan_weights"), 10);
  const std::string ckpt = run_directory(ex) + "/checkpoint.safetensors";
  edit_checkpoint(ckpt, "", "", "blocks.1.mixer.q_proj.weight");
  auto model = ex.build_model();
  REQUIRE_THROWS_WITH(load_checkpoint(ckpt, *model, nullptr),
                      Catch::Contains("parameter 'blocks.1.mixer.q_proj.weight' holds a non-finite value"));
  REQUIRE_THROWS_WITH(load_run(run_directory(ex)), Catch::Contains("blocks.1.mixer.q_proj.weight"));
}

TEST_CASE("robustness: a checkpoint whose step disagrees with metrics.csv is not resumed", "[train][robust]") {
  const Experiment ex = trained(tiny("disagree"));  // evals and checkpoints at 10 and 20
  const std::string dir = run_directory(ex), ckpt = dir + "/checkpoint.safetensors";
  const std::string metrics = read(dir + "/metrics.csv");
  // A step misread as 5 (or 0) would have dropped the rows of steps 10 and
  // 20: the row of step 20 was written after a checkpoint at 10.
  for (const char* step : {"5", "0"}) {
    edit_checkpoint(ckpt, "step", step);
    edit_checkpoint(ckpt, "finished", "0");
    REQUIRE_THROWS_WITH(run_training(ex, resuming()),
                        Catch::Contains(std::string("is at step ") + step + " but") &&
                            Catch::Contains("rows at steps [] up to it and [10, 20] after it") &&
                            Catch::Contains("none past step 10") && Catch::Contains("not resumed"));
    CHECK(read(dir + "/metrics.csv") == metrics);  // refused before anything was written
  }
  // Killed after the eval of step 20 but before its checkpoint: a legitimate
  // state, resumed from 10 (the row of step 20 is written again).
  edit_checkpoint(ckpt, "step", "10");
  // Rows written twice (two processes appending) are refused.
  const size_t row_10 = metrics.find("\n10,") + 1;  // after the step-0 row of the initial model
  const std::string row = metrics.substr(row_10, metrics.find('\n', row_10) + 1 - row_10);
  std::ofstream(dir + "/metrics.csv", std::ios::app) << row;
  REQUIRE_THROWS_WITH(run_training(ex, resuming()), Catch::Contains("rows at steps [10, 10]"));
  // Past the run's last step.
  std::ofstream(dir + "/metrics.csv") << metrics;
  edit_checkpoint(ckpt, "step", "21");
  REQUIRE_THROWS_WITH(run_training(ex, resuming()), Catch::Contains("past the run's 20 steps"));
  // (This checkpoint holds step 20's weights under step 10: a consistent
  // state as far as the files tell, so it resumes.)
  edit_checkpoint(ckpt, "step", "10");
  CHECK(run_training(ex, resuming()).steps == 20);
}

TEST_CASE("robustness: a run directory is trained by one process at a time", "[train][robust]") {
  const Experiment ex = trained(tiny("locked"), 10);
  const std::string dir = run_directory(ex);
  const std::string metrics = read(dir + "/metrics.csv");
  {
    // flock(2) locks are per open file: a second RunLock conflicts even in
    // this process, as a second `mixlab train` would.
    const RunLock holder(dir);
    REQUIRE_THROWS_WITH(run_training(ex, resuming()),
                        Catch::Contains("is in use: another mixlab train (pid " + std::to_string(::getpid()) + ")"));
    fs::remove(dir + "/checkpoint.safetensors");
    REQUIRE_THROWS_WITH(run_training(ex, resuming()), Catch::Contains("is in use"));
    CHECK(read(dir + "/metrics.csv") == metrics);
  }
  // A fresh run of the same name is refused while another holds the lock, too.
  const Experiment fresh = Experiment::load("", tiny("locked_fresh"));
  fs::remove_all(run_directory(fresh));
  fs::create_directories(run_directory(fresh));
  {
    const RunLock holder(run_directory(fresh));
    REQUIRE_THROWS_WITH(run_training(fresh, {}), Catch::Contains("is in use"));
  }
  // Released with its holder: training proceeds.
  CHECK(run_training(fresh, {}).steps == 20);
}

TEST_CASE("robustness: a non-finite loss stops the run naming the step; the last checkpoint stays",
          "[train][robust]") {
  // lr = 2^31 blows the weights up after the first update.
  const Experiment ex = Experiment::load("", tiny("diverges", {"--train.lr=2147483648", "--train.checkpoint_every=1"}));
  fs::remove_all(run_directory(ex));
  std::string message;
  try {
    run_training(ex, {});
    FAIL("trained on");
  } catch (const Error& e) {
    message = e.what();
  }
  INFO(message);
  CHECK_THAT(message, Catch::StartsWith("step ") && Catch::Contains(": training stopped: ") &&
                          Catch::Contains("the checkpoint of step "));
  const int64_t failed_at = std::stoll(message.substr(5));
  CHECK(failed_at >= 2);
  // The checkpoint left is the one before the failing step, and it loads.
  auto model = ex.build_model();
  CHECK(load_checkpoint(run_directory(ex) + "/checkpoint.safetensors", *model, nullptr).step == failed_at - 1);
  CHECK_THAT(read(run_directory(ex) + "/log.txt"), Catch::Contains("training stopped"));
  // Named: a range-for over a member of a temporary would read freed memory.
  const auto metrics = read_metrics_csv(run_directory(ex) + "/metrics.csv");
  for (double loss : metrics.at("test_loss")) CHECK(std::isfinite(loss));
}

TEST_CASE("robustness: temp files of killed writers are removed when the run resumes", "[train][robust]") {
  const Experiment ex = trained(tiny("stale_temps"), 10);
  const std::string dir = run_directory(ex);
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);  // a pid that no longer runs
  const std::string dead = std::to_string(child), alive = std::to_string(::getppid());
  const std::vector<std::string> left = {"checkpoint.safetensors.tmp." + dead, "metrics.csv.tmp",
                                         "config.ini.tmp." + alive, "notes.tmp." + dead};
  for (const std::string& name : left)
    std::ofstream(dir + "/" + name) << "x";
  run_training(ex, resuming());
  CHECK_FALSE(fs::exists(dir + "/checkpoint.safetensors.tmp." + dead));
  CHECK_FALSE(fs::exists(dir + "/metrics.csv.tmp"));
  CHECK(fs::exists(dir + "/config.ini.tmp." + alive));  // its writer may still be writing
  CHECK(fs::exists(dir + "/notes.tmp." + dead));         // not a file mixlab writes
  CHECK_THAT(read(dir + "/log.txt"), Catch::Contains("removed the temp files a killed run left: "));
}

TEST_CASE("robustness: a run killed before its first checkpoint resumes from step 0", "[train][robust]") {
  const Experiment whole = trained(tiny("whole"));
  const Experiment ex = trained(tiny("killed_early"), 5);
  const std::string dir = run_directory(ex);
  // What a kill before the first checkpoint leaves: config, metrics header, log, a temp file.
  fs::remove(dir + "/checkpoint.safetensors");
  std::ofstream(dir + "/checkpoint.safetensors.tmp.999999999") << "half";
  REQUIRE_THROWS_WITH(run_training(ex, {}), Catch::Contains("already exists") &&
                                                Catch::Contains("--resume starts it again from step 0"));
  CHECK(run_training(ex, resuming()).steps == 20);
  CHECK(read(dir + "/metrics.csv") == read(run_directory(whole) + "/metrics.csv"));
  // A directory that holds only such temp files is not a run yet: a fresh train takes it.
  const Experiment bare = Experiment::load("", tiny("only_temps"));
  fs::remove_all(run_directory(bare));
  fs::create_directories(run_directory(bare));
  std::ofstream(run_directory(bare) + "/config.ini.tmp.999999999") << "x";
  CHECK(run_training(bare, {}).steps == 20);
  // --resume of something that never started names what to do.
  const Experiment none = Experiment::load("", tiny("never_started"));
  fs::remove_all(run_directory(none));
  REQUIRE_THROWS_WITH(run_training(none, resuming()), Catch::Contains("does not exist: start it without --resume"));
}

TEST_CASE("robustness: a moved or copied run resumes where it is now", "[train][robust]") {
  const Experiment whole = trained(tiny("moving_whole"));
  const Experiment ex = trained(tiny("moving"), 15);
  const std::string elsewhere = scratch_dir() + "/elsewhere";
  fs::remove_all(elsewhere);
  fs::create_directories(elsewhere);
  fs::copy(run_directory(ex), elsewhere + "/moved", fs::copy_options::recursive);
  const Experiment moved = Experiment::load("", tiny("moved", {}, elsewhere));
  CHECK(run_training(moved, resuming()).steps == 20);
  CHECK(read(elsewhere + "/moved/metrics.csv") == read(run_directory(whole) + "/metrics.csv"));
  const auto recorded = read_ini(elsewhere + "/moved/config.ini");
  CHECK(recorded.at("train.out_dir") == elsewhere);
  CHECK(recorded.at("train.name") == "moved");
  // What the run computes still has to match.
  fs::copy(run_directory(ex), elsewhere + "/other", fs::copy_options::recursive);
  REQUIRE_THROWS_WITH(run_training(Experiment::load("", tiny("other", {"--train.lr=1e-2"}, elsewhere)), resuming()),
                      Catch::Contains("config differs") && Catch::Contains("train.lr"));
}

TEST_CASE("robustness: a trained checkpoint evaluates on other [task] settings", "[train][robust]") {
  const Experiment learned = trained(tiny("positions_learned", {"--model.positions=learned"}));
  LoadedRun run = load_run(run_directory(learned));
  // Shorter test sequences fit the learned positions; longer ones are refused.
  const Experiment shorter = with_task_settings(run, {"--task.test_segments=12:2:8"});
  CHECK(shorter.dataset->test_segments().at(0).seq_len == 12);
  REQUIRE_THROWS_WITH(with_task_settings(run, {"--task.test_segments", "32:2:8"}),
                      Catch::Contains("task.test_segments: length 32 exceeds the 16 learned positions"));
  REQUIRE_THROWS_WITH(with_task_settings(run, {"--task.vocab_size=128"}),
                      Catch::Contains("task.vocab_size = 128 differs from the model's vocabulary of 64"));
  REQUIRE_THROWS_WITH(with_task_settings(run, {"--model.d_model=32"}),
                      Catch::Contains("only [task] keys can change"));
  // A position-free model takes longer sequences and another task; its own
  // [task] keys are dropped with the new task.name.
  const Experiment free = trained(tiny("positions_none"));
  LoadedRun free_run = load_run(run_directory(free));
  const Experiment longer = with_task_settings(free_run, {"--task.test_segments=32:2:8"});
  CHECK(longer.dataset->test_segments().at(0).seq_len == 32);
  const Experiment other = with_task_settings(
      free_run, {"--task.name=ar", "--task.vocab_size=64", "--task.train_segments=16:2:8", "--task.test_segments=16:2:8"});
  CHECK(other.task_name == "ar");
}

TEST_CASE("robustness: keys that size memory are bounded before anything is allocated", "[train][robust][errors]") {
  auto refused = [](const std::string& arg, const std::string& needle, std::vector<std::string> more = {}) {
    INFO(arg);
    more.push_back(arg);
    REQUIRE_THROWS_WITH(Experiment::load("", tiny("sizes", more)), Catch::Contains(needle));
  };
  refused("--task.vocab_size=100000000000", "task.vocab_size = 100000000000 is over mixlab's limit");
  refused("--model.d_model=100000000", "model.d_model = 100000000 is over mixlab's limit");
  refused("--model.n_layers=100000000", "model.n_layers = 100000000 is over mixlab's limit");
  refused("--model.ffn_mult=100000000", "model.ffn_mult = 100000000 is over mixlab's limit");
  refused("--train.batch_size=10000000000", "train.batch_size = 10000000000 is over mixlab's limit");
  refused("--train.batch_size=1000000", "256 are 256000000 tokens per batch",
          {"--task.vocab_size=512", "--task.train_segments=256:2:256"});
}

TEST_CASE("robustness: error lines cut long values", "[train][robust][errors]") {
  const std::string huge(1 << 20, 'x');
  const std::string line = one_error_line("train.schedule = '" + huge + "' is not allowed\n(allowed: constant)");
  CHECK(line.size() < 200);
  CHECK_THAT(line, Catch::Contains("is not allowed (allowed: constant)") &&
                       Catch::Contains("... (" + std::to_string(huge.size() + 2) + " bytes)"));
  CHECK(line.find('\n') == std::string::npos);
  CHECK(one_error_line("short and sweet") == "short and sweet");
  // A UTF-8 character is never cut in half.
  const std::string cut = abbreviate(std::string(99, 'a') + "≤≤", 100);
  CHECK(cut.substr(0, 99) == std::string(99, 'a'));
  CHECK(cut[99] == '.');
}
