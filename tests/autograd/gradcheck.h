#pragma once
// Finite-difference gradient checks in F64, one small case struct per op
// (in the spirit of ggml's test-backend-ops): list the input shapes, the
// function, and optionally the input range and tolerance.
//
// The check draws inputs in [low, high], a random projection w of the output,
// back-propagates w (so the scalar is sum(out * w)) and compares every input's
// gradient with central differences of that scalar.
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"

namespace mixlab::testing {

struct GradCase {
  std::string name;
  std::vector<Shape> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  double low = -1.0, high = 1.0;  // input range (e.g. positive for log)
  double rtol = 1e-6;             // on ||analytic - numeric|| / ||numeric||
  uint64_t seed = 1;
};

// ||ref - out|| / ||ref|| (sizes must match).
double rel_err(const std::vector<double>& ref, const std::vector<double>& out);

// Runs the check inside Catch2 assertions; reports the worst input.
void check_gradients(const GradCase& c);
// Runs each case in its own DYNAMIC_SECTION named after the case.
void check_all(const std::vector<GradCase>& cases);

}  // namespace mixlab::testing
