#include "train/checkpoint.h"

#include <cstdio>
#include <map>

#include "train/safetensors.h"

namespace mixlab {

namespace {

// Doubles travel as hex floats ("%a") so they round-trip exactly.
std::string exact(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

const std::string& meta(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  auto it = f.metadata.find(key);
  MIXLAB_CHECK(it != f.metadata.end(), path, ": not a mixlab checkpoint (metadata '", key, "' is missing)");
  return it->second;
}

uint64_t meta_uint(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  const std::string& v = meta(f, path, key);
  try {
    MIXLAB_CHECK(!v.empty() && v[0] != '-', "negative");
    return std::stoull(v);
  } catch (const std::exception&) {
    throw Error(path + ": checkpoint metadata '" + key + "' = '" + v + "' is not a non-negative integer");
  }
}

int64_t meta_int(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  return static_cast<int64_t>(meta_uint(f, path, key));
}

double meta_double(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  const std::string& v = meta(f, path, key);
  try {
    return std::stod(v);
  } catch (const std::exception&) {
    throw Error(path + ": checkpoint metadata '" + key + "' = '" + v + "' is not a number");
  }
}

}  // namespace

void save_checkpoint(const std::string& path, const LanguageModel& model, const AdamW& optimizer,
                     const TrainProgress& progress) {
  std::vector<std::pair<std::string, Tensor>> tensors = model.named_parameters();
  for (auto& entry : model.named_buffers()) tensors.push_back(entry);
  for (auto& entry : optimizer.state_tensors()) tensors.push_back(entry);
  const std::map<std::string, std::string> metadata = {
      {"format", kCheckpointFormat},
      {"step", std::to_string(progress.step)},
      {"optimizer_steps", std::to_string(optimizer.steps_taken())},
      {"loss_sum", exact(progress.loss_sum)},
      {"loss_count", std::to_string(progress.loss_count)},
      {"best_accuracy", exact(progress.best_accuracy)},
      {"finished", progress.finished ? "1" : "0"},
      {"dropout_seed", std::to_string(model.dropout_gen.seed())},
      {"dropout_offset", std::to_string(model.dropout_gen.offset())},
  };
  write_safetensors(path, tensors, metadata);
}

TrainProgress load_checkpoint(const std::string& path, LanguageModel& model, AdamW* optimizer) {
  const SafetensorsFile f = read_safetensors(path);
  MIXLAB_CHECK(meta(f, path, "format") == kCheckpointFormat, path, ": checkpoint format '", meta(f, path, "format"),
               "' is not supported (expected ", kCheckpointFormat, ")");
  std::map<std::string, Tensor> by_name(f.tensors.begin(), f.tensors.end());
  NoGradGuard no_grad;
  for (const auto& [name, p] : model.named_parameters()) {
    auto it = by_name.find(name);
    MIXLAB_CHECK(it != by_name.end(), path, ": the model's parameter '", name,
                 "' is missing (was the checkpoint written by a different config?)");
    MIXLAB_CHECK(it->second.shape() == p.shape(), path, ": parameter '", name, "' has shape ",
                 it->second.shape().str(), " but the model needs ", p.shape().str());
    p.copy_(it->second);
  }
  for (const auto& [name, b] : model.named_buffers()) {
    auto it = by_name.find(name);
    MIXLAB_CHECK(it != by_name.end(), path, ": the model's buffer '", name,
                 "' is missing (was the checkpoint written by a different config?)");
    MIXLAB_CHECK(it->second.shape() == b.shape(), path, ": buffer '", name, "' has shape ", it->second.shape().str(),
                 " but the model needs ", b.shape().str());
    b.copy_(it->second);
  }
  TrainProgress progress;
  progress.step = meta_int(f, path, "step");
  progress.loss_sum = meta_double(f, path, "loss_sum");
  progress.loss_count = meta_int(f, path, "loss_count");
  progress.best_accuracy = meta_double(f, path, "best_accuracy");
  progress.finished = meta(f, path, "finished") == "1";
  model.dropout_gen.set_state(meta_uint(f, path, "dropout_seed"), meta_uint(f, path, "dropout_offset"));
  if (optimizer) optimizer->load_state(f.tensors, meta_int(f, path, "optimizer_steps"));
  return progress;
}

}  // namespace mixlab
