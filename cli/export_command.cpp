// `mixlab export RUN_DIR --out model.safetensors`: the weights of a run's
// checkpoint alone, for other tools. The tensors keep the module-tree names
// of docs/model.md ("embed.weight", "blocks.0.mixer.q_proj.weight", ...),
// which are the names a PyTorch module tree of the same structure gives in
// its state_dict; module buffers (performer's draw counters) are included,
// the AdamW moments and training progress are not. The metadata holds the
// run's resolved config ("config", INI text) and the checkpoint's step.
#include <cstdio>

#include "cli/command.h"
#include "train/run_loader.h"
#include "train/safetensors.h"

namespace mixlab::cli {

namespace {

int export_command(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab export RUN_DIR --out OUT");
  options.add_options()("help,h", "print this help")("run", po::value<std::string>(), "run directory")(
      "out", po::value<std::string>(), "safetensors file to write: the model's parameters and buffers");
  po::positional_options_description positional;
  positional.add("run", 1);
  po::variables_map vm;
  parse_args("export", args, options, &positional, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab export RUN_DIR --out model.safetensors\n"
                "Writes the checkpoint's parameters and buffers under their PyTorch state_dict names\n"
                "(docs/model.md), with the run's config.ini and step as metadata; no optimizer state.\n");
    return 0;
  }
  if (!vm.count("run") || !vm.count("out"))
    throw UsageError("export: missing " + std::string(vm.count("run") ? "--out" : "RUN_DIR") +
                     " (usage: mixlab export RUN_DIR --out model.safetensors)");
  const LoadedRun run = load_run(vm["run"].as<std::string>());
  std::vector<std::pair<std::string, Tensor>> tensors = run.model->named_parameters();
  for (auto& entry : run.model->named_buffers()) tensors.push_back(entry);
  const std::string out = vm["out"].as<std::string>();
  write_safetensors(out, tensors,
                    {{"format", "mixlab-weights-1"},
                     {"step", std::to_string(run.progress.step)},
                     {"config", run.experiment.resolved_ini()}});
  std::printf("wrote %zu tensors (%lld parameters, step %lld) to %s\n", tensors.size(),
              static_cast<long long>(run.model->num_parameters()), static_cast<long long>(run.progress.step),
              out.c_str());
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(export, "the weights of a run's checkpoint, PyTorch state_dict names (safetensors)",
                        export_command);

}  // namespace mixlab::cli
