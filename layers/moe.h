#pragma once
// Mixture-of-experts feed-forward (Switch / Mixtral / Jamba style): a linear
// router scores E experts per token; the top-k are kept and their softmax
// probabilities renormalised over the k chosen; the output is the gate-weighted
// sum of those experts' outputs.
//
// Capacity (training only): with capacity_factor c > 0 each expert takes at
// most ceil(c·N·k/E) of the N·k assignments of a batch, first choices of every
// token before second choices (GShard/Switch priority), in token order; the
// rest are dropped (that expert contributes nothing; the residual carries the
// token). c = 0 is dropless. In eval and decoding routing is always dropless,
// so a generated sequence equals the parallel forward.
//
// Auxiliary losses, returned by auxiliary_loss() after a training forward:
// Switch's load-balancing loss E·Σ_e f_e·P_e (f_e: share of the N·k routed
// assignments that chose expert e, before dropping, no gradient; P_e: mean
// router probability of e), and the ST-MoE router z-loss mean_n (logsumexp
// of the router logits)², each times its weight.
#include <memory>
#include <string>
#include <vector>

#include "autograd/rng.h"
#include "layers/linear.h"
#include "layers/module.h"

namespace mixlab {

struct MoEOptions {
  int64_t n_experts = 16, top_k = 2;
  std::string expert = "swiglu";  // swiglu | mlp
  double capacity_factor = 0.0;   // 0 = dropless
  double balance_loss_weight = 0.01, z_loss_weight = 0.0;
};

// Routing counts since the last take_load(): what the trainer logs per eval.
struct ExpertLoad {
  std::vector<int64_t> assignments;  // per expert, before capacity dropping
  int64_t dropped = 0;               // assignments over capacity
  int64_t routed = 0;                // N·k over the counted forwards
  double balance_loss = 0, z_loss = 0;  // summed over the counted training forwards (unweighted)
  int64_t forwards = 0;
};

class MoE : public TensorModule {
 public:
  MoE(int64_t dim, int64_t hidden, const MoEOptions& options, Generator& gen, double init_std, double out_std);

  // x (..., dim) -> (..., dim)
  Tensor forward(const Tensor& x) const override;
  // The weighted auxiliary loss of the last training forward (undefined after
  // an eval forward).
  Tensor auxiliary_loss() const { return aux_loss_; }
  ExpertLoad take_load() const;

  const int64_t dim, hidden;
  const MoEOptions options;
  std::shared_ptr<Linear> router;      // dim -> E, no bias
  std::shared_ptr<ModuleList> experts;  // E feed-forwards

 private:
  mutable Tensor aux_loss_;
  mutable ExpertLoad load_;
};

}  // namespace mixlab
