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
    spec.add_options(section);
    std::cout << section << "\n";
  }
  std::cout << "Tasks (task.name = name; options in the [task] section):\n\n";
  for (const TaskSpec& spec : task_registry()) std::cout << task_options(spec.name) << "\n";
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(list, "mixers and tasks with their options and defaults", list_command);

}  // namespace mixlab::cli
