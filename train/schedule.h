#pragma once
// Learning-rate schedules, as functions of progress (a step or an epoch index).
#include <string>

namespace mixlab {

struct Schedule {
  std::string kind = "constant";  // constant | cosine | linear
  double lr = 1e-3;               // peak learning rate
  double min_lr = 0.0;            // reached at the end (cosine, linear)
  int64_t warmup = 0;             // units of linear warmup from 0 to lr
  int64_t total = 1;              // units in the whole run

  // Learning rate at progress `t` (0-based units; clamped to [0, total]).
  double at(int64_t t) const;
};

}  // namespace mixlab
