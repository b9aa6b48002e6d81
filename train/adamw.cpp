#include "train/adamw.h"

#include <cmath>
#include <map>

#include "autograd/ops/optim.h"

namespace mixlab {

namespace {

bool is_embedding(const std::string& name) {
  const std::string suffix = "embed.weight";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

AdamW::AdamW(std::vector<std::pair<std::string, Tensor>> named_params, const AdamWConfig& cfg) : cfg_(cfg) {
  for (auto& [name, p] : named_params) {
    if (!slots_.empty())
      MIXLAB_CHECK(p.device() == slots_.front().param.device() && p.dtype() == slots_.front().param.dtype(),
                   "AdamW: parameter '", name, "' ", p.describe(), " is not on the device and dtype of the others (",
                   slots_.front().param.describe(), ")");
    require_optimizer_kernels("AdamW", p);
    Slot s{name, p, Tensor::zeros(p.shape(), p.dtype(), p.device()), Tensor::zeros(p.shape(), p.dtype(), p.device()),
           false};
    s.decay = cfg.decay_all || (p.ndim() >= 2 && !is_embedding(name));
    slots_.push_back(std::move(s));
  }
}

bool AdamW::decays(const std::string& name) const {
  for (const Slot& s : slots_)
    if (s.name == name) return s.decay;
  throw Error("AdamW: no parameter named '" + name + "'");
}

void AdamW::step(double lr) {
  ++step_;
  std::vector<AdamWParameter> params;
  for (const Slot& s : slots_) {
    Tensor g = s.param.grad();
    if (g.defined()) params.push_back({s.param, g, s.m, s.v, s.decay ? cfg_.weight_decay : 0.0});
  }
  adamw_step_(params, {lr, cfg_.beta1, cfg_.beta2, cfg_.eps, 1.0 - std::pow(cfg_.beta1, static_cast<double>(step_)),
                       1.0 - std::pow(cfg_.beta2, static_cast<double>(step_))});
}

std::vector<std::pair<std::string, Tensor>> AdamW::state_tensors() const {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const Slot& s : slots_) {
    out.emplace_back("adamw.m." + s.name, s.m);
    out.emplace_back("adamw.v." + s.name, s.v);
  }
  return out;
}

void AdamW::load_state(const std::vector<std::pair<std::string, Tensor>>& tensors, int64_t steps_taken) {
  std::map<std::string, Tensor> by_name(tensors.begin(), tensors.end());
  for (Slot& s : slots_) {
    for (auto [prefix, dst] : {std::pair{"adamw.m.", s.m}, std::pair{"adamw.v.", s.v}}) {
      auto it = by_name.find(prefix + s.name);
      MIXLAB_CHECK(it != by_name.end(), "checkpoint: optimizer state '", prefix, s.name, "' is missing");
      MIXLAB_CHECK(it->second.shape() == dst.shape(), "checkpoint: optimizer state '", prefix, s.name, "' has shape ",
                   it->second.shape().str(), ", the model needs ", dst.shape().str());
      dst.copy_(it->second);
    }
  }
  step_ = steps_taken;
}

double clip_grad_norm(const std::vector<Tensor>& params, double max_norm) {
  double total = 0;
  for (const Tensor& p : params) {
    Tensor g = p.grad();
    if (g.defined()) total += sum_of_squares(g);
  }
  const double norm = std::sqrt(total);
  if (max_norm > 0 && norm > max_norm) {
    const double factor = max_norm / (norm + 1e-6);  // PyTorch's clip_grad_norm_ epsilon
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (g.defined()) scale_(g, factor);
    }
  }
  return norm;
}

}  // namespace mixlab
