#include "train/experiment.h"

#include <charconv>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "layers/mixers/registry.h"
#include "train/tasks/registry.h"

namespace mixlab {

namespace {

constexpr const char* kTaskKey = "task.name";

// "--a=b" / "--a" "b" / "a=b" -> normalised "--a=b" tokens for Boost; a key
// given twice keeps its last value, as a later override should.
std::vector<std::string> normalise(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  auto key_of = [](const std::string& a) { return a.substr(0, a.find('=')); };
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i].rfind("--", 0) == 0 ? args[i] : "--" + args[i];
    if (a.find('=') == std::string::npos) {
      MIXLAB_CHECK(i + 1 < args.size(), "option ", a, " needs a value");
      a += "=" + args[++i];
    }
    std::erase_if(out, [&](const std::string& earlier) { return key_of(earlier) == key_of(a); });
    out.push_back(a);
  }
  return out;
}

// Every "key = value" of the file and the overrides as text, the overrides
// winning, read before any option is declared: the task and the mixer
// instances a config names decide which options exist.
std::map<std::string, std::string> raw_settings(const std::string& ini_path, const std::vector<std::string>& args) {
  std::map<std::string, std::string> raw;
  if (!ini_path.empty()) {
    const po::options_description none;
    for (const po::option& o : po::parse_config_file<char>(ini_path.c_str(), none, /*allow_unregistered=*/true).options)
      if (!o.value.empty()) raw[o.string_key] = o.value.back();
  }
  for (const std::string& a : args) {  // normalised "--key=value"
    const auto eq = a.find('=');
    raw[a.substr(2, eq - 2)] = a.substr(eq + 1);
  }
  return raw;
}

// The instance sections of a config: every "<section>.mixer" key.
MixerInstances find_instances(const std::map<std::string, std::string>& raw) {
  static const std::set<std::string> reserved = {"task", "model", "train", "moe"};
  MixerInstances instances;
  for (const auto& [key, value] : raw) {
    const auto dot = key.find('.');
    if (dot == std::string::npos || key.substr(dot + 1) != "mixer") continue;
    const std::string section = key.substr(0, dot);
    MIXLAB_CHECK(!reserved.contains(section), key, " = ", value, ": [", section,
                 "] is a section of mixlab's own; name the mixer instance differently");
    instances[section] = value;
  }
  return instances;
}

std::string to_text(const boost::any& v) {
  if (const auto* s = boost::any_cast<std::string>(&v)) return *s;
  if (const auto* b = boost::any_cast<bool>(&v)) return *b ? "true" : "false";
  if (const auto* i = boost::any_cast<int>(&v)) return std::to_string(*i);
  if (const auto* l = boost::any_cast<int64_t>(&v)) return std::to_string(*l);
  if (const auto* d = boost::any_cast<double>(&v)) {
    char buf[32];  // shortest text that reads back to the same double
    return std::string(buf, std::to_chars(buf, buf + sizeof buf, *d).ptr);
  }
  return "?";
}

// Bounds on the keys that size memory, checked before anything is
// allocated: far above any recall experiment, far below what would make the
// allocator fail (or a loop over layers run for minutes) with a message that
// names no key. Say so if a real experiment needs more.
constexpr int64_t kMaxVocab = int64_t(1) << 24, kMaxDModel = int64_t(1) << 16, kMaxLayers = 1024, kMaxFfnMult = 64,
                  kMaxBatch = int64_t(1) << 20, kMaxBatchTokens = int64_t(1) << 27,
                  kMaxEmbeddingElements = int64_t(1) << 32;

void check_sizes(const Experiment& ex, int64_t longest_train, int64_t longest) {
  const int64_t V = ex.task->vocab_size(), D = ex.model.d_model;
  MIXLAB_CHECK(V <= kMaxVocab, "task.vocab_size = ", V, " is over mixlab's limit of ", kMaxVocab);
  MIXLAB_CHECK(D <= kMaxDModel, "model.d_model = ", D, " is over mixlab's limit of ", kMaxDModel);
  MIXLAB_CHECK(ex.model.n_layers <= kMaxLayers, "model.n_layers = ", ex.model.n_layers, " is over mixlab's limit of ",
               kMaxLayers);
  MIXLAB_CHECK(ex.model.ffn_mult <= kMaxFfnMult, "model.ffn_mult = ", ex.model.ffn_mult, " is over mixlab's limit of ",
               kMaxFfnMult);
  MIXLAB_CHECK(V * D <= kMaxEmbeddingElements, "task.vocab_size × model.d_model = ", V, " × ", D,
               " embedding weights are over mixlab's limit of 2^32");
  MIXLAB_CHECK(ex.model.positions != "learned" || longest * D <= kMaxEmbeddingElements, "model.positions = learned: ",
               longest, " positions × model.d_model ", D, " are over mixlab's limit of 2^32 weights");
  for (const auto& [key, batch] : {std::pair{"train.batch_size", ex.train.batch_size},
                                   std::pair{"train.eval_batch_size", ex.train.eval_batch_size}}) {
    MIXLAB_CHECK(batch <= kMaxBatch, key, " = ", batch, " is over mixlab's limit of ", kMaxBatch);
    const int64_t len = std::string(key) == "train.batch_size" ? longest_train : longest;
    MIXLAB_CHECK(batch * len <= kMaxBatchTokens, key, " = ", batch, " sequences of length ", len, " are ",
                 batch * len, " tokens per batch, over mixlab's limit of 2^27");
  }
}

}  // namespace

