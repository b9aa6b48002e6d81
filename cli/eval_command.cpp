// `mixlab eval RUN_DIR [--batch-size N] [--device D] [--task.KEY VALUE ...]`:
// test metrics of a run's checkpoint, on its own test set or, with [task]
// settings, on other lengths and tasks (train/run_loader.h says what may change).
#include <cstdio>

#include "cli/command.h"
#include "autograd/error.h"
#include "train/evaluate.h"
#include "train/run_loader.h"

namespace mixlab::cli {

namespace {

int eval_command(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab eval RUN_DIR [options]: test loss and accuracy of the run's checkpoint");
  options.add_options()("help,h", "print this help")("run", po::value<std::string>(), "run directory")(
      "batch-size", po::value<int64_t>()->default_value(0), "test batch size (0: the run's train.eval_batch_size)")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu | cuda | cuda:N");
  po::positional_options_description positional;
  positional.add("run", 1);
  po::variables_map vm;
  const TaskArgs split = split_task_args("eval", args);
  parse_args("eval", split.rest, options, &positional, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab eval RUN_DIR [--batch-size N] [--device cpu|cuda] [--task.KEY VALUE ...]\n"
                "--task.KEY VALUE evaluates on other [task] settings, e.g. --task.test_segments 128:8:500\n"
                "(learned positions cannot extrapolate past the run's longest sequence)\n");
    return 0;
  }
  if (!vm.count("run")) throw UsageError("eval: no run directory given (usage: mixlab eval RUN_DIR)");
  const int64_t requested = vm["batch-size"].as<int64_t>();
  if (requested < 0) throw UsageError("eval: --batch-size must be >= 0");
  const Device device = cli_device("eval", vm);
  LoadedRun run = load_run(vm["run"].as<std::string>(), device);
  Experiment retasked;
  if (!split.task.empty()) {
    try {
      retasked = with_task_settings(run, split.task);
    } catch (const Error& e) {
      throw UsageError(std::string("eval: ") + e.what());
    }
  }
  const Experiment& ex = split.task.empty() ? run.experiment : retasked;
  const EvalResult r = evaluate(*run.model, *ex.dataset, requested > 0 ? requested : ex.train.eval_batch_size);
  std::printf("%s at step %lld%s: test loss %.4f, test accuracy %.4f\n", vm["run"].as<std::string>().c_str(),
              static_cast<long long>(run.progress.step),
              split.task.empty() ? "" : (" on " + ex.task->describe()).c_str(), r.loss, r.accuracy);
  const auto& segments = ex.dataset->test_segments();
  for (size_t i = 0; i < segments.size(); ++i)
    std::printf("  L %lld, size %lld (%lld examples): accuracy %.4f\n", static_cast<long long>(segments[i].seq_len),
                static_cast<long long>(segments[i].size), static_cast<long long>(segments[i].num_examples),
                r.segment_accuracy[i]);
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(eval, "test metrics of a run's checkpoint (mixlab eval RUN_DIR)", eval_command);

}  // namespace mixlab::cli
