#pragma once
// The mixer registry: name -> options (with defaults) and a factory. `mixlab
// list`, `mixlab train --help`, config validation and the conformance suite all
// iterate over it, so there is no hand-kept list of mixers anywhere else.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "layers/mixers/mixer.h"
#include "layers/options.h"

namespace mixlab {

struct MixerSpec {
  std::string name;
  std::string summary;  // one line for `mixlab list`
  // Declares the mixer's options as "<name>.<key>" with defaults.
  std::function<void(po::options_description&)> add_options;
  std::function<std::shared_ptr<SequenceMixer>(const po::variables_map&, const MixerContext&, Generator&)> make;
  // Option settings the conformance suite checks besides the defaults
  // (e.g. {"mha.n_heads=2"}), so every code path of the mixer is covered.
  std::vector<std::vector<std::string>> conformance_variants = {};
};

// Every registered mixer, in registration order.
const std::vector<MixerSpec>& mixer_registry();
// The spec called `name`; throws naming the allowed names.
const MixerSpec& find_mixer(const std::string& name);
// One options section per mixer ("[mha]", "[shortconv]", ...).
po::options_description mixer_options();

}  // namespace mixlab
