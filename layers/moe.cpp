#include "layers/moe.h"

#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/moe_route.h"
#include "layers/feedforward.h"

namespace mixlab {

MoE::MoE(int64_t dim, int64_t hidden, const MoEOptions& o, Generator& gen, double init_std, double out_std)
    : dim(dim), hidden(hidden), options(o) {
  MIXLAB_CHECK(o.n_experts >= 1, "moe.n_experts = ", o.n_experts, " must be >= 1");
  MIXLAB_CHECK(o.top_k >= 1 && o.top_k <= o.n_experts, "moe.top_k = ", o.top_k, " must be between 1 and moe.n_experts (",
               o.n_experts, ")");
  MIXLAB_CHECK(o.expert == "swiglu" || o.expert == "mlp", "moe.expert = '", o.expert,
               "' is not allowed (allowed: swiglu, mlp)");
  MIXLAB_CHECK(o.capacity_factor >= 0, "moe.capacity_factor = ", o.capacity_factor, " must be >= 0 (0 = dropless)");
  MIXLAB_CHECK(o.balance_loss_weight >= 0 && o.z_loss_weight >= 0, "moe.balance_loss_weight (", o.balance_loss_weight,
               ") and moe.z_loss_weight (", o.z_loss_weight, ") must be >= 0");
  router = register_module("router", std::make_shared<Linear>(dim, o.n_experts, gen, false, init_std));
  experts = register_module("experts", std::make_shared<ModuleList>());
  for (int64_t e = 0; e < o.n_experts; ++e) {
    if (o.expert == "mlp")
      experts->push_back(std::make_shared<MLP>(dim, hidden, gen, GeluForm::Tanh, true, init_std, out_std));
    else
      experts->push_back(std::make_shared<SwiGLU>(dim, hidden, gen, init_std, out_std));
  }
  load_.assignments.assign(o.n_experts, 0);
}

ExpertLoad MoE::take_load() const {
  ExpertLoad out = load_;
  load_ = ExpertLoad{};
  load_.assignments.assign(options.n_experts, 0);
  return out;
}

Tensor MoE::forward(const Tensor& x) const {
  check_module_input("MoE", x, dim, router->weight.dtype());
  const Shape shape = x.shape();
  const int64_t N = x.numel() / dim, E = options.n_experts, K = options.top_k;
  const Tensor flat = x.reshape({N, dim});
  const Tensor logits = router->forward(flat);  // (N, E)
  const Tensor probs = softmax(logits, -1);

  // Capacity, slot-major priority: every token's first choice before any second.
  const bool capped = is_training() && options.capacity_factor > 0;
  const int64_t capacity =
      capped ? static_cast<int64_t>(std::ceil(options.capacity_factor * static_cast<double>(N * K) / E)) : N * K;
  const RoutingPlan plan = route_tokens(probs, K, capacity);

  // Gates: the chosen probabilities renormalised over the k chosen.
  const Tensor chosen = index_select(probs.reshape({N * E}), 0, plan.picked).reshape({N, K});
  const Tensor gates = div(chosen, sum(chosen, -1, true)).reshape({N * K});

  // Each expert runs on its kept assignments, the plan's rows of it; a last
  // zero row of Y stands for dropped assignments.
  std::vector<Tensor> outputs;
  int64_t rows = 0;
  for (int64_t e = 0; e < E; ++e) {
    const int64_t M = plan.kept[e];
    if (M == 0) continue;
    const auto& expert = static_cast<const TensorModule&>(*(*experts)[e]);
    const Tensor y = expert.forward(index_select(flat, 0, slice(plan.order_tokens, 0, rows, rows + M)));
    const Tensor g = index_select(gates, 0, slice(plan.order, 0, rows, rows + M)).reshape({M, 1});
    outputs.push_back(mul(y, g));
    rows += M;
  }
  outputs.push_back(Tensor::zeros({1, dim}, x.dtype(), x.device()));
  const Tensor Y = concat(outputs, 0);
  Tensor out;
  for (int64_t s = 0; s < K; ++s) {
    const Tensor part = index_select(Y, 0, slice(plan.slot_rows, 0, s, s + 1).reshape({N}));
    out = out.defined() ? add(out, part) : part;
  }

  const std::vector<int64_t>& routed = plan.routed;
  for (int64_t e = 0; e < E; ++e) load_.assignments[e] += routed[e];
  load_.routed += N * K;
  load_.dropped += N * K - rows;
  aux_loss_ = Tensor();
  if (is_training()) {
    // Load balancing: f_e (a constant) against the mean router probability P_e.
    std::vector<double> f(E);
    for (int64_t e = 0; e < E; ++e) f[e] = static_cast<double>(routed[e]) / static_cast<double>(N * K);
    const Tensor balance =
        mul(sum(mul(mean(probs, 0), Tensor::from_vector(f, {E}, x.dtype(), x.device()))), static_cast<double>(E));
    // z-loss: mean squared log-partition of the router logits.
    const Tensor lse = sub(slice(logits, -1, 0, 1), slice(log_softmax(logits, -1), -1, 0, 1));
    const Tensor z = mean(square(lse));
    load_.balance_loss += balance.item();
    load_.z_loss += z.item();
    load_.forwards++;
    aux_loss_ = add(mul(balance, options.balance_loss_weight), mul(z, options.z_loss_weight));
  }
  return out.reshape(shape);
}

}  // namespace mixlab
