// `mixlab info CONFIG.ini|RUN_DIR [--contexts 1024,8192,...] [--length L]
// [--section.key value ...]`: what a model costs, at a glance (of a run
// directory: the model its config.ini describes, as eval and generate read it). Parameters per
// layer and in total; forward FLOPs per token, counted while running one
// forward pass of L tokens (every GEMM and the fused attention kernel;
// elementwise work is not counted); and the decode state each layer keeps per
// sequence at the given context lengths — the KV-cache vs recurrent-state
// picture of a hybrid. Builds the model only; writes nothing.
#include <cstdio>
#include <filesystem>

#include "autograd/ops.h"
#include "cli/bench.h"
#include "cli/command.h"
#include "kernels/cpu/gemm.h"
#include "models/language_model.h"
#include "train/experiment.h"

namespace mixlab::cli {

namespace {

int64_t count(const Module& m) {
  int64_t n = 0;
  for (const Tensor& p : m.parameters()) n += p.numel();
  return n;
}

std::string human(double x) {
  char buf[32];
  if (x >= 1e9)
    std::snprintf(buf, sizeof buf, "%.2fG", x / 1e9);
  else if (x >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2fM", x / 1e6);
  else if (x >= 1e3)
    std::snprintf(buf, sizeof buf, "%.1fk", x / 1e3);
  else
    std::snprintf(buf, sizeof buf, "%.0f", x);
  return buf;
}

std::string bytes(int64_t b) {
  char buf[32];
  const double x = static_cast<double>(b);
  if (x >= 1024.0 * 1024 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f GiB", x / (1024.0 * 1024 * 1024));
  else if (x >= 1024.0 * 1024)
    std::snprintf(buf, sizeof buf, "%.2f MiB", x / (1024.0 * 1024));
  else if (x >= 1024.0)
    std::snprintf(buf, sizeof buf, "%.1f KiB", x / 1024.0);
  else
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

int info_command(const Args& args) {
  std::string config, contexts_text = "1024,8192,32768,131072";
  int64_t length = 0;
  std::vector<std::string> overrides;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      std::printf(
          "usage: mixlab info CONFIG.ini|RUN_DIR [--contexts 1024,8192,32768,131072] [--length L] "
          "[--section.key value ...]\n"
          "Parameters per layer and in total, forward FLOPs per token (counted over one forward pass of L\n"
          "tokens, default the task's longest sequence) and decode state bytes per layer at each context.\n");
      return 0;
    }
    if (a == "--contexts" || a == "--length") {
      if (i + 1 >= args.size()) throw UsageError("info: " + a + " needs a value");
      if (a == "--contexts")
        contexts_text = args[++i];
      else
        length = parse_positive_list("info", "--length", args[++i]).front();
    } else if (config.empty() && overrides.empty() && !a.starts_with("-")) {
      config = a;
    } else {
      overrides.push_back(a);
    }
  }
  if (config.empty()) throw UsageError("info: no config given (usage: mixlab info CONFIG.ini|RUN_DIR)");
  if (std::filesystem::is_directory(config)) {  // a run directory: the config it was trained with
    const std::string inside = (std::filesystem::path(config) / "config.ini").string();
    if (!std::filesystem::is_regular_file(inside))
      throw UsageError("info: " + config + " is not a run directory (no config.ini)");
    config = inside;
  }
  const std::vector<int64_t> contexts = parse_positive_list("info", "--contexts", contexts_text);
  Experiment ex;
  std::unique_ptr<LanguageModel> model;
  try {
    ex = Experiment::load(config, overrides);
    model = ex.build_model();
  } catch (const Error& e) {
    throw UsageError(std::string("info: ") + e.what());
  }
  if (length == 0) length = ex.max_seq_len();
  if (model->pos_embed && length > model->max_seq_len)
    throw UsageError("info: --length " + std::to_string(length) + " exceeds the model's " +
                     std::to_string(model->max_seq_len) + " learned positions");
  model->eval();

  const ModelConfig& mc = ex.model;
  std::string pattern;
  for (const std::string& p : mc.pattern) pattern += (pattern.empty() ? "" : ",") + p;
  std::string ffns;
  for (int i = 0; i < mc.n_layers; ++i) ffns += (i ? "," : "") + mc.ffn_at(i);
  std::printf("%s: d_model %lld, %d layers, pattern %s, ffn %s, vocab %lld, positions %s\n", config.c_str(),
              static_cast<long long>(mc.d_model), mc.n_layers, pattern.c_str(), ffns.c_str(),
              static_cast<long long>(model->vocab_size), mc.positions.c_str());

  std::printf("\n%-6s %-16s %12s %12s", "layer", "mixer", "mixer params", "ffn params");
  for (int64_t L : contexts)  // 1024-token units, as context lengths are quoted
    std::printf(" %13s", ("state@" + (L % 1024 == 0 ? std::to_string(L / 1024) + "k" : std::to_string(L))).c_str());
  std::printf("\n");
  std::vector<int64_t> state_total(contexts.size(), 0);
  int64_t block_params = 0;
  for (size_t i = 0; i < model->blocks->size(); ++i) {
    const auto& block = static_cast<const Block&>(*(*model->blocks)[i]);
    const int64_t mixer = count(*block.mixer), total = count(block);
    block_params += total;
    // A preset or instance shows as "local (mha)".
    const std::string& layer = mc.pattern[i % mc.pattern.size()];
    const std::string label = layer == block.mixer->name() ? layer : layer + " (" + block.mixer->name() + ")";
    std::printf("%-6zu %-16s %12s %12s", i, label.c_str(), human(static_cast<double>(mixer)).c_str(),
                block.ffn ? human(static_cast<double>(count(*block.ffn))).c_str() : "-");
    for (size_t c = 0; c < contexts.size(); ++c) {
      const int64_t s = block.mixer->traits().has_decode ? block.mixer->state_bytes(contexts[c]) : 0;
      state_total[c] += s;
      std::printf(" %13s", block.mixer->traits().has_decode ? bytes(s).c_str() : "no decode");
    }
    std::printf("\n");
  }
  std::printf("%-23s %12s %12s", "total", human(static_cast<double>(block_params)).c_str(), "");
  for (int64_t s : state_total) std::printf(" %13s", bytes(s).c_str());
  std::printf("\n\n");

  const int64_t total = count(*model);
  std::printf("parameters: %s in total, %s in the blocks (norms and ffns included), %s embedding%s%s\n",
              human(static_cast<double>(total)).c_str(), human(static_cast<double>(block_params)).c_str(),
              human(static_cast<double>(count(*model->embed))).c_str(), model->lm_head ? ", untied head" : " (tied head)",
              model->pos_embed ? ", learned positions" : "");

  NoGradGuard no_grad;
  std::vector<int64_t> ids(length);
  for (int64_t t = 0; t < length; ++t) ids[t] = t % model->vocab_size;
  cpu::reset_gemm_stats();
  reset_attention_flops();
  model->forward(Tensor::from_indices(ids, {1, length}));
  const double gemm = cpu::gemm_stats().flops, attention = attention_flops();
  const double per_token = (gemm + attention) / static_cast<double>(length);
  std::printf("forward FLOPs per token at length %lld: %s (GEMMs %s, attention kernel %s per token); "
              "about %.2f x 2·parameters\n",
              static_cast<long long>(length), human(per_token).c_str(),
              human(gemm / static_cast<double>(length)).c_str(), human(attention / static_cast<double>(length)).c_str(),
              per_token / (2.0 * static_cast<double>(total)));
  std::printf("(every scored position computes logits here; training scores only answer positions)\n");
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(info, "parameters per layer, FLOPs per token and decode state bytes of a config's model",
                        info_command);

}  // namespace mixlab::cli
