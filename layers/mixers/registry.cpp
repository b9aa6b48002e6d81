#include "layers/mixers/registry.h"

#include "autograd/error.h"

namespace mixlab {

// Each mixer file defines one spec function; adding a mixer is adding its
// file and one line below.
MixerSpec mha_mixer_spec();
MixerSpec shortconv_mixer_spec();
MixerSpec linear_attn_mixer_spec();
MixerSpec retnet_mixer_spec();
MixerSpec longformer_mixer_spec();
MixerSpec mla_mixer_spec();
MixerSpec mamba2_mixer_spec();
MixerSpec rwkv6_mixer_spec();
MixerSpec linformer_mixer_spec();
MixerSpec performer_mixer_spec();
MixerSpec baseconv_mixer_spec();
MixerSpec h3_mixer_spec();
MixerSpec hyena_mixer_spec();
MixerSpec deltanet_mixer_spec();
MixerSpec gated_deltanet_mixer_spec();
MixerSpec gla_mixer_spec();
MixerSpec rwkv7_mixer_spec();

const std::vector<MixerSpec>& mixer_registry() {
  static const std::vector<MixerSpec> registry = {
      mha_mixer_spec(),
      shortconv_mixer_spec(),
      linear_attn_mixer_spec(),
      retnet_mixer_spec(),
      longformer_mixer_spec(),
      mla_mixer_spec(),
      mamba2_mixer_spec(),
      rwkv6_mixer_spec(),
      linformer_mixer_spec(),
      performer_mixer_spec(),
      baseconv_mixer_spec(),
      h3_mixer_spec(),
      hyena_mixer_spec(),
      deltanet_mixer_spec(),
      gated_deltanet_mixer_spec(),
      gla_mixer_spec(),
      rwkv7_mixer_spec(),
  };
  return registry;
}

const std::vector<MixerPreset>& mixer_presets() {
  static const std::vector<MixerPreset> presets = {
      {"swa", "mha", {"window=16"},
       "causal sliding-window attention: mha whose queries see their last W keys; decode memory constant in context"},
  };
  return presets;
}

namespace {

std::string registered_mixers() {
  std::string allowed;
  for (const MixerSpec& spec : mixer_registry()) allowed += (allowed.empty() ? "" : ", ") + spec.name;
  return allowed;
}

std::string allowed_mixers() {
  std::string allowed = registered_mixers();
  for (const MixerPreset& preset : mixer_presets()) allowed += ", " + preset.name;
  return allowed;
}

const MixerPreset* find_preset(const std::string& name) {
  for (const MixerPreset& preset : mixer_presets())
    if (preset.name == name) return &preset;
  return nullptr;
}

const MixerSpec* find_spec(const std::string& name) {
  for (const MixerSpec& spec : mixer_registry())
    if (spec.name == name) return &spec;
  return nullptr;
}

}  // namespace

const MixerSpec& find_mixer(const std::string& name) {
  if (const MixerSpec* spec = find_spec(name)) return *spec;
  throw Error(detail::concat("unknown mixer '", name, "' (allowed: ", registered_mixers(), ")"));
}

MixerChoice choose_mixer(const std::string& mixer, const std::string& key) {
  if (const MixerSpec* spec = find_spec(mixer)) return {spec, "", {}};
  if (const MixerPreset* preset = find_preset(mixer)) return {&find_mixer(preset->mixer), "", preset->settings};
  throw Error(detail::concat(key, " = '", mixer, "' is not a mixer (allowed: ", allowed_mixers(), ")"));
}

po::options_description mixer_options(const MixerInstances& instances) {
  po::options_description all("Mixer options");
  for (const MixerSpec& spec : mixer_registry()) {
    po::options_description section("[" + spec.name + "] " + spec.summary);
    spec.declare(section, spec.name, {});
    all.add(section);
  }
  for (const MixerPreset& preset : mixer_presets()) {
    po::options_description section("[" + preset.name + "] " + preset.summary);
    find_mixer(preset.mixer).declare(section, preset.name, preset.settings);
    all.add(section);
  }
  for (const auto& [name, mixer] : instances) {
    MIXLAB_CHECK(!find_spec(name) && !find_preset(name), "[", name, "] mixer = ", mixer, ": '", name,
                 "' is the section of the mixer of that name; give the instance another name");
    const MixerChoice choice = choose_mixer(mixer, name + ".mixer");
    po::options_description section("[" + name + "] an instance of " + mixer);
    section.add_options()((name + ".mixer").c_str(), po::value<std::string>()->default_value(mixer),
                          "the mixer (or preset) this layer instance is");
    choice.spec->declare(section, name, choice.settings);
    all.add(section);
  }
  return all;
}

MixerChoice resolve_layer_mixer(const std::string& layer, const po::variables_map& vm) {
  // A mixer or preset is its own section; an instance section names its mixer.
  const bool registered = find_spec(layer) || find_preset(layer);
  const auto instance = vm.find(layer + ".mixer");
  if (!registered && instance == vm.end())
    throw Error(detail::concat("model.pattern: unknown mixer '", layer, "' (allowed: ", allowed_mixers(),
                               "; or a section of the config naming one, e.g. [", layer, "] mixer = mha)"));
  MixerChoice choice = choose_mixer(registered ? layer : instance->second.as<std::string>(), layer + ".mixer");
  choice.section = layer;
  return choice;
}

std::shared_ptr<SequenceMixer> make_layer_mixer(const std::string& layer, const po::variables_map& vm,
                                                const MixerContext& ctx, Generator& gen) {
  const MixerChoice choice = resolve_layer_mixer(layer, vm);
  return choice.spec->build(vm, choice.section, ctx, gen);
}

}  // namespace mixlab
