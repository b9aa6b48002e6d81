#include "train/run_loader.h"

#include <filesystem>

namespace mixlab {

LoadedRun load_run(const std::string& run_dir, Device device) {
  namespace fs = std::filesystem;
  MIXLAB_CHECK(fs::is_directory(run_dir), "run directory '", run_dir, "' does not exist");
  const std::string config = run_dir + "/config.ini", ckpt = run_dir + "/checkpoint.safetensors";
  MIXLAB_CHECK(fs::is_regular_file(config), run_dir, " is not a run directory (no config.ini)");
  MIXLAB_CHECK(fs::is_regular_file(ckpt), run_dir, " has no checkpoint yet (checkpoint.safetensors)");
  LoadedRun run;
  run.experiment = Experiment::load(config);
  run.model = run.experiment.build_model();
  run.progress = load_checkpoint(ckpt, *run.model, nullptr);
  run.model->to(device);
  run.model->eval();
  return run;
}

}  // namespace mixlab
