#include "train/adamw.h"

#include <cmath>
#include <map>

#include "autograd/ops/op_util.h"
#include "kernels/cpu/optim_kernels.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab {

namespace {

bool is_embedding(const std::string& name) {
  const std::string suffix = "embed.weight";
  return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Every parameter with a gradient in one launch: the list of (p, g, m, v, n,
// decay) goes to the device as a small table.
template <typename T>
void step_all_on_cuda(const std::vector<AdamW::Slot>& slots, const cuda::AdamWHyper& h, double weight_decay) {
  std::vector<cuda::AdamWTensor<T>> entries;
  int64_t largest = 0;
  for (const AdamW::Slot& s : slots) {
    Tensor g = s.param.grad();
    if (!g.defined()) continue;
    entries.push_back({s.param.data<T>(), g.data<T>(), s.m.data<T>(), s.v.data<T>(), s.param.numel(),
                       s.decay ? weight_decay : 0.0});
    largest = std::max(largest, s.param.numel());
  }
  if (entries.empty()) return;
  static_assert(sizeof(cuda::AdamWTensor<T>) % sizeof(int64_t) == 0);
  const Device device = slots.front().param.device();
  const size_t bytes = entries.size() * sizeof(cuda::AdamWTensor<T>);
  Tensor table = Tensor::empty(Shape{static_cast<int64_t>(bytes / sizeof(int64_t))}, DType::I64, device);
  cuda::copy_host_to_device(device.index, table.raw(), entries.data(), bytes);
  cuda::adamw_update_all<T>(device.index, static_cast<const cuda::AdamWTensor<T>*>(table.raw()),
                            static_cast<int64_t>(entries.size()), largest, h);
}

}  // namespace

AdamW::AdamW(std::vector<std::pair<std::string, Tensor>> named_params, const AdamWConfig& cfg) : cfg_(cfg) {
  for (auto& [name, p] : named_params) {
    if (!slots_.empty())
      MIXLAB_CHECK(p.device() == slots_.front().param.device() && p.dtype() == slots_.front().param.dtype(),
                   "AdamW: parameter '", name, "' ", p.describe(), " is not on the device and dtype of the others (",
                   slots_.front().param.describe(), ")");
    if (p.device().is_cuda()) cuda::require_verified("optim", "AdamW");
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
  if (!slots_.empty() && slots_.front().param.device().is_cuda()) {
    const cuda::AdamWHyper h{lr, cfg_.beta1, cfg_.beta2, cfg_.eps,
                             1.0 - std::pow(cfg_.beta1, static_cast<double>(step_)),
                             1.0 - std::pow(cfg_.beta2, static_cast<double>(step_))};
    MIXLAB_DISPATCH_FLOAT(slots_.front().param.dtype(), "AdamW",
                          [&] { step_all_on_cuda<scalar_t>(slots_, h, cfg_.weight_decay); });
    return;
  }
  cpu::AdamWStep st{lr, cfg_.beta1, cfg_.beta2, cfg_.eps, 0.0,
                    1.0 - std::pow(cfg_.beta1, static_cast<double>(step_)),
                    1.0 - std::pow(cfg_.beta2, static_cast<double>(step_))};
  for (Slot& s : slots_) {
    Tensor g = s.param.grad();
    if (!g.defined()) continue;
    st.weight_decay = s.decay ? cfg_.weight_decay : 0.0;
    MIXLAB_DISPATCH_FLOAT(s.param.dtype(), "AdamW", [&] {
      cpu::adamw_update(s.param.data<scalar_t>(), g.data<scalar_t>(), s.m.data<scalar_t>(), s.v.data<scalar_t>(),
                        s.param.numel(), st);
    });
  }
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
    if (!g.defined()) continue;
    if (g.device().is_cuda()) {
      cuda::require_verified("optim", "clip_grad_norm");
      total += MIXLAB_DISPATCH_FLOAT(g.dtype(), "clip_grad_norm", [&] {
        return cuda::sum_of_squares(g.device().index, g.data<scalar_t>(), g.numel());
      });
      continue;
    }
    total += MIXLAB_DISPATCH_FLOAT(g.dtype(), "clip_grad_norm",
                                   [&] { return cpu::sum_of_squares(g.data<scalar_t>(), g.numel()); });
  }
  const double norm = std::sqrt(total);
  if (max_norm > 0 && norm > max_norm) {
    const double factor = max_norm / (norm + 1e-6);  // PyTorch's clip_grad_norm_ epsilon
    for (const Tensor& p : params) {
      Tensor g = p.grad();
      if (!g.defined()) continue;
      MIXLAB_DISPATCH_FLOAT(g.dtype(), "clip_grad_norm", [&] {
        if (g.device().is_cuda())
          cuda::affine(g.device().index, g.data<scalar_t>(), g.data<scalar_t>(), g.numel(), factor, 0.0);
        else
          cpu::scale_in_place(g.data<scalar_t>(), g.numel(), factor);
      });
    }
  }
  return norm;
}

}  // namespace mixlab
