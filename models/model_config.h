#pragma once
// The [model] section of an experiment config.
#include <string>
#include <vector>

#include "layers/moe.h"
#include "layers/options.h"

namespace mixlab {

struct ModelConfig {
  int64_t d_model = 64;
  int n_layers = 2;
  std::vector<std::string> pattern = {"mha"};  // layer i uses pattern[i % size]
  std::string norm = "layernorm";              // layernorm | rmsnorm
  double norm_eps = 1e-5;
  std::string ffn = "none";                    // none | mlp | swiglu | moe
  std::vector<std::string> ffn_pattern;        // per layer, pattern-style; empty = ffn everywhere
  int64_t ffn_mult = 4;                        // hidden = ffn_mult · d_model (of each expert, too)
  MoEOptions moe;                              // the [moe] section
  std::string positions = "none";              // none | learned | sinusoidal (absolute, added to the embedding)
  bool tie_embeddings = true;
  double embed_dropout = 0.0;
  double init_std = 0.02;

  // The ffn kind of layer i: ffn_pattern[i % len], or ffn without a pattern.
  const std::string& ffn_at(int layer) const {
    return ffn_pattern.empty() ? ffn : ffn_pattern[static_cast<size_t>(layer) % ffn_pattern.size()];
  }

  // Declares the [model] and [moe] keys with the defaults above.
  static void add_options(po::options_description& desc);
  // Reads and validates; errors name the key, the value and what is allowed.
  static ModelConfig from_options(const po::variables_map& vm);
};

// "a,b, c" -> {"a", "b", "c"}
std::vector<std::string> split_list(const std::string& s);

}  // namespace mixlab
