#include "train/train_step.h"

#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/optim.h"
#include "distributed/data_parallel.h"
#include "train/objective.h"

namespace mixlab {

namespace {

// The first parameter whose gradient holds NaN or inf (looked for only once
// the norm is non-finite, so it costs nothing on a good step).
std::string first_non_finite_gradient(const LanguageModel& model) {
  for (const auto& [name, p] : model.named_parameters()) {
    const Tensor g = p.grad();
    if (g.defined() && !std::isfinite(sum_of_squares(g))) return name;
  }
  return "";
}

// Clipping, the finiteness check and the update, once the gradients of the
// (global) batch are in place. Checked before the update: the parameters stay
// as the last good step left them. `Failure` is the exception type.
template <typename Failure>
double finish_step(LanguageModel& model, AdamW& optimizer, const std::vector<Tensor>& params, double loss, double lr,
                   double grad_clip) {
  const double norm = clip_grad_norm(params, grad_clip);  // a host value: the device has synced
  if (!std::isfinite(loss) || !std::isfinite(norm)) {
    const std::string name = std::isfinite(norm) ? "" : first_non_finite_gradient(model);
    model.zero_grad();
    throw Failure(detail::concat("the training loss is ", loss, " and the gradient norm ", norm,
                                 name.empty() ? std::string() : " (first non-finite gradient: " + name + ")"));
  }
  optimizer.step(lr);
  model.zero_grad();
  return loss;
}

}  // namespace

double train_step(LanguageModel& model, AdamW& optimizer, const Batch& batch, double lr, double grad_clip) {
  ScoredOutput out = scored_forward(model, batch);
  out.objective().backward();
  const std::vector<Tensor> params = model.parameters();
  const double loss = out.loss.item();
  return finish_step<Error>(model, optimizer, params, loss, lr, grad_clip);
}

double train_step(LanguageModel& model, AdamW& optimizer, const Batch& shard, double lr, double grad_clip,
                  Communicator& comm) {
  if (comm.size() == 1) return train_step(model, optimizer, shard, lr, grad_clip);
  // extras: [loss summed over this rank's scored positions, their count]
  double extras[2] = {0, 0};
  if (shard.inputs.defined() && shard.inputs.size(0) > 0) {
    ScoredOutput out = scored_forward(model, shard);
    const double n = static_cast<double>(out.targets.numel());
    mul(out.objective(), n).backward();
    extras[0] = out.loss.item() * n;
    extras[1] = n;
  }
  const std::vector<Tensor> params = model.parameters();
  all_reduce_gradients(comm, params, extras, [](std::span<const double> sums) { return sums[1] > 0 ? 1.0 / sums[1] : 0.0; });
  const double loss = extras[1] > 0 ? extras[0] / extras[1] : 0.0;
  // Every rank holds the same gradient and loss, so a failure is every rank's.
  return finish_step<CollectiveError>(model, optimizer, params, loss, lr, grad_clip);
}

}  // namespace mixlab
