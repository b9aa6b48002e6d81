#pragma once
// Helpers for the tests that compare a mixer's forms (parallel, chunked,
// recurrent): an F64 instance with large random parameters, and one
// forward+backward pass that collects the output and every gradient.
#include <memory>
#include <string>
#include <vector>

#include "layers/mixers/mixer.h"

namespace mixlab::testing {

// The registered mixer `name` built with `args`, converted to F64, its
// parameters drawn from U(-0.5, 0.5) (larger than the init, so no term of the
// mixer is numerically negligible).
std::shared_ptr<SequenceMixer> make_f64_mixer(const std::string& name, int64_t d_model,
                                              const std::vector<std::string>& args, uint64_t seed);

struct FormOutcome {
  std::vector<double> out;
  std::vector<std::vector<double>> grads;  // input first, then each parameter
};

// y = m(x), backward of sum(y * w).
FormOutcome forward_backward(SequenceMixer& m, const Tensor& x, const Tensor& w);

// Outputs and every gradient agree within the relative tolerances.
void check_same_outcome(const FormOutcome& a, const FormOutcome& b, double out_tol, double grad_tol);

// From the state a random prefix (13 tokens) leaves, prefill of T random
// tokens (the mixer's parallel/chunked form) equals T decode steps, on the
// outputs and on the state left behind (checked through one more step).
void check_prefill_matches_steps(SequenceMixer& m, int64_t batch, int64_t d_model, int64_t T, double tol);

}  // namespace mixlab::testing
