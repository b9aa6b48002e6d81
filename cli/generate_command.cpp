// `mixlab generate RUN_DIR --prompt-tokens 5,17,3 [--max-new-tokens N]
// [--temperature T] [--top-k K] [--seed S]`: continues a prompt with the run's
// checkpoint. The prompt goes through every layer's prefill (the parallel or
// chunked form filling the decode state: KV cache, ring buffer, latent cache,
// recurrent state), then one step per new token. Temperature 0 is greedy;
// otherwise tokens are sampled from softmax(logits / T), restricted to the K
// most likely when K > 0, with a seeded counter-based generator.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "autograd/ops.h"
#include "cli/command.h"
#include "autograd/error.h"
#include "train/run_loader.h"

namespace mixlab::cli {

namespace {

std::vector<int64_t> parse_tokens(const std::string& text) {
  std::vector<int64_t> out;
  std::stringstream list(text);
  for (std::string item; std::getline(list, item, ',');) {
    size_t used = 0;
    long long id = -1;
    try {
      id = std::stoll(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != item.size() || id < 0)
      throw UsageError("generate: --prompt-tokens needs non-negative token ids separated by commas, got '" + text +
                       "'");
    out.push_back(id);
  }
  if (out.empty()) throw UsageError("generate: --prompt-tokens needs at least one token id");
  return out;
}

// The next token from logits (V): argmax at temperature 0, else a sample.
int64_t choose(const std::vector<double>& logits, double temperature, int64_t top_k, Generator& gen) {
  const int64_t V = static_cast<int64_t>(logits.size());
  if (temperature == 0.0) return std::max_element(logits.begin(), logits.end()) - logits.begin();
  std::vector<int64_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  const int64_t keep = top_k > 0 ? std::min(top_k, V) : V;
  std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                    [&](int64_t a, int64_t b) { return logits[a] > logits[b]; });
  std::vector<double> p(keep);
  const double top = logits[order[0]];
  double total = 0;
  for (int64_t i = 0; i < keep; ++i) total += p[i] = std::exp((logits[order[i]] - top) / temperature);
  double u = Tensor::uniform({1}, gen, 0.0, total, DType::F64).item();
  for (int64_t i = 0; i < keep; ++i)
    if ((u -= p[i]) < 0) return order[i];
  return order[keep - 1];
}

std::string join(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t id : ids) s += (s.empty() ? "" : ",") + std::to_string(id);
  return s;
}

int decode_test_examples(const std::string& run_dir, int64_t n, const std::vector<std::string>& task_settings,
                         Device device) {
  LoadedRun run = load_run(run_dir, device);
  Experiment retasked;
  if (!task_settings.empty()) {
    try {
      retasked = with_task_settings(run, task_settings);
    } catch (const Error& e) {
      throw UsageError(std::string("generate: ") + e.what());
    }
  }
  const Experiment& ex = task_settings.empty() ? run.experiment : retasked;
  LanguageModel& model = *run.model;
  if (const std::string m = model.first_non_causal_mixer(); !m.empty())
    throw UsageError("generate: mixer '" + m + "' is not causal, so the model cannot decode (use mixlab eval)");
  const Dataset& data = *ex.dataset;
  int64_t available = 0;
  for (const Segment& s : data.test_segments()) available += s.num_examples;
  n = std::min(n, available);
  NoGradGuard no_grad;
  double accuracy_sum = 0;
  int64_t hits = 0, scored = 0, shown = 0;
  for (int64_t b = 0; shown < n; ++b) {
    const Batch batch = data.test_batch(b, 1);
    const std::vector<int64_t> inputs = batch.inputs.to_indices(), targets = batch.targets.to_indices();
    const int64_t L = static_cast<int64_t>(inputs.size());
    auto state = model.init_state(1);
    std::vector<std::string> items;
    int64_t row_hits = 0, row_scored = 0;
    for (int64_t t = 0; t < L; ++t) {
      const Tensor logits = model.step(Tensor::from_indices({inputs[t]}, {1}, device), state);
      if (targets[t] == kIgnoreIndex) continue;
      const std::vector<double> v = logits.to_vector();
      const int64_t predicted = std::max_element(v.begin(), v.end()) - v.begin();
      const bool right = predicted == targets[t];
      row_hits += right;
      ++row_scored;
      items.push_back(std::to_string(inputs[t]) + " -> " + std::to_string(predicted) +
                      (right ? "" : " (gold " + std::to_string(targets[t]) + ")"));
    }
    std::string line;
    for (const std::string& item : items) line += (line.empty() ? "" : ", ") + item;
    std::printf("example %lld (L %lld): %lld/%lld right: %s\n", static_cast<long long>(shown),
                static_cast<long long>(L), static_cast<long long>(row_hits), static_cast<long long>(row_scored),
                line.c_str());
    if (row_scored > 0) accuracy_sum += static_cast<double>(row_hits) / static_cast<double>(row_scored);
    hits += row_hits;
    scored += row_scored;
    ++shown;
  }
  std::printf("accuracy %.4f over %lld examples (%lld/%lld scored tokens right; query -> predicted (gold when wrong))\n",
              accuracy_sum / static_cast<double>(shown), static_cast<long long>(shown), static_cast<long long>(hits),
              static_cast<long long>(scored));
  return 0;
}

int generate_command(const Args& args) {
  namespace po = boost::program_options;
  po::options_description options("mixlab generate RUN_DIR --prompt-tokens IDS [options]");
  options.add_options()("help,h", "print this help")("run", po::value<std::string>(), "run directory")(
      "prompt-tokens", po::value<std::string>(), "prompt token ids, comma-separated")(
      "max-new-tokens", po::value<int64_t>()->default_value(16), "tokens to generate")(
      "temperature", po::value<double>()->default_value(0.0), "0 = greedy; > 0 samples from softmax(logits / T)")(
      "top-k", po::value<int64_t>()->default_value(0), "sample among the K most likely tokens (0 = all)")(
      "seed", po::value<uint64_t>()->default_value(0), "seed of the sampling")(
      "from-task", po::value<int64_t>(), "decode N test examples, showing query, predicted and gold tokens")(
      "device", po::value<std::string>()->default_value("cpu"), "cpu | cuda | cuda:N");
  po::positional_options_description positional;
  positional.add("run", 1);
  po::variables_map vm;
  const TaskArgs split = split_task_args("generate", args);
  parse_args("generate", split.rest, options, &positional, vm);
  if (vm.count("help")) {
    std::printf("usage: mixlab generate RUN_DIR --prompt-tokens 5,17,3 [--max-new-tokens 16] [--temperature 0] "
                "[--top-k 0] [--seed 0] [--device cpu]\n"
                "       mixlab generate RUN_DIR --from-task N [--task.KEY VALUE ...] [--device cpu]\n");
    return 0;
  }
  if (!vm.count("run")) throw UsageError("generate: missing RUN_DIR (usage: mixlab generate RUN_DIR --prompt-tokens IDS)");
  if (vm.count("from-task")) {
    if (vm.count("prompt-tokens")) throw UsageError("generate: give --prompt-tokens or --from-task, not both");
    const int64_t n = vm["from-task"].as<int64_t>();
    if (n < 1) throw UsageError("generate: --from-task must be >= 1 (test examples to decode)");
    return decode_test_examples(vm["run"].as<std::string>(), n, split.task, cli_device("generate", vm));
  }
  if (!split.task.empty()) throw UsageError("generate: --task.* settings need --from-task");
  if (!vm.count("prompt-tokens")) throw UsageError("generate: missing --prompt-tokens (e.g. --prompt-tokens 5,17,3)");
  const std::vector<int64_t> prompt = parse_tokens(vm["prompt-tokens"].as<std::string>());
  const int64_t new_tokens = vm["max-new-tokens"].as<int64_t>(), top_k = vm["top-k"].as<int64_t>();
  const double temperature = vm["temperature"].as<double>();
  if (new_tokens < 1) throw UsageError("generate: --max-new-tokens must be >= 1");
  if (!(temperature >= 0.0) || !std::isfinite(temperature))
    throw UsageError("generate: --temperature must be a finite number >= 0 (0 = greedy)");
  if (top_k < 0) throw UsageError("generate: --top-k must be >= 0 (0 = all tokens)");

  const Device device = cli_device("generate", vm);
  LoadedRun run = load_run(vm["run"].as<std::string>(), device);
  LanguageModel& model = *run.model;
  for (int64_t id : prompt)
    if (id >= model.vocab_size)
      throw UsageError("generate: token id " + std::to_string(id) + " is outside the model's vocabulary [0, " +
                       std::to_string(model.vocab_size) + ")");
  const int64_t total = static_cast<int64_t>(prompt.size()) + new_tokens;
  if (model.pos_embed && total - 1 > model.max_seq_len)
    throw UsageError("generate: prompt (" + std::to_string(prompt.size()) + ") + new tokens (" +
                     std::to_string(new_tokens) + ") exceed the " + std::to_string(model.max_seq_len) +
                     " learned positions of this model");
  if (const std::string m = model.first_non_causal_mixer(); !m.empty())
    throw UsageError("generate: mixer '" + m + "' is not causal, so the model cannot generate");

  NoGradGuard no_grad;
  Generator gen(vm["seed"].as<uint64_t>());
  auto state = model.init_state(1);
  const int64_t P = static_cast<int64_t>(prompt.size());
  Tensor logits = model.prefill(Tensor::from_indices(prompt, {1, P}, device), state);
  std::vector<double> last = slice(logits, 1, P - 1, P).to_vector();
  std::vector<int64_t> generated;
  for (int64_t i = 0; i < new_tokens; ++i) {
    generated.push_back(choose(last, temperature, top_k, gen));
    if (i + 1 < new_tokens) last = model.step(Tensor::from_indices({generated.back()}, {1}, device), state).to_vector();
  }
  std::printf("prompt: %s\ngenerated: %s\n", join(prompt).c_str(), join(generated).c_str());
  return 0;
}

}  // namespace

MIXLAB_REGISTER_COMMAND(generate, "continue a prompt with a run's checkpoint (prefill, then per-token decoding)",
                        generate_command);

}  // namespace mixlab::cli
