#include "layers/mixers/mixer.h"

#include "autograd/ops.h"

namespace mixlab {

Tensor SequenceMixer::prefill(const Tensor& x, MixerState& state) {
  MIXLAB_CHECK(x.ndim() == 3, name(), ".prefill: x must be (B, T, D), got ", x.describe());
  const int64_t B = x.shape()[0], T = x.shape()[1], D = x.shape()[2];
  std::vector<Tensor> outputs;
  outputs.reserve(static_cast<size_t>(T));
  for (int64_t t = 0; t < T; ++t)
    outputs.push_back(step(slice(x, 1, t, t + 1).reshape({B, D}), state).reshape({B, 1, D}));
  return concat(outputs, 1);
}

Tensor SequenceMixer::step_through_prefill(const Tensor& x_t, MixerState& state) {
  MIXLAB_CHECK(x_t.ndim() == 2, name(), ".step: x_t must be (B, D), got ", x_t.describe());
  const int64_t B = x_t.size(0), D = x_t.size(1);
  return prefill(x_t.reshape({B, 1, D}), state).reshape({B, D});
}

}  // namespace mixlab
