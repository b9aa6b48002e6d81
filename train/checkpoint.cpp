#include "train/checkpoint.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>

#include "autograd/error_text.h"
#include "autograd/ops/optim.h"
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

// Every value is parsed whole: "1e5" is not the step 1, "0x1p+1000" is not 0.
uint64_t meta_uint(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  const std::string& v = meta(f, path, key);
  uint64_t out = 0;
  const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  MIXLAB_CHECK(!v.empty() && ec == std::errc() && end == v.data() + v.size(), path, ": checkpoint metadata '", key,
               "' = '", abbreviate(v), "' is not a non-negative integer");
  return out;
}

int64_t meta_int(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  const uint64_t v = meta_uint(f, path, key);
  MIXLAB_CHECK(v <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), path, ": checkpoint metadata '", key,
               "' = ", v, " is out of range");
  return static_cast<int64_t>(v);
}

double meta_double(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  const std::string& v = meta(f, path, key);
  char* end = nullptr;
  errno = 0;
  const double out = v.empty() || std::isspace(static_cast<unsigned char>(v[0])) ? 0 : std::strtod(v.c_str(), &end);
  MIXLAB_CHECK(end == v.c_str() + v.size() && errno == 0 && std::isfinite(out), path, ": checkpoint metadata '", key,
               "' = '", abbreviate(v), "' is not a finite number");
  return out;
}

bool meta_flag(const SafetensorsFile& f, const std::string& path, const std::string& key) {
  const std::string& v = meta(f, path, key);
  MIXLAB_CHECK(v == "0" || v == "1", path, ": checkpoint metadata '", key, "' = '", abbreviate(v),
               "' is not 0 or 1");
  return v == "1";
}

// A parameter, buffer or optimizer moment holding NaN or inf would only show
// up later as a NaN loss; refused where it enters, naming it.
void check_finite(const std::string& path, const std::string& what, const std::string& name, const Tensor& t) {
  // Σx² (in double, on the tensor's device) is finite exactly when every
  // element is, for any value an F32 can hold; the element is found only then.
  if (t.dtype() == DType::I64 || std::isfinite(sum_of_squares(t))) return;
  const std::vector<double> values = t.to_vector();
  for (size_t i = 0; i < values.size(); ++i)
    MIXLAB_CHECK(std::isfinite(values[i]), path, ": ", what, " '", name, "' holds a non-finite value (", values[i],
                 " at element ", i, ")");
}

}  // namespace

void save_checkpoint(const std::string& path, const LanguageModel& model, const AdamW& optimizer,
                     const TrainProgress& progress) {
  std::vector<std::pair<std::string, Tensor>> tensors = model.named_parameters();
  for (auto& entry : model.named_buffers()) tensors.push_back(entry);
  for (auto& entry : optimizer.state_tensors()) tensors.push_back(entry);
  // Never replace a good checkpoint with one that could not be loaded.
  for (const auto& [name, t] : tensors) check_finite(path + " (not written)", "tensor", name, t);
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
    check_finite(path, "parameter", name, it->second);
    p.copy_(it->second);
  }
  for (const auto& [name, b] : model.named_buffers()) {
    auto it = by_name.find(name);
    MIXLAB_CHECK(it != by_name.end(), path, ": the model's buffer '", name,
                 "' is missing (was the checkpoint written by a different config?)");
    MIXLAB_CHECK(it->second.shape() == b.shape(), path, ": buffer '", name, "' has shape ", it->second.shape().str(),
                 " but the model needs ", b.shape().str());
    check_finite(path, "buffer", name, it->second);
    b.copy_(it->second);
  }
  TrainProgress progress;
  progress.step = meta_int(f, path, "step");
  progress.loss_sum = meta_double(f, path, "loss_sum");
  progress.loss_count = meta_int(f, path, "loss_count");
  progress.best_accuracy = meta_double(f, path, "best_accuracy");
  progress.finished = meta_flag(f, path, "finished");
  model.dropout_gen.set_state(meta_uint(f, path, "dropout_seed"), meta_uint(f, path, "dropout_offset"));
  for (const auto& [name, t] : f.tensors)
    if (name.starts_with("adamw.")) check_finite(path, "optimizer state", name, t);
  if (optimizer) optimizer->load_state(f.tensors, meta_int(f, path, "optimizer_steps"));
  return progress;
}

}  // namespace mixlab
