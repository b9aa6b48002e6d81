#include "layers/feedforward.h"

#include "autograd/ops.h"

namespace mixlab {

MLP::MLP(int64_t dim, int64_t hidden, Generator& gen, GeluForm form, bool bias, double init_std, double out_std)
    : dim(dim), hidden(hidden), form(form) {
  fc1 = register_module("fc1", std::make_shared<Linear>(dim, hidden, gen, bias, init_std));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden, dim, gen, bias, out_std));
}

std::string MLP::describe() const {
  return detail::concat("MLP(dim=", dim, ", hidden=", hidden, ", gelu=", form == GeluForm::Tanh ? "tanh" : "erf",
                        ", bias=", fc1->bias.defined() ? "true" : "false", ")");
}

Tensor MLP::forward(const Tensor& x) const {
  check_module_input(describe(), x, dim, fc1->weight.dtype());
  return fc2->forward(gelu(fc1->forward(x), form));
}

SwiGLU::SwiGLU(int64_t dim, int64_t hidden, Generator& gen, double init_std, double out_std)
    : dim(dim), hidden(hidden) {
  // Registered (and drawn) in LLaMA's order, so names and init order match it.
  w1 = register_module("w1", std::make_shared<Linear>(dim, hidden, gen, false, init_std));
  w2 = register_module("w2", std::make_shared<Linear>(hidden, dim, gen, false, out_std));
  w3 = register_module("w3", std::make_shared<Linear>(dim, hidden, gen, false, init_std));
}

std::string SwiGLU::describe() const { return detail::concat("SwiGLU(dim=", dim, ", hidden=", hidden, ")"); }

Tensor SwiGLU::forward(const Tensor& x) const {
  check_module_input(describe(), x, dim, w1->weight.dtype());
  return w2->forward(mul(silu(w1->forward(x)), w3->forward(x)));
}

}  // namespace mixlab
