#include "cli/mixer_setups.h"

#include <sstream>

#include "cli/command.h"
#include "layers/mixers/registry.h"

namespace mixlab::cli {

const std::vector<MixerSetup>& mixer_setups() {
  static const std::vector<MixerSetup> setups = {
      {"mha", "mha", {"n_heads=8"}},
      {"gqa", "mha", {"n_heads=8", "n_kv_heads=2"}},
      {"mqa", "mha", {"n_heads=8", "n_kv_heads=1"}},
      // DeepSeek-V2's proportions: latent 4x a head, a 32-dim shared RoPE key.
      {"mla", "mla", {"n_heads=8", "kv_lora_rank=256", "qk_nope_dim=64", "qk_rope_dim=32",
                      "v_head_dim=64"}},
      {"swa", "mha", {"n_heads=8", "window=1024"}},
      {"longformer", "longformer", {"n_heads=8", "window=512", "n_global=16"}},
      {"linear_attn", "linear_attn", {"n_heads=8"}},
      {"performer", "performer", {"n_heads=8"}},
      {"linformer", "linformer", {"n_heads=8", "k=256"}},
      {"retnet", "retnet", {"n_heads=8"}},
      // The reference Mamba-2 sizes (d_state 128, headdim 64, expand 2: 16 heads at d_model 512).
      {"mamba2", "mamba2", {"d_state=128", "headdim=64", "chunk_size=64"}},
      {"mamba2_recurrent", "mamba2", {"d_state=128", "headdim=64", "form=recurrent"}, 4096},
      {"rwkv6", "rwkv6", {"head_size=64"}},
      {"rwkv6_recurrent", "rwkv6", {"head_size=64", "form=recurrent"}, 4096},
      {"shortconv", "shortconv", {}},
      // 8 heads of 64 at d_model 512 (fla's DeltaNet sizes its heads as d_model / heads).
      {"deltanet", "deltanet", {"n_heads=8"}},
      {"deltanet_recurrent", "deltanet", {"n_heads=8", "form=recurrent"}},
      {"deltanet_composed", "deltanet", {"n_heads=8", "form=composed"}, 4096},
      {"gated_deltanet", "gated_deltanet", {"n_heads=8"}},
      {"gated_deltanet_composed", "gated_deltanet", {"n_heads=8", "form=composed"}, 4096},
      // fla's GatedLinearAttention defaults: 4 heads, keys half as wide as the values.
      {"gla", "gla", {}},
      {"gla_recurrent", "gla", {"form=recurrent"}, 4096},
      // RWKV-7's 64-wide heads (8 at d_model 512); its per-channel decay runs the token-by-token fused recurrence.
      {"rwkv7", "rwkv7", {"head_size=64"}, 4096},
      // The long convolutions at Zoology's defaults (FFT above 32 taps).
      {"baseconv", "baseconv", {}},
      {"h3", "h3", {}},
      {"hyena", "hyena", {}},
  };
  return setups;
}

std::vector<MixerSetup> select_mixer_setups(const std::string& context, const std::string& labels) {
  if (labels.empty()) return mixer_setups();
  std::vector<MixerSetup> out;
  std::stringstream list(labels);
  for (std::string label; std::getline(list, label, ',');) {
    const MixerSetup* found = nullptr;
    std::string allowed;
    for (const MixerSetup& s : mixer_setups()) {
      if (s.label == label) found = &s;
      allowed += (allowed.empty() ? "" : ", ") + s.label;
    }
    if (!found) throw UsageError(context + ": unknown mixer setup '" + label + "' (allowed: " + allowed + ")");
    out.push_back(*found);
  }
  return out;
}

std::shared_ptr<SequenceMixer> build_mixer_setup(const MixerSetup& setup, int64_t d_model, int64_t max_seq_len) {
  MixerContext ctx;
  ctx.d_model = d_model;
  ctx.max_seq_len = max_seq_len;
  Generator gen(7);
  const MixerSpec& spec = find_mixer(setup.mixer);
  std::vector<std::string> args;
  for (const std::string& o : setup.options) args.push_back(spec.name + "." + o);
  return spec.make(parse_options(mixer_options(), args), ctx, gen);
}

}  // namespace mixlab::cli
