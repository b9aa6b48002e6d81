// Layer instances: model.pattern entries that name a config section holding
// a mixer and its options ([local] mixer = mha), so one model holds
// differently configured layers of one mixer; presets (swa) are the same
// thing declared in the registry, and old configs load unchanged.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "autograd/ops.h"
#include "tests/scratch_dir.h"
#include "train/experiment.h"

using namespace mixlab;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> mqar_with(std::vector<std::string> extra) {
  std::vector<std::string> args = {"--train.name=instances", "--task.vocab_size=64", "--task.train_segments=16:2:64",
                                   "--task.test_segments=16:2:16", "--model.d_model=16", "--model.n_layers=3", "--train.max_steps=10"};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string write_config(const std::string& name, const std::string& text) {
  const fs::path path = test::scratch_dir("instances") / name;
  std::ofstream(path) << text;
  return path.string();
}

Shape parameter_shape(LanguageModel& m, const std::string& name) { return m.parameter(name).shape(); }

}  // namespace

TEST_CASE("instances: two layers of one mixer, each with its own options", "[models][instances]") {
  const std::string ini = write_config("local_global.ini", R"(
[task]
vocab_size = 64
train_segments = 16:2:64
test_segments = 16:2:16
[model]
d_model = 16
n_layers = 3
pattern = shortconv, local, global
[train]
max_steps = 10
[local]
mixer = mha
window = 4
[global]
mixer = mha
n_heads = 4
n_kv_heads = 1
)");
  const Experiment ex = Experiment::load(ini);
  auto m = ex.build_model();
  const auto& blocks = *m->blocks;
  auto mixer = [&](size_t i) { return static_cast<const Block&>(*blocks[i]).mixer; };
  CHECK(mixer(1)->name() == "mha");
  CHECK(mixer(2)->name() == "mha");
  CHECK(mixer(1)->state_bytes(1000) == mixer(1)->state_bytes(4));  // windowed: constant past 4 tokens
  CHECK(mixer(2)->state_bytes(1000) == 1000 * 2 * 4 * 4);          // one KV head of 4 dims, every token
  CHECK(parameter_shape(*m, "blocks.2.mixer.k_proj.weight") == Shape{4, 16});  // MQA
  CHECK(parameter_shape(*m, "blocks.1.mixer.k_proj.weight") == Shape{16, 16});
  // The resolved config records the instances, and reloads to the same model.
  const std::string resolved = ex.resolved_ini();
  CHECK_THAT(resolved, Catch::Contains("[local]\n") && Catch::Contains("mixer = mha\n") &&
                           Catch::Contains("window = 4\n"));
  const Experiment again = Experiment::load(write_config("resolved.ini", resolved));
  CHECK(again.model_settings() == ex.model_settings());
}

TEST_CASE("instances: a preset equals the instance it stands for", "[models][instances]") {
  // pattern = shortconv,swa with [swa] window = 3 (an old config) builds the
  // same parameters and logits as an instance of mha with window 3.
  const Experiment preset = Experiment::load("", mqar_with({"--model.pattern=shortconv,swa", "--swa.window=3",
                                                            "--swa.n_heads=2"}));
  const Experiment instance = Experiment::load(
      "", mqar_with({"--model.pattern=shortconv,near", "--near.mixer=mha", "--near.window=3", "--near.n_heads=2"}));
  const Experiment of_preset =
      Experiment::load("", mqar_with({"--model.pattern=shortconv,near", "--near.mixer=swa", "--near.window=3",
                                      "--near.n_heads=2"}));
  auto a = preset.build_model(), b = instance.build_model(), c = of_preset.build_model();
  const Tensor ids = Tensor::from_indices({1, 5, 9, 2, 7, 3, 3, 8}, {1, 8});
  NoGradGuard no_grad;
  const std::vector<double> ya = a->forward(ids).to_vector();
  CHECK(ya == b->forward(ids).to_vector());
  CHECK(ya == c->forward(ids).to_vector());
  // An instance of the preset takes the preset's defaults.
  const Experiment defaults = Experiment::load("", mqar_with({"--model.pattern=near", "--near.mixer=swa"}));
  CHECK(option<int64_t>(defaults.options, "near.window") == 16);
}

TEST_CASE("instances: bad instances are refused with one line naming the key", "[models][instances]") {
  auto load = [](std::vector<std::string> extra) { return Experiment::load("", mqar_with(std::move(extra))); };
  CHECK_THROWS_WITH(load({"--model.pattern=shortconv,local"}),
                    Catch::Contains("unknown mixer 'local'") && Catch::Contains("[local] mixer = mha"));
  CHECK_THROWS_WITH(load({"--model.pattern=local", "--local.mixer=attention"}),
                    Catch::Contains("local.mixer = 'attention' is not a mixer") && Catch::Contains("mamba2") &&
                        Catch::Contains("swa"));
  CHECK_THROWS_WITH(load({"--model.pattern=local", "--local.mixer=mha", "--local.d_state=4"}),
                    Catch::Contains("local.d_state"));
  CHECK_THROWS_WITH(load({"--model.pattern=local", "--local.mixer=mha", "--local.window=-1"}),
                    Catch::Contains("local.window = -1 is not allowed (allowed: >= 0)"));
  CHECK_THROWS_WITH(load({"--model.pattern=local", "--local.mixer=mha", "--local.n_heads=3"}),
                    Catch::Contains("local.n_heads: d_model 16 is not divisible by 3 heads"));
  CHECK_THROWS_WITH(load({"--model.pattern=mha", "--mha.mixer=swa"}), Catch::Contains("'mha' is the section of the mixer"));
  CHECK_THROWS_WITH(load({"--model.pattern=mha", "--model.mixer=swa"}), Catch::Contains("[model] is a section of mixlab's own"));
  CHECK_THROWS_WITH(Experiment::load(write_config("empty.ini", "[model]\npattern =\n[train]\nmax_steps = 1\n")),
                    Catch::Contains("model.pattern is empty"));
}
