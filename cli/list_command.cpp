// `mixlab list [NAME ...]`: every registered mixer, preset and task with its
// options and defaults, read from the registries (no hand-kept list); with
// names, only those.
#include <iostream>
#include <set>

#include "cli/command.h"
#include "layers/mixers/registry.h"
#include "train/tasks/registry.h"

namespace mixlab::cli {

namespace {

void show_mixer(const MixerSpec& spec) {
  po::options_description section(spec.name + ": " + spec.summary);
  spec.declare(section, spec.name, {});
  std::cout << section << "\n";
}

void show_preset(const MixerPreset& preset) {
  std::string settings;
  for (const std::string& s : preset.settings) settings += (settings.empty() ? "" : ", ") + s;
  std::cout << "  " << preset.name << " = " << preset.mixer << " with " << settings << ": " << preset.summary << "\n";
}

void show_everything() {
  std::cout << "Mixers (model.pattern = name,name,...; options in the [name] section):\n\n";
  for (const MixerSpec& spec : mixer_registry()) show_mixer(spec);
  std::cout << "Presets (a mixer with other defaults, used and configured like one):\n\n";
  for (const MixerPreset& preset : mixer_presets()) show_preset(preset);
  std::cout << "\nInstances: a config section that names a mixer (or preset) is a layer of its own, with every\n"
               "option of that mixer; this model holds two differently configured attention layers:\n"
               "    [model]\n    pattern = shortconv, local, global\n"
               "    [local]\n    mixer = mha\n    window = 16\n"
               "    [global]\n    mixer = mha\n    n_heads = 2\n\n";
  std::cout << "Tasks (task.name = name; options in the [task] section):\n\n";
  for (const TaskSpec& spec : task_registry()) std::cout << task_options(spec.name) << "\n";
}

// The named mixers, presets and tasks, in the order given; every name is
// checked before anything is printed.
void show_named(const Args& names) {
  std::string known;
  std::set<std::string> all;
  auto note = [&](const std::string& name) {
    if (all.insert(name).second) known += (known.empty() ? "" : ", ") + name;
  };
  for (const MixerSpec& spec : mixer_registry()) note(spec.name);
  for (const MixerPreset& preset : mixer_presets()) note(preset.name);
  for (const TaskSpec& spec : task_registry()) note(spec.name);
  for (const std::string& name : names)
    if (!all.count(name))
      throw UsageError("list: unknown mixer, preset or task '" + name + "' (known: " + known + ")");
  for (const std::string& name : names) {
    for (const MixerSpec& spec : mixer_registry())
      if (spec.name == name) show_mixer(spec);
    for (const MixerPreset& preset : mixer_presets())
      if (preset.name == name) {
        show_preset(preset);
        std::cout << "\n";
      }
    for (const TaskSpec& spec : task_registry())
      if (spec.name == name) std::cout << task_options(spec.name) << "\n";
  }
}

int list_command(const Args& args) {
  for (const std::string& a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << "usage: mixlab list [NAME ...]   (mixers, presets and tasks with their options and defaults;\n"
                   "                                 with names, only those: mixlab list mamba2 mqar)\n";
      return 0;
    }
    if (a.starts_with("-")) throw UsageError("list: unknown option '" + a + "' (allowed: --help; or names)");
  }
  if (args.empty())
    show_everything();
  else
    show_named(args);
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(list, "mixers, presets and tasks with their options and defaults (or only the named ones)",
                        list_command);

}  // namespace mixlab::cli
