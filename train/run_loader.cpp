#include "train/run_loader.h"

#include <filesystem>
#include <map>

namespace mixlab {

LoadedRun load_run(const std::string& run_dir, Device device) {
  namespace fs = std::filesystem;
  MIXLAB_CHECK(fs::is_directory(run_dir), "run directory '", run_dir, "' does not exist");
  const std::string config = run_dir + "/config.ini", ckpt = run_dir + "/checkpoint.safetensors";
  MIXLAB_CHECK(fs::is_regular_file(config), run_dir, " is not a run directory (no config.ini)");
  MIXLAB_CHECK(fs::is_regular_file(ckpt), run_dir, " has no checkpoint yet (checkpoint.safetensors)");
  LoadedRun run;
  run.run_dir = run_dir;
  run.experiment = Experiment::load(config);
  run.model = run.experiment.build_model();
  run.progress = load_checkpoint(ckpt, *run.model, nullptr);
  run.model->to(device);
  run.model->eval();
  return run;
}

Experiment with_task_settings(const LoadedRun& run, const std::vector<std::string>& task_overrides) {
  std::map<std::string, std::string> settings = read_ini(run.run_dir + "/config.ini");
  std::map<std::string, std::string> given;
  for (size_t i = 0; i < task_overrides.size(); ++i) {
    std::string key = task_overrides[i], value;
    if (key.starts_with("--")) key = key.substr(2);
    if (const auto eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else {
      MIXLAB_CHECK(i + 1 < task_overrides.size(), "--", key, " needs a value");
      value = task_overrides[++i];
    }
    MIXLAB_CHECK(key.starts_with("task."), "--", key, ": only [task] keys can change for a trained model");
    given[key] = value;
  }
  if (given.contains("task.name") && given["task.name"] != settings["task.name"])
    std::erase_if(settings, [](const auto& kv) { return kv.first.starts_with("task."); });
  for (const auto& [key, value] : given) settings[key] = value;
  std::vector<std::string> args;
  // An empty value in config.ini is an empty default (model.ffn_pattern), which
  // the command-line syntax cannot spell.
  for (const auto& [key, value] : settings)
    if (!value.empty()) args.push_back("--" + key + "=" + value);
  Experiment ex = Experiment::load("", args, /*check_model=*/false);

  const LanguageModel& model = *run.model;
  MIXLAB_CHECK(ex.task->vocab_size() == model.vocab_size, "task.vocab_size = ", ex.task->vocab_size(),
               " differs from the model's vocabulary of ", model.vocab_size, " tokens");
  const std::string non_causal = model.first_non_causal_mixer();
  MIXLAB_CHECK(!ex.task->causal() || non_causal.empty(), "task.name = ", ex.task_name, " is causal, but mixer '",
               non_causal, "' of this model is not");
  for (const Segment& s : ex.dataset->test_segments())
    MIXLAB_CHECK(!model.pos_embed || s.seq_len <= model.max_seq_len, "task.test_segments: length ", s.seq_len,
                 " exceeds the ", model.max_seq_len, " learned positions of this model (model.positions = learned ",
                 "cannot extrapolate; evaluate lengths up to ", model.max_seq_len, ")");
  return ex;
}

}  // namespace mixlab
