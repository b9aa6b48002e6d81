// `mixlab list`: every registered mixer and task with its options and
// defaults, read from the registries (no hand-kept list).
#include <iostream>

#include "cli/command.h"
#include "layers/mixers/registry.h"
#include "train/tasks/registry.h"

namespace mixlab::cli {

namespace {

int list_command(const Args& args) {
  if (!args.empty() && (args[0] == "--help" || args[0] == "-h")) {
    std::cout << "usage: mixlab list   (mixers and tasks with their options and defaults)\n";
    return 0;
  }
  if (!args.empty()) throw UsageError("list: unexpected argument '" + args[0] + "' (list takes none)");
  std::cout << "Mixers (model.pattern = name,name,...; options in the [name] section):\n\n";
  for (const MixerSpec& spec : mixer_registry()) {
    po::options_description section(spec.name + ": " + spec.summary);
    spec.declare(section, spec.name, {});
    std::cout << section << "\n";
  }
  std::cout << "Presets (a mixer with other defaults, used and configured like one):\n\n";
  for (const MixerPreset& preset : mixer_presets()) {
    std::string settings;
    for (const std::string& s : preset.settings) settings += (settings.empty() ? "" : ", ") + s;
    std::cout << "  " << preset.name << " = " << preset.mixer << " with " << settings << ": " << preset.summary
              << "\n";
  }
  std::cout << "\nInstances: a config section that names a mixer (or preset) is a layer of its own, with every\n"
               "option of that mixer; this model holds two differently configured attention layers:\n"
               "    [model]\n    pattern = shortconv, local, global\n"
               "    [local]\n    mixer = mha\n    window = 16\n"
               "    [global]\n    mixer = mha\n    n_heads = 2\n\n";
  std::cout << "Tasks (task.name = name; options in the [task] section):\n\n";
  for (const TaskSpec& spec : task_registry()) std::cout << task_options(spec.name) << "\n";
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(list, "mixers and tasks with their options and defaults", list_command);

}  // namespace mixlab::cli
