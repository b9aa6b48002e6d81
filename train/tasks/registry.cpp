#include "train/tasks/registry.h"

#include "autograd/error.h"
#include "train/tasks/dataset.h"

namespace mixlab {

// Each task file defines one spec function. Listed here rather than
// self-registered: mixlab_engine is a static library, and the linker drops
// object files nothing refers to, registration side effects included.
TaskSpec mqar_task_spec();
TaskSpec associative_recall_task_spec();
TaskSpec induction_heads_task_spec();
TaskSpec selective_copy_task_spec();
TaskSpec masked_recall_task_spec();

const std::vector<TaskSpec>& task_registry() {
  static const std::vector<TaskSpec> registry = {
      mqar_task_spec(),
      associative_recall_task_spec(),
      induction_heads_task_spec(),
      selective_copy_task_spec(),
      masked_recall_task_spec(),
  };
  return registry;
}

const TaskSpec& find_task(const std::string& name) {
  std::string allowed;
  for (const TaskSpec& spec : task_registry()) {
    if (spec.name == name) return spec;
    allowed += (allowed.empty() ? "" : ", ") + spec.name;
  }
  throw Error(detail::concat("unknown task '", name, "' (allowed: ", allowed, ")"));
}

po::options_description task_options(const std::string& name) {
  const TaskSpec& spec = find_task(name);
  po::options_description desc("[task] " + spec.name + ": " + spec.summary);
  spec.add_options(desc);
  add_dataset_options(desc, spec.default_train_segments, spec.default_test_segments);
  return desc;
}

std::unique_ptr<Task> make_task(const std::string& name, const po::variables_map& vm) {
  return find_task(name).make(vm);
}

std::unique_ptr<Task> make_task_from_args(const std::string& name, const std::vector<std::string>& args) {
  return make_task(name, parse_options(task_options(name), args));
}

}  // namespace mixlab
