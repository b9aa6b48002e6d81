// What `mixlab train --help` and `mixlab list` print: every key's default in
// its shortest form, every description wrapped between words, one [task]
// section (cmake/cli_help_tests.cmake checks the executable's output).
#include <catch2/catch.hpp>
#include <sstream>

#include "layers/mixers/registry.h"
#include "train/experiment.h"
#include "train/tasks/registry.h"

using namespace mixlab;

namespace {

std::string rendered(const po::options_description& desc) {
  std::ostringstream out;
  out << desc;
  return out.str();
}

// Every help section a user can print: the train help of each task (model,
// train and every mixer's keys included) and each mixer as `mixlab list` shows it.
std::vector<po::options_description> help_sections() {
  std::vector<po::options_description> sections;
  for (const TaskSpec& task : task_registry()) sections.push_back(Experiment::options_for(task.name));
  for (const MixerSpec& spec : mixer_registry()) {
    po::options_description section(spec.name + ": " + spec.summary);
    spec.declare(section, spec.name, {});
    sections.push_back(section);
  }
  return sections;
}

}  // namespace

TEST_CASE("help: defaults print in their shortest round-trip form", "[help]") {
  for (const po::options_description& desc : help_sections())
    for (const auto& option : desc.options()) {
      const std::string shown = option->format_parameter();
      INFO(option->long_name() << ": " << shown);
      // Boost's own text of 0.1 is 0.10000000000000001, of 1e-6 9.9999999999999995e-07.
      CHECK(shown.find("0000000") == std::string::npos);
      CHECK(shown.find("9999999") == std::string::npos);
    }
  const std::string train = rendered(Experiment::options_for("mqar"));
  CHECK(train.find("--train.weight_decay arg (=0.1)") != std::string::npos);
  CHECK(train.find("--model.norm_eps arg (=1e-05)") != std::string::npos);
}

TEST_CASE("help: descriptions wrap between words, never inside one", "[help]") {
  for (const po::options_description& desc : help_sections()) {
    const std::string text = rendered(desc);
    for (const auto& option : desc.options()) {
      std::istringstream words(option->description());
      std::string word;
      while (words >> word) {
        INFO(option->long_name() << ": '" << word << "'");
        CHECK(text.find(word) != std::string::npos);
      }
    }
  }
}

TEST_CASE("help: the train help has one [task] section, task.name first", "[help]") {
  const std::string text = rendered(Experiment::options_for("mqar"));
  const size_t first = text.find("[task]");
  REQUIRE(first != std::string::npos);
  CHECK(text.find("[task]", first + 1) == std::string::npos);
  CHECK(text.find("--task.name") < text.find("--task.vocab_size"));
}
