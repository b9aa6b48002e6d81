#pragma once
// Finite-difference check of a module's parameter gradients in F64.
#include <functional>

#include "layers/module.h"

namespace mixlab::testing {

// Compares each parameter's back-propagated gradient of sum(f() * w), for a
// random w, with central differences taken by perturbing the parameter's
// elements in place (the module reads its parameters by handle). Every
// parameter must influence the output.
void check_parameter_gradients(Module& m, const std::function<Tensor()>& f, double rtol = 1e-6);

}  // namespace mixlab::testing