po::options_description Experiment::options_for(const std::string& task_name, const MixerInstances& instances) {
  po::options_description all;
  // One [task] section: task.name, then the task's own keys.
  const TaskSpec& task = find_task(task_name);
  const po::options_description task_keys = task_options(task_name);
  po::options_description task_section("[task] " + task.name + ": " + task.summary);
  task_section.add_options()(kTaskKey, po::value<std::string>()->default_value(task_name), "the recall task");
  for (const auto& key : task_keys.options()) task_section.add(key);
  po::options_description model_section("[model]");
  ModelConfig::add_options(model_section);
  po::options_description train_section("[train]");
  TrainConfig::add_options(train_section);
  all.add(task_section).add(model_section).add(train_section).add(mixer_options(instances));
  return all;
}

Experiment Experiment::load(const std::string& ini_path, const std::vector<std::string>& overrides,
                            bool check_model) {
  if (!ini_path.empty())
    MIXLAB_CHECK(std::filesystem::is_regular_file(ini_path), "config file '", ini_path, "' does not exist");
  const std::vector<std::string> args = normalise(overrides);
  po::variables_map vm;
  try {
    const std::map<std::string, std::string> raw = raw_settings(ini_path, args);
    const auto task = raw.find(kTaskKey);
    const std::string task_name = task == raw.end() ? "mqar" : task->second;
    find_task(task_name);  // unknown names fail here, listing the allowed ones
    const po::options_description desc = options_for(task_name, find_instances(raw));
    // Stored first, the command line wins over the file.
    po::store(po::command_line_parser(args).options(desc).run(), vm);
    if (!ini_path.empty()) po::store(po::parse_config_file<char>(ini_path.c_str(), desc), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw Error(std::string(ini_path.empty() ? "" : ini_path + ": ") + e.what());
  }
  Experiment ex = from_options(vm, check_model);
  if (ex.train.name.empty() && !ini_path.empty()) ex.train.name = std::filesystem::path(ini_path).stem().string();
  MIXLAB_CHECK(!ex.train.name.empty(), "train.name is empty: name the run (or pass a config file)");
  ex.options.at("train.name").value() = ex.train.name;  // the resolved config records the run's name
  return ex;
}

Experiment Experiment::from_options(const po::variables_map& vm, bool check_model) {
  Experiment ex;
  ex.options = vm;
  ex.task_name = option<std::string>(vm, kTaskKey);
  ex.task = make_task(ex.task_name, vm);
  ex.dataset = std::make_shared<const Dataset>(make_dataset(ex.task, vm));
  ex.model = ModelConfig::from_options(vm);
  ex.train = TrainConfig::from_options(vm);
  int64_t longest_train = 0;
  for (const Segment& seg : ex.dataset->train_segments()) longest_train = std::max(longest_train, seg.seq_len);
  check_sizes(ex, longest_train, ex.max_seq_len());
  // The BF16 attention kernel exists on CUDA only: refuse a CPU run now, not at its first forward.
  for (const std::string& mixer : ex.model.pattern) {
    const auto kernel = vm.find(mixer + ".kernel");
    MIXLAB_CHECK(kernel == vm.end() || ex.train.device.is_cuda() || kernel->second.as<std::string>() != "fused_bf16",
                 mixer, ".kernel = fused_bf16 needs train.device = cuda (the BF16 tensor-core kernel is GPU-only)");
  }
  if (check_model) ex.build_model();  // mixer options and model/task consistency fail now, not mid-run
  return ex;
}

int64_t Experiment::max_seq_len() const {
  int64_t longest = 0;
  for (const auto* list : {&dataset->train_segments(), &dataset->test_segments()})
    for (const Segment& s : *list) longest = std::max(longest, s.seq_len);
  return longest;
}

std::unique_ptr<LanguageModel> Experiment::build_model() const {
  auto lm = std::make_unique<LanguageModel>(model, task->vocab_size(), max_seq_len(), options, train.seed);
  const std::string non_causal = lm->first_non_causal_mixer();
  MIXLAB_CHECK(!task->causal() || non_causal.empty(), "model.pattern: mixer '", non_causal,
               "' is not causal, but task '", task_name, "' is causal (use a bidirectional task such as masked_recall)");
  return lm;
}

std::string Experiment::model_settings() const {
  std::ostringstream os;
  os << "max_seq_len = " << max_seq_len() << "\n";
  for (const auto& [key, value] : options)
    if (!key.starts_with("train.")) os << key << " = " << to_text(value.value()) << "\n";
  return os.str();
}

std::map<std::string, std::string> Experiment::resolved_values() const {
  std::map<std::string, std::string> values;
  for (const auto& [key, value] : options) values[key] = to_text(value.value());
  return values;
}

std::string Experiment::resolved_ini() const { return ini_text(resolved_values()); }

std::string ini_text(const std::map<std::string, std::string>& values) {
  std::map<std::string, std::map<std::string, std::string>> sections;
  for (const auto& [key, value] : values) {
    const auto dot = key.find('.');
    sections[key.substr(0, dot)][key.substr(dot + 1)] = value;
  }
  std::ostringstream os;
  for (const auto& [section, keys] : sections) {
    os << "[" << section << "]\n";
    for (const auto& [k, v] : keys) os << k << " = " << v << "\n";
    os << "\n";
  }
  return os.str();
}

std::map<std::string, std::string> read_ini(const std::string& path) {
  std::ifstream in(path);
  MIXLAB_CHECK(in.good(), "cannot open ", path);
  std::map<std::string, std::string> out;
  std::string section, line;
  auto trim = [](std::string s) {
    const auto b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  };
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = trim(line.substr(1, line.size() - 2));
      continue;
    }
    const auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[(section.empty() ? "" : section + ".") + trim(line.substr(0, eq))] = trim(line.substr(eq + 1));
  }
  return out;
}

}  // namespace mixlab
