// End-to-end: a small MQAR model learns; runs are reproducible; resume is
// bit-identical; bad configs are refused before anything is written.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kernels/cuda/cuda_api.h"
#include "tests/scratch_dir.h"
#include "train/metrics_log.h"
#include "train/trainer.h"

using namespace mixlab;
namespace fs = std::filesystem;

namespace {

std::string scratch_dir() { return test::scratch_dir("train_tests").string(); }

// A small MQAR problem: V 64, L 16, 2 kv pairs; a shortconv + attention hybrid, d 32.
std::vector<std::string> small_mqar(const std::string& name, std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {
      "--train.name=" + name,        "--train.out_dir=" + scratch_dir(),
      "--task.vocab_size=64",        "--task.train_segments=16:2:2048",
      "--task.test_segments=16:2:256", "--model.d_model=32",
      "--model.n_layers=2",          "--model.pattern=shortconv,mha",
      "--model.positions=learned",   "--train.batch_size=32",
      "--train.lr=3e-3",             "--train.schedule=constant",
      "--train.threads=1",           "--train.target_accuracy=0",
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

}  // namespace

TEST_CASE("training: a small MQAR model learns far above chance", "[train][e2e]") {
  Experiment ex = Experiment::load("", small_mqar("learns", {"--train.max_steps=300", "--train.eval_every=100"}));
  fs::remove_all(run_directory(ex));
  TrainSummary s = run_training(ex, {});
  // Chance is 1/32 (values are half the vocabulary).
  CHECK(s.final_accuracy > 0.9);
  CHECK(s.steps == 300);
  auto cols = read_metrics_csv(s.run_dir + "/metrics.csv");
  // Step 0 evaluates the initial model (no training loss yet): the curves start at the init loss.
  CHECK(cols["step"] == std::vector<double>{0, 100, 200, 300});
  CHECK(std::isnan(cols["train_loss"][0]));
  CHECK(cols["test_loss"][0] > cols["test_loss"].back());
  CHECK(cols["train_loss"].back() < cols["train_loss"][1]);
  // train_loss.csv holds every step's loss; an eval row holds their mean since the previous eval.
  auto steps = read_metrics_csv(s.run_dir + "/train_loss.csv");
  REQUIRE(steps["step"].size() == 300);
  CHECK(steps["step"].front() == 1);
  CHECK(steps["step"].back() == 300);
  for (size_t e = 0; e < 3; ++e) {
    double sum = 0;
    for (size_t i = 100 * e; i < 100 * (e + 1); ++i) sum += steps["train_loss"][i];
    CHECK(sum / 100 == Approx(cols["train_loss"][e + 1]).epsilon(1e-6));
  }
  CHECK(fs::is_regular_file(s.run_dir + "/checkpoint.safetensors"));
  CHECK(fs::is_regular_file(s.run_dir + "/config.ini"));
}

TEST_CASE("training: one seed gives identical metrics, resume continues bit for bit", "[train][e2e]") {
  const std::vector<std::string> common = {"--train.max_steps=60", "--train.eval_every=20",
                                           "--model.embed_dropout=0.1"};
  Experiment a = Experiment::load("", small_mqar("seed_a", common));
  Experiment b = Experiment::load("", small_mqar("seed_b", common));
  for (const Experiment* e : {&a, &b}) fs::remove_all(run_directory(*e));
  run_training(a, {});
  run_training(b, {});
  const std::string metrics_a = read(run_directory(a) + "/metrics.csv");
  CHECK(metrics_a == read(run_directory(b) + "/metrics.csv"));
  const std::string steps_a = read(run_directory(a) + "/train_loss.csv");
  CHECK(steps_a == read(run_directory(b) + "/train_loss.csv"));

  // Interrupted after 30 steps (checkpoints at 20 and at the stop), then resumed.
  Experiment c = Experiment::load("", small_mqar("resumed", common));
  fs::remove_all(run_directory(c));
  TrainOptions interrupt;
  interrupt.should_stop = [](int64_t step) { return step == 30; };
  TrainSummary first = run_training(c, interrupt);
  CHECK(first.interrupted);
  CHECK(first.steps == 30);
  TrainOptions resume;
  resume.resume = true;
  // Where a run executes may change on resume (device, TF32, threads); the
  // CPU kernels do not depend on the thread count, so it still continues bit for bit.
  std::vector<std::string> elsewhere = small_mqar("resumed", common);
  std::replace(elsewhere.begin(), elsewhere.end(), std::string("--train.threads=1"), std::string("--train.threads=2"));
  Experiment c_elsewhere = Experiment::load("", elsewhere);
  TrainSummary second = run_training(c_elsewhere, resume);
  CHECK(second.steps == 60);
  CHECK(read(run_directory(c) + "/metrics.csv") == metrics_a);
  CHECK(read(run_directory(c) + "/train_loss.csv") == steps_a);  // the steps after the checkpoint, once
}

TEST_CASE("training: a Performer that redraws its features resumes bit for bit", "[train][e2e]") {
  // Ω is redrawn every 7 training forwards, so the interruption at step 30
  // falls between redraws; the draw counters travel in the checkpoint.
  const std::vector<std::string> common = {"--train.max_steps=50", "--train.eval_every=10",
                                           "--model.pattern=shortconv,performer", "--performer.nb_features=16",
                                           "--performer.redraw_interval=7"};
  Experiment whole = Experiment::load("", small_mqar("performer_whole", common));
  Experiment parts = Experiment::load("", small_mqar("performer_parts", common));
  for (const Experiment* e : {&whole, &parts}) fs::remove_all(run_directory(*e));
  run_training(whole, {});
  TrainOptions interrupt;
  interrupt.should_stop = [](int64_t step) { return step == 30; };
  REQUIRE(run_training(parts, interrupt).interrupted);
  TrainOptions resume;
  resume.resume = true;
  run_training(parts, resume);
  CHECK(read(run_directory(parts) + "/metrics.csv") == read(run_directory(whole) + "/metrics.csv"));
}

TEST_CASE("training: bad configs are refused before a run directory exists", "[train][e2e][errors]") {
  auto refused = [](std::vector<std::string> extra, const std::string& needle) {
    std::vector<std::string> args = small_mqar("refused", {"--train.max_steps=10"});
    args.insert(args.end(), extra.begin(), extra.end());
    INFO(needle);
    try {
      Experiment ex = Experiment::load("", args);
      run_training(ex, {});
      FAIL("accepted");
    } catch (const Error& e) {
      CHECK_THAT(e.what(), Catch::Contains(needle));
    }
    CHECK_FALSE(fs::exists(scratch_dir() + "/refused"));
  };
  refused({"--model.d_model=30", "--mha.n_heads=4"}, "mha.n_heads");
  refused({"--task.train_segments=16:9:100"}, "task.train_segments");
  refused({"--task.vocab_size=8"}, "vocab");
  refused({"--model.pattern=mha,nope"}, "model.pattern");
  refused({"--model.norm=batchnorm"}, "model.norm");
  refused({"--train.lr=-1"}, "train.lr");
  refused({"--train.epochs=2"}, "train.epochs");
  refused({"--no.such_key=1"}, "no.such_key");
  refused({"--task.name=nope"}, "nope");
  refused({"--train.batch_size=abc"}, "train.batch_size");
  if (!cuda_available())
    refused({"--train.device=cuda"}, cuda::built_with_cuda() ? "train.device = cuda: no such CUDA device is visible here"
                                                             : "train.device = cuda: mixlab was built without CUDA");
  refused({"--train.device=tpu"}, "train.device = 'tpu' is not a device (allowed: cpu, cuda, cuda:N)");
  refused({"--train.tf32=true"}, "train.tf32 = true needs train.device = cuda");
}

TEST_CASE("training: an existing run is neither overwritten nor resumed with another config", "[train][e2e][errors]") {
  Experiment ex = Experiment::load("", small_mqar("existing", {"--train.max_steps=5"}));
  fs::remove_all(run_directory(ex));
  run_training(ex, {});
  const std::string before = read(run_directory(ex) + "/metrics.csv");
  REQUIRE_THROWS_WITH(run_training(ex, {}), Catch::Contains("already exists") && Catch::Contains("--resume"));
  Experiment other = Experiment::load("", small_mqar("existing", {"--train.max_steps=5", "--train.lr=1e-2"}));
  TrainOptions resume;
  resume.resume = true;
  REQUIRE_THROWS_WITH(run_training(other, resume), Catch::Contains("config differs") && Catch::Contains("lr"));
  CHECK(read(run_directory(ex) + "/metrics.csv") == before);
}

TEST_CASE("training: a run from before an option existed resumes; a non-default value of it does not",
          "[train][e2e][errors]") {
  // A run started by an older mixlab has no line for an option added since
  // (here mha.window): its default is the behaviour the run had.
  const std::vector<std::string> common = {"--train.max_steps=10", "--train.eval_every=5"};
  Experiment ex = Experiment::load("", small_mqar("older", common));
  fs::remove_all(run_directory(ex));
  TrainOptions interrupt;
  interrupt.should_stop = [](int64_t step) { return step == 5; };
  run_training(ex, interrupt);
  const std::string config_path = run_directory(ex) + "/config.ini";
  std::string config = read(config_path);
  const auto line = config.find("window = 0\n", config.find("[mha]"));
  REQUIRE(line != std::string::npos);
  config.erase(line, std::string("window = 0\n").size());
  std::ofstream(config_path) << config;
  TrainOptions resume;
  resume.resume = true;
  std::vector<std::string> windowed = small_mqar("older", common);
  windowed.push_back("--mha.window=4");
  REQUIRE_THROWS_WITH(run_training(Experiment::load("", windowed), resume),
                      Catch::Contains("config differs") && Catch::Contains("mha.window = 4"));
  CHECK(run_training(ex, resume).steps == 10);
}

TEST_CASE("training: every shipped experiment config is valid", "[train][configs]") {
  int checked = 0;
  for (const auto& entry : fs::recursive_directory_iterator(std::string(MIXLAB_SOURCE_DIR) + "/experiments")) {
    if (entry.path().extension() != ".ini") continue;
    // Sweep files (a [sweep] section) are checked by `scripts/sweep run --dry-run`
    // (cmake/sweep_tests.cmake).
    if (read(entry.path().string()).find("\n[sweep]") != std::string::npos) continue;
    INFO(entry.path().string());
    CHECK_NOTHROW(Experiment::load(entry.path().string()));
    ++checked;
  }
  CHECK(checked >= 5);
}

TEST_CASE("training: train.eval_at_start = false writes no step-0 row, and such a run resumes", "[train][e2e]") {
  // Runs from before the step-0 eval existed have no such row either.
  const std::vector<std::string> common = {"--train.max_steps=10", "--train.eval_every=5",
                                           "--train.eval_at_start=false"};
  Experiment ex = Experiment::load("", small_mqar("no_initial_eval", common));
  fs::remove_all(run_directory(ex));
  TrainOptions interrupt;
  interrupt.should_stop = [](int64_t step) { return step == 5; };
  run_training(ex, interrupt);
  TrainOptions resume;
  resume.resume = true;
  CHECK(run_training(ex, resume).steps == 10);
  CHECK(read_metrics_csv(run_directory(ex) + "/metrics.csv")["step"] == std::vector<double>{5, 10});
}
