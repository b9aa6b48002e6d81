#include "layers/mixers/registry.h"

#include "autograd/error.h"

namespace mixlab {

// Each mixer file defines one spec function; adding a mixer is adding its
// file and one line below.
MixerSpec mha_mixer_spec();
MixerSpec shortconv_mixer_spec();
MixerSpec swa_mixer_spec();
MixerSpec linear_attn_mixer_spec();
MixerSpec retnet_mixer_spec();
MixerSpec longformer_mixer_spec();
MixerSpec mla_mixer_spec();
MixerSpec mamba2_mixer_spec();
MixerSpec rwkv6_mixer_spec();
MixerSpec linformer_mixer_spec();
MixerSpec performer_mixer_spec();

const std::vector<MixerSpec>& mixer_registry() {
  static const std::vector<MixerSpec> registry = {
      mha_mixer_spec(),
      shortconv_mixer_spec(),
      swa_mixer_spec(),
      linear_attn_mixer_spec(),
      retnet_mixer_spec(),
      longformer_mixer_spec(),
      mla_mixer_spec(),
      mamba2_mixer_spec(),
      rwkv6_mixer_spec(),
      linformer_mixer_spec(),
      performer_mixer_spec(),
  };
  return registry;
}

const MixerSpec& find_mixer(const std::string& name) {
  std::string allowed;
  for (const MixerSpec& spec : mixer_registry()) {
    if (spec.name == name) return spec;
    allowed += (allowed.empty() ? "" : ", ") + spec.name;
  }
  throw Error(detail::concat("unknown mixer '", name, "' (allowed: ", allowed, ")"));
}

po::options_description mixer_options() {
  po::options_description all("Mixer options");
  for (const MixerSpec& spec : mixer_registry()) {
    po::options_description section("[" + spec.name + "] " + spec.summary);
    spec.add_options(section);
    all.add(section);
  }
  return all;
}

}  // namespace mixlab
