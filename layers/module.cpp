#include "layers/module.h"

#include <functional>

#include <algorithm>
#include <unordered_set>

namespace mixlab {

namespace {

// Edit distance, for suggesting the name a caller probably meant.
size_t levenshtein(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

void Module::check_new_name(const std::string& name) const {
  MIXLAB_CHECK(!name.empty() && name.find('.') == std::string::npos, "Module: invalid name '", name,
               "' (names are non-empty and contain no '.'; dots separate levels of the tree)");
  auto same = [&](const auto& entry) { return entry.first == name; };
  MIXLAB_CHECK(std::none_of(params_.begin(), params_.end(), same) &&
                   std::none_of(buffers_.begin(), buffers_.end(), same) &&
                   std::none_of(children_.begin(), children_.end(), same),
               "Module: duplicate name '", name, "' (already a parameter, buffer or submodule of this module)");
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name);
  MIXLAB_CHECK(t.defined(), "Module: parameter '", name, "' is undefined");
  t.requires_grad_(true);  // also rejects non-float and non-leaf tensors, naming them
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  MIXLAB_CHECK(t.defined(), "Module: buffer '", name, "' is undefined");
  buffers_.emplace_back(name, t);
  return t;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name);
  MIXLAB_CHECK(child != nullptr, "Module: submodule '", name, "' is null");
  MIXLAB_CHECK(child.get() != this, "Module: cannot register a module as its own submodule '", name, "'");
  children_.emplace_back(name, std::move(child));
}

template <typename Self>
std::vector<std::pair<std::string, Self*>> Module::named_modules(Self* root) {
  std::vector<std::pair<std::string, Self*>> out;
  std::vector<std::pair<std::string, Self*>> stack{{"", root}};
  while (!stack.empty()) {
    auto [prefix, m] = stack.back();
    stack.pop_back();
    out.emplace_back(prefix, m);
    // Pushed in reverse so children pop (and are listed) in registration order.
    for (auto it = m->children_.rbegin(); it != m->children_.rend(); ++it)
      stack.emplace_back(prefix + it->first + ".", it->second.get());
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out;
  std::unordered_set<const TensorImpl*> seen;
  for (const auto& [prefix, m] : named_modules(this))
    for (const auto& [name, t] : m->params_)
      if (seen.insert(t.impl().get()).second) out.emplace_back(prefix + name, t);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [prefix, m] : named_modules(this))
    for (const auto& [name, t] : m->buffers_) out.emplace_back(prefix + name, t);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& t : parameters()) n += t.numel();
  return n;
}

void Module::zero_grad() {
  for (const Tensor& t : parameters()) t.zero_grad();
}

Tensor Module::parameter(const std::string& dotted_name) const {
  // Walk the path rather than search named_parameters(), so a tied tensor is
  // found under each of its names.
  const Module* m = this;
  size_t start = 0;
  for (size_t dot; m && (dot = dotted_name.find('.', start)) != std::string::npos; start = dot + 1) {
    const std::string part = dotted_name.substr(start, dot - start);
    auto it = std::find_if(m->children_.begin(), m->children_.end(), [&](const auto& c) { return c.first == part; });
    m = it == m->children_.end() ? nullptr : it->second.get();
  }
  if (m) {
    const std::string leaf = dotted_name.substr(start);
    for (const auto& [name, t] : m->params_)
      if (name == leaf) return t;
  }

  const auto all = named_parameters();
  const size_t max_distance = std::max<size_t>(3, dotted_name.size() / 3);
  std::vector<std::pair<size_t, std::string>> close;
  for (const auto& [name, t] : all) {
    size_t d = levenshtein(dotted_name, name);
    if (d <= max_distance) close.emplace_back(d, name);
  }
  std::sort(close.begin(), close.end());
  if (close.size() > 3) close.resize(3);
  std::string hint;
  for (const auto& [d, name] : close) hint += (hint.empty() ? "" : ", ") + name;
  if (hint.empty())
    throw Error(detail::concat("Module: no parameter named '", dotted_name, "' (the module has ", all.size(),
                               " parameters; none has a similar name)"));
  throw Error(detail::concat("Module: no parameter named '", dotted_name, "'; did you mean: ", hint, "?"));
}

void Module::train(bool on) {
  for (auto& [prefix, m] : named_modules(this)) m->training_ = on;
}

void Module::convert_state(const std::function<Tensor(const Tensor&)>& convert) {
  NoGradGuard no_grad;
  std::vector<Tensor> targets = parameters();
  for (const auto& [name, b] : named_buffers())
    if (is_floating(b.dtype())) targets.push_back(b);
  for (const Tensor& t : targets) {
    Tensor converted = convert(t.detach());
    if (converted.impl()->storage == t.impl()->storage) continue;  // already there
    // Swap the storage under the shared TensorImpl: every handle to this
    // tensor (module members, optimizer lists) sees the converted one.
    TensorImpl& impl = *t.impl();
    impl.storage = converted.impl()->storage;
    impl.offset = converted.impl()->offset;
    impl.dtype = converted.dtype();
    impl.device = converted.device();
    t.zero_grad();
  }
}

void Module::to(Device device) {
  convert_state([device](const Tensor& t) { return t.to(device); });
}

void Module::to(DType dtype) {
  MIXLAB_CHECK(is_floating(dtype), "Module::to(", dtype_name(dtype), "): parameters must be float (allowed: f32, f64)");
  convert_state([dtype](const Tensor& t) { return t.to(dtype); });
}

void check_module_input(const std::string& module, const Tensor& x, int64_t last_dim, DType param_dtype) {
  MIXLAB_CHECK(x.defined(), module, ": input is undefined");
  MIXLAB_CHECK(x.ndim() >= 1 && x.size(-1) == last_dim, module, ": input ", x.describe(), " must have last dim ",
               last_dim);
  MIXLAB_CHECK(x.dtype() == param_dtype, module, ": input ", x.describe(), " does not match the parameters' dtype ",
               dtype_name(param_dtype), " (convert the input, or the module with Module::to)");
}

}  // namespace mixlab
