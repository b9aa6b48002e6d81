#pragma once
// The task registry: name -> summary, options (with defaults) and a factory.
// `mixlab list`, `mixlab train --help` and config validation read it, so no
// list of tasks is kept by hand anywhere else. Adding a task is one file that
// defines `TaskSpec <name>_task_spec()` plus one line in registry.cpp.
//
// Options are "task.<key>". Different tasks declare the same key with their own
// default (task.vocab_size is 8192 for mqar, 16 for induction), so a parser
// takes the options of the chosen task only: task_options(name).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/options.h"
#include "train/tasks/task.h"

namespace mixlab {

struct TaskSpec {
  std::string name;
  std::string summary;  // one line for `mixlab list`
  // Defaults of task.train_segments / task.test_segments for this task (L:K:N,...).
  std::string default_train_segments;
  std::string default_test_segments;
  // Declares the task's own "task.<key>" options with defaults.
  std::function<void(po::options_description&)> add_options;
  // Builds the task from parsed options; bad values throw naming the key.
  std::function<std::unique_ptr<Task>(const po::variables_map&)> make;
};

// Every registered task, in registration order.
const std::vector<TaskSpec>& task_registry();
// The spec called `name`; an unknown name throws listing the allowed names.
const TaskSpec& find_task(const std::string& name);
// The task's own options plus the dataset keys (dataset_options) with this
// task's default segments: everything a config's [task] section may hold,
// except the selector key that names the task.
po::options_description task_options(const std::string& name);
std::unique_ptr<Task> make_task(const std::string& name, const po::variables_map& vm);
// Convenience for tests and scripts: parses "task.key=value" strings (or
// "--task.key=value") against task_options(name), defaults for the rest.
std::unique_ptr<Task> make_task_from_args(const std::string& name, const std::vector<std::string>& args = {});

}  // namespace mixlab
