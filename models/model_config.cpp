#include "models/model_config.h"

#include <sstream>

#include "autograd/error.h"
#include "layers/mixers/registry.h"

namespace mixlab {

std::vector<std::string> split_list(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    const auto b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    out.push_back(b == std::string::npos ? "" : item.substr(b, e - b + 1));
  }
  return out;
}

void ModelConfig::add_options(po::options_description& desc) {
  const ModelConfig d;
  desc.add_options()
      ("model.d_model", po::value<int64_t>()->default_value(d.d_model), "model width")
      ("model.n_layers", po::value<int>()->default_value(d.n_layers), "number of blocks")
      ("model.pattern", po::value<std::string>()->default_value("mha"),
       "mixers by layer, comma-separated: layer i uses pattern[i % len] (e.g. shortconv,mha); an entry names a "
       "mixer, a preset (swa) or a section of the config that names one ([local] mixer = mha)")
      ("model.norm", po::value<std::string>()->default_value(d.norm), "layernorm | rmsnorm")
      ("model.norm_eps", real_value(d.norm_eps), "epsilon of every norm")
      ("model.ffn", po::value<std::string>()->default_value(d.ffn),
       "none | mlp (GELU) | swiglu | moe | identity (x + norm2(x): Zoology's block with an Identity state mixer)")
      ("model.ffn_pattern", po::value<std::string>()->default_value(""),
       "ffn kinds by layer, comma-separated like pattern (e.g. mlp,moe = MoE every other layer); empty = model.ffn")
      ("model.ffn_mult", po::value<int64_t>()->default_value(d.ffn_mult), "ffn hidden width = ffn_mult * d_model")
      ("model.positions", po::value<std::string>()->default_value(d.positions),
       "none | learned | sinusoidal (absolute positions added to the embedding; RoPE/ALiBi are mixer options)")
      ("model.tie_embeddings", po::value<bool>()->default_value(d.tie_embeddings, d.tie_embeddings ? "true" : "false"), "LM head shares the embedding")
      ("model.embed_dropout", real_value(d.embed_dropout), "dropout after the embedding")
      ("model.init_std", real_value(d.init_std),
       "std of the N(0, std) init; output projections use std/sqrt(2 n_layers)");
  desc.add_options()
      ("moe.n_experts", po::value<int64_t>()->default_value(d.moe.n_experts), "experts per MoE layer (Jamba: 16)")
      ("moe.top_k", po::value<int64_t>()->default_value(d.moe.top_k), "experts per token (Jamba: 2)")
      ("moe.expert", po::value<std::string>()->default_value(d.moe.expert), "swiglu | mlp; hidden = ffn_mult * d_model")
      ("moe.capacity_factor", real_value(d.moe.capacity_factor),
       "training capacity per expert: ceil(c * tokens * top_k / n_experts); 0 = dropless")
      ("moe.balance_loss_weight", real_value(d.moe.balance_loss_weight),
       "weight of the Switch load-balancing loss")
      ("moe.z_loss_weight", real_value(d.moe.z_loss_weight), "weight of the router z-loss");
}

namespace {

void require_one_of(const char* key, const std::string& value, std::initializer_list<const char*> allowed) {
  std::string list;
  for (const char* a : allowed) {
    if (value == a) return;
    list += (list.empty() ? "" : ", ") + std::string(a);
  }
  throw Error(detail::concat(key, " = '", value, "' is not allowed (allowed: ", list, ")"));
}

}  // namespace

ModelConfig ModelConfig::from_options(const po::variables_map& vm) {
  ModelConfig c;
  c.d_model = option<int64_t>(vm, "model.d_model");
  c.n_layers = option<int>(vm, "model.n_layers");
  c.pattern = split_list(option<std::string>(vm, "model.pattern"));
  c.norm = option<std::string>(vm, "model.norm");
  c.norm_eps = option<double>(vm, "model.norm_eps");
  c.ffn = option<std::string>(vm, "model.ffn");
  c.ffn_mult = option<int64_t>(vm, "model.ffn_mult");
  const std::string ffn_pattern = option<std::string>(vm, "model.ffn_pattern");
  if (!ffn_pattern.empty()) c.ffn_pattern = split_list(ffn_pattern);
  c.moe.n_experts = option<int64_t>(vm, "moe.n_experts");
  c.moe.top_k = option<int64_t>(vm, "moe.top_k");
  c.moe.expert = option<std::string>(vm, "moe.expert");
  c.moe.capacity_factor = option<double>(vm, "moe.capacity_factor");
  c.moe.balance_loss_weight = option<double>(vm, "moe.balance_loss_weight");
  c.moe.z_loss_weight = option<double>(vm, "moe.z_loss_weight");
  c.positions = option<std::string>(vm, "model.positions");
  c.tie_embeddings = option<bool>(vm, "model.tie_embeddings");
  c.embed_dropout = option<double>(vm, "model.embed_dropout");
  c.init_std = option<double>(vm, "model.init_std");

  MIXLAB_CHECK(c.d_model > 0, "model.d_model = ", c.d_model, " must be > 0");
  MIXLAB_CHECK(c.n_layers > 0, "model.n_layers = ", c.n_layers, " must be > 0");
  MIXLAB_CHECK(!c.pattern.empty(), "model.pattern is empty: name at least one mixer (e.g. model.pattern = mha)");
  for (const std::string& m : c.pattern) {
    MIXLAB_CHECK(!m.empty(), "model.pattern = '", option<std::string>(vm, "model.pattern"), "' has an empty entry");
    resolve_layer_mixer(m, vm);  // a mixer, preset or instance section, or one line saying what is allowed
  }
  require_one_of("model.norm", c.norm, {"layernorm", "rmsnorm"});
  require_one_of("model.ffn", c.ffn, {"none", "mlp", "swiglu", "moe", "identity"});
  for (const std::string& f : c.ffn_pattern)
    require_one_of("model.ffn_pattern", f, {"none", "mlp", "swiglu", "moe", "identity"});
  require_one_of("moe.expert", c.moe.expert, {"swiglu", "mlp"});
  MIXLAB_CHECK(c.moe.n_experts >= 1, "moe.n_experts = ", c.moe.n_experts, " must be >= 1");
  MIXLAB_CHECK(c.moe.top_k >= 1 && c.moe.top_k <= c.moe.n_experts, "moe.top_k = ", c.moe.top_k,
               " must be between 1 and moe.n_experts (", c.moe.n_experts, ")");
  require_one_of("model.positions", c.positions, {"none", "learned", "sinusoidal"});
  MIXLAB_CHECK(c.ffn_mult > 0, "model.ffn_mult = ", c.ffn_mult, " must be > 0");
  MIXLAB_CHECK(c.norm_eps >= 0, "model.norm_eps = ", c.norm_eps, " must be >= 0");
  MIXLAB_CHECK(c.embed_dropout >= 0 && c.embed_dropout < 1, "model.embed_dropout = ", c.embed_dropout,
               " must be in [0, 1)");
  MIXLAB_CHECK(c.init_std > 0, "model.init_std = ", c.init_std, " must be > 0");
  return c;
}

}  // namespace mixlab
