#pragma once
// AdamW (Loshchilov & Hutter) with PyTorch's semantics: decoupled weight
// decay p -= lr·wd·p, then the bias-corrected Adam step, one fused kernel per
// parameter. By default norms, biases (every parameter with fewer than 2 dims)
// and embeddings are not decayed; `decay_all` decays everything (Zoology's recipe).
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

struct AdamWConfig {
  double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
  double weight_decay = 0.1;
  bool decay_all = false;
};

class AdamW {
 public:
  // One parameter with its moments and whether it is decayed.
  struct Slot {
    std::string name;
    Tensor param, m, v;
    bool decay;
  };

  AdamW(std::vector<std::pair<std::string, Tensor>> named_params, const AdamWConfig& cfg);

  // Updates every parameter that has a gradient, with learning rate `lr`.
  void step(double lr);
  int64_t steps_taken() const { return step_; }
  bool decays(const std::string& name) const;

  // Moments as "adamw.m.<name>" / "adamw.v.<name>", for checkpoints.
  std::vector<std::pair<std::string, Tensor>> state_tensors() const;
  // Restores moments (by name, shapes checked) and the step count.
  void load_state(const std::vector<std::pair<std::string, Tensor>>& tensors, int64_t steps_taken);

 private:
  std::vector<Slot> slots_;
  AdamWConfig cfg_;
  int64_t step_ = 0;
};

// Scales all gradients so their global L2 norm is at most max_norm (no-op when
// max_norm <= 0); returns the norm before clipping. Deterministic.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

}  // namespace mixlab
