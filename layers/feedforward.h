#pragma once
// Position-wise feed-forward blocks. Both end in a projection that writes into
// the residual stream; `out_std` lets a model scale its init by depth
// (scaled_residual_std), as GPT-2 does.
#include <memory>
#include <string>

#include "autograd/ops/elementwise.h"
#include "autograd/rng.h"
#include "layers/init.h"
#include "layers/linear.h"

namespace mixlab {

// GPT-style: fc2(gelu(fc1(x))).
class MLP : public TensorModule {
 public:
  MLP(int64_t dim, int64_t hidden, Generator& gen, GeluForm form = GeluForm::Tanh, bool bias = true,
      double init_std = kDefaultInitStd, double out_std = kDefaultInitStd);
  Tensor forward(const Tensor& x) const override;  // x (..., dim) -> (..., dim)
  std::string describe() const;

  const int64_t dim, hidden;
  const GeluForm form;
  std::shared_ptr<Linear> fc1;  // dim -> hidden
  std::shared_ptr<Linear> fc2;  // hidden -> dim
};

// LLaMA-style gated unit, no biases: w2(silu(w1 x) * w3 x).
class SwiGLU : public TensorModule {
 public:
  SwiGLU(int64_t dim, int64_t hidden, Generator& gen, double init_std = kDefaultInitStd,
         double out_std = kDefaultInitStd);
  Tensor forward(const Tensor& x) const override;  // x (..., dim) -> (..., dim)
  std::string describe() const;

  const int64_t dim, hidden;
  std::shared_ptr<Linear> w1;  // dim -> hidden, gate
  std::shared_ptr<Linear> w2;  // hidden -> dim, output
  std::shared_ptr<Linear> w3;  // dim -> hidden, value
};

}  // namespace mixlab
