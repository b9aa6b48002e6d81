#include "train/schedule.h"

#include <algorithm>
#include <cmath>

namespace mixlab {

double Schedule::at(int64_t t) const {
  if (warmup > 0 && t < warmup) return lr * static_cast<double>(t + 1) / static_cast<double>(warmup);
  if (kind == "constant") return lr;
  const double span = static_cast<double>(std::max<int64_t>(total - warmup, 1));
  const double progress = std::clamp(static_cast<double>(t - warmup) / span, 0.0, 1.0);
  if (kind == "linear") return min_lr + (lr - min_lr) * (1.0 - progress);
  // cosine: lr at the start of decay, min_lr at the end (PyTorch CosineAnnealingLR)
  return min_lr + (lr - min_lr) * 0.5 * (1.0 + std::cos(M_PI * progress));
}

}  // namespace mixlab
