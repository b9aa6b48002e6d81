#pragma once
// An experiment: the parsed and validated config (INI file + overrides) with
// the task, dataset, model and training settings it describes. Everything is
// checked here, before a run directory exists or any work starts.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/mixers/registry.h"
#include "layers/options.h"
#include "models/language_model.h"
#include "models/model_config.h"
#include "train/tasks/dataset.h"
#include "train/train_config.h"

namespace mixlab {

struct Experiment {
  po::variables_map options;
  std::string task_name;
  ModelConfig model;
  TrainConfig train;
  std::shared_ptr<const Task> task;
  std::shared_ptr<const Dataset> dataset;

  // Every key an experiment with task `task_name` accepts: [task] (selector
  // task.name plus the task's own keys), [model], [train], one section per
  // mixer and preset, and one per mixer instance of the config ([local] mixer = mha).
  static po::options_description options_for(const std::string& task_name, const MixerInstances& instances = {});

  // Reads `ini_path` (sections are key prefixes: [model] d_model = 64 is
  // model.d_model) and applies `overrides` ("--model.d_model=128" or
  // "--model.d_model", "128"), which win over the file. Unknown keys, bad
  // values and inconsistent settings throw mixlab::Error with one line naming
  // the key. An empty ini_path means defaults plus overrides only.
  // `check_model` = false skips building the model (the caller checks it,
  // e.g. once per distinct model_settings()).
  static Experiment load(const std::string& ini_path, const std::vector<std::string>& overrides = {},
                         bool check_model = true);
  static Experiment from_options(const po::variables_map& vm, bool check_model = true);

  // Longest sequence of any train or test segment.
  int64_t max_seq_len() const;
  // Builds the model (and checks it against the task: a non-causal mixer on a
  // causal task is refused).
  std::unique_ptr<LanguageModel> build_model() const;
  // The fully resolved config: every "section.key" with its value as text
  // (what config.ini holds), and the same as INI text, sorted.
  std::map<std::string, std::string> resolved_values() const;
  std::string resolved_ini() const;
  // What build_model depends on: every setting outside [train] (which only
  // supplies the seed of the initial weights) and the longest sequence. Two
  // experiments with equal model_settings build models that both pass or both
  // fail its checks.
  std::string model_settings() const;
};

// "a = b" lines under "[section]" headers of an INI file (a run's
// config.ini) -> {"section.a": "b"}.
std::map<std::string, std::string> read_ini(const std::string& path);
// The reverse: {"section.a": "b"} -> INI text, sections and keys sorted.
std::string ini_text(const std::map<std::string, std::string>& values);

}  // namespace mixlab
