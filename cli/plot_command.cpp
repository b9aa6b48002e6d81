// `mixlab plot RUN_OR_FOLDER... -o file.png [--figure curves|accuracy|state]`:
// training curves of runs overlaid (optionally coloured by a setting), or the
// summary figures over many runs (train/figures.h): accuracy against a swept
// setting with a panel per test segment (Zoology's Figure 2), or accuracy
// against decode state bytes (the recall-memory tradeoff). Folders of runs
// (a sweep's output) expand to the runs inside.
#include <cstdio>

#include "cli/command.h"
#include "train/figures.h"
#include "train/plot.h"

namespace mixlab::cli {

namespace {

int plot_command(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab plot RUN_OR_FOLDER... -o FILE.png [options]");
  options.add_options()("help,h", "print this help")("runs", po::value<std::vector<std::string>>(),
                                                     "run directories or folders of runs")(
      "output,o", po::value<std::string>(), "PNG file to write")(
      "figure", po::value<std::string>()->default_value("curves"),
      "curves (loss/accuracy by step) | accuracy (accuracy vs --x, a panel per test segment) | state (accuracy vs "
      "decode state bytes)")("color-by", po::value<std::string>()->default_value(""),
                             "curves: one colour per value of this setting (e.g. model.pattern)")(
      "x", po::value<std::string>()->default_value("model.d_model"), "accuracy figure: the setting on the x axis")(
      "line-by", po::value<std::string>()->default_value("model.pattern"),
      "accuracy/state figures: one line per value of this setting; several comma-separated keys label "
      "lines by all of them (a mixer's key only for runs that use the mixer)")(
      "final", "accuracy/state figures: the final eval of each run instead of its best")(
      "context", po::value<int64_t>()->default_value(8192), "state figure: state bytes after this many tokens")(
      "title", po::value<std::string>()->default_value(""), "accuracy/state figures: the title (default: what is plotted)")(
      "best-over", po::value<std::string>()->default_value("train.lr"),
      "accuracy/state figures: runs of a point that differ in this setting are compared (the best mean is drawn); "
      "runs that share it are seeds (mean, min-max bars); '' = every run of a point is a seed")(
      "caption", po::value<std::string>()->default_value(""),
      "accuracy/state figures: text appended to the caption line under the figure (which already names the seeds, "
      "the best-over values and the budget)")(
      "check", "validate the options and exit without reading runs or writing (what scripts/sweep runs first)");
  po::positional_options_description positional;
  positional.add("runs", -1);
  po::variables_map vm;
  parse_args("plot", args, options, &positional, vm);
  if (vm.count("help")) {
    std::printf(
        "usage: mixlab plot RUN_OR_FOLDER... -o file.png [--figure curves|accuracy|state] [--color-by KEY]\n"
        "       [--x model.d_model] [--line-by model.pattern] [--final] [--context 8192] [--title TEXT]\n"
        "       [--best-over train.lr] [--caption TEXT] [--check]\n"
        "A point of the accuracy and state figures is the runs sharing a line and an x value: grouped by\n"
        "--best-over (the learning rate), each group's runs are seeds; the group with the best mean accuracy is\n"
        "drawn as its mean with min-max bars, and the caption line says how many seeds and which values.\n");
    return 0;
  }
  if (!vm.count("runs")) throw UsageError("plot: no run directories given (usage: mixlab plot RUN_DIR... -o file.png)");
  if (!vm.count("output")) throw UsageError("plot: missing -o FILE.png");
  const std::string out = vm["output"].as<std::string>(), figure = vm["figure"].as<std::string>();
  if (!out.ends_with(".png")) throw UsageError("plot: output '" + out + "' must end in .png");
  if (figure != "curves" && figure != "accuracy" && figure != "state")
    throw UsageError("plot: --figure '" + figure + "' is not one of: curves, accuracy, state");
  if (vm["context"].as<int64_t>() < 1) throw UsageError("plot: --context must be >= 1");
  if (vm.count("check")) {
    std::printf("plot: options ok\n");
    return 0;
  }
  const std::vector<std::string> paths = vm["runs"].as<std::vector<std::string>>();
  if (figure == "curves") {
    std::vector<std::string> dirs;
    for (const RunRecord& r : load_runs(paths)) dirs.push_back(r.dir);
    plot_curves(dirs, out, vm["color-by"].as<std::string>());
  } else {
    FigureOptions o;
    o.x_key = vm["x"].as<std::string>();
    o.line_key = vm["line-by"].as<std::string>();
    o.best = !vm.count("final");
    o.context = vm["context"].as<int64_t>();
    o.title = vm["title"].as<std::string>();
    o.best_over = vm["best-over"].as<std::string>();
    o.caption = vm["caption"].as<std::string>();
    const std::vector<RunRecord> runs = load_runs(paths);
    if (figure == "accuracy")
      plot_accuracy_vs_x(runs, o, out);
    else
      plot_accuracy_vs_state(runs, o, out);
  }
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(plot, "training curves of runs, or accuracy vs width / vs decode state over many runs (PNG)",
                        plot_command);

}  // namespace mixlab::cli
