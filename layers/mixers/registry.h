#pragma once
// The mixer registry: every mixer by name, with its option table (key,
// member, default, help, check: layers/option_table.h) and a factory. `mixlab
// list`, `mixlab train --help`, config parsing and validation, config.ini and
// the conformance suite all read it, so there is no hand-kept list of mixers
// or of their options anywhere else.
//
// A layer of model.pattern names one of three things, each with its options
// in the config section of that name:
//   - a registered mixer:  pattern = shortconv,mha        [mha] n_heads = 2
//   - a preset, a mixer with other defaults declared here: pattern = swa
//     (mha with window = 16)                              [swa] window = 8
//   - an instance, a section of the config that names its mixer (or preset):
//       pattern = conv, local, global
//       [local] mixer = mha     window = 16
//       [global] mixer = mha    n_heads = 2
//     so one model can hold differently configured layers of one mixer.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "layers/mixers/mixer.h"
#include "layers/option_table.h"

namespace mixlab {

struct MixerSpec {
  std::string name;
  std::string summary;  // one line for `mixlab list`
  // Declares "<section>.<key>" for every option, with the defaults changed
  // by `settings` ("window=16": a preset's defaults).
  std::function<void(po::options_description&, const std::string& section, const std::vector<std::string>& settings)>
      declare;
  // Reads and checks the options of `section`, then builds the mixer.
  std::function<std::shared_ptr<SequenceMixer>(const po::variables_map&, const std::string& section,
                                               const MixerContext&, Generator&)>
      build;
  // Each option key (without section) with its finite choices (empty = open).
  std::vector<std::pair<std::string, std::vector<std::string>>> keys;
  // Settings the conformance suite checks besides the defaults ({"n_heads=2"}),
  // so every code path is covered; the suite checks that together they reach
  // every choice of every key (except those that cannot run on the CPU).
  std::vector<std::vector<std::string>> conformance_variants;

  // The mixer with its options in the section named after it.
  std::shared_ptr<SequenceMixer> make(const po::variables_map& vm, const MixerContext& ctx, Generator& gen) const {
    return build(vm, name, ctx, gen);
  }
};

// A spec from the mixer's option table and a factory over the options struct.
template <typename Options>
MixerSpec define_mixer(std::string name, std::string summary, OptionTable<Options> table,
                       std::function<std::shared_ptr<SequenceMixer>(const Options&, const MixerContext&, Generator&)> make,
                       std::vector<std::vector<std::string>> conformance_variants = {}) {
  MixerSpec spec;
  spec.name = std::move(name);
  spec.summary = std::move(summary);
  for (const auto& f : table.fields()) spec.keys.emplace_back(f.key, f.choices);
  spec.declare = [table](po::options_description& desc, const std::string& section,
                         const std::vector<std::string>& settings) {
    table.declare(desc, section, table.with_settings(section, settings));
  };
  spec.build = [table, make](const po::variables_map& vm, const std::string& section, const MixerContext& ctx,
                             Generator& gen) {
    MixerContext named = ctx;
    named.section = section;
    return make(table.read(vm, section), named, gen);
  };
  spec.conformance_variants = std::move(conformance_variants);
  return spec;
}

// A registered mixer under another name with other defaults (`swa`: mha with
// window = 16), as if every config held `[name] mixer = <mixer>` plus the settings.
struct MixerPreset {
  std::string name;
  std::string mixer;
  std::vector<std::string> settings;  // "key=value" defaults
  std::string summary;
};

// Every registered mixer and preset, in registration order.
const std::vector<MixerSpec>& mixer_registry();
const std::vector<MixerPreset>& mixer_presets();
// The spec called `name` (a registered mixer, not a preset); throws naming the allowed names.
const MixerSpec& find_mixer(const std::string& name);

// What a layer name resolves to: the spec, the section holding its options
// and the defaults its preset changes.
struct MixerChoice {
  const MixerSpec* spec = nullptr;
  std::string section;
  std::vector<std::string> settings;
};
// `mixer` names a registered mixer or a preset: its spec and preset settings
// (section left empty); throws naming `key` and the allowed names.
MixerChoice choose_mixer(const std::string& mixer, const std::string& key);

// The instances of a config: section name -> the mixer or preset its
// `mixer` key names ({"local": "mha"} for `[local] mixer = mha`).
using MixerInstances = std::map<std::string, std::string>;

// One options section per registered mixer and preset ("[mha]", "[swa]",
// ...) and per instance ("[local]": its `mixer` key and the options of the
// mixer it names). An instance named like a mixer or preset, or naming an
// unknown mixer, throws.
po::options_description mixer_options(const MixerInstances& instances = {});

// The mixer of a layer called `layer` (a mixer, preset or instance name):
// throws when it is none of them, naming what is allowed.
MixerChoice resolve_layer_mixer(const std::string& layer, const po::variables_map& vm);
// Builds it from the options in `vm`.
std::shared_ptr<SequenceMixer> make_layer_mixer(const std::string& layer, const po::variables_map& vm,
                                                const MixerContext& ctx, Generator& gen);

}  // namespace mixlab
