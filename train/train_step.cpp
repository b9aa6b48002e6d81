#include "train/train_step.h"

#include <cmath>

#include "autograd/ops/optim.h"
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

}  // namespace

double train_step(LanguageModel& model, AdamW& optimizer, const Batch& batch, double lr, double grad_clip) {
  ScoredOutput out = scored_forward(model, batch);
  out.objective().backward();
  const double norm = clip_grad_norm(model.parameters(), grad_clip);  // a host value: the device has synced
  const double loss = out.loss.item();
  // Checked before the update: the parameters stay as the last good step left them.
  if (!std::isfinite(loss) || !std::isfinite(norm)) {
    const std::string name = std::isfinite(norm) ? "" : first_non_finite_gradient(model);
    model.zero_grad();
    throw Error(detail::concat("the training loss is ", loss, " and the gradient norm ", norm,
                               name.empty() ? std::string() : " (first non-finite gradient: " + name + ")"));
  }
  optimizer.step(lr);
  model.zero_grad();
  return loss;
}

}  // namespace mixlab
