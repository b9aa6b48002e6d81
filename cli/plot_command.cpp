// `mixlab plot RUN_DIR... -o file.png`: loss and accuracy curves, runs overlaid.
#include <cstdio>

#include "cli/command.h"
#include "train/plot.h"

namespace mixlab::cli {

namespace {

int plot_command(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab plot RUN_DIR... -o FILE.png");
  options.add_options()("help,h", "print this help")("runs", po::value<std::vector<std::string>>(), "run directories")(
      "output,o", po::value<std::string>(), "PNG file to write");
  po::positional_options_description positional;
  positional.add("runs", -1);
  po::variables_map vm;
  parse_args("plot", args, options, &positional, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab plot RUN_DIR... -o file.png   (train and test loss, test accuracy by step)\n");
    return 0;
  }
  if (!vm.count("runs")) throw UsageError("plot: no run directories given (usage: mixlab plot RUN_DIR... -o file.png)");
  if (!vm.count("output")) throw UsageError("plot: missing -o FILE.png");
  const std::string out = vm["output"].as<std::string>();
  if (!out.ends_with(".png")) throw UsageError("plot: output '" + out + "' must end in .png");
  plot_curves(vm["runs"].as<std::vector<std::string>>(), out);
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(plot, "loss and accuracy curves of runs, overlaid (gnuplot PNG)", plot_command);

}  // namespace mixlab::cli
