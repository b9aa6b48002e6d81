#pragma once
// Depthwise causal convolution over time, as torch.nn.Conv1d(C, C, K,
// groups=C, padding=K-1) truncated to the first T outputs (the short
// convolution of Zoology's BaseConv, H3 and Mamba). Weight (C, K) is torch's
// (C, 1, K) without the singleton.
#include <string>

#include "autograd/rng.h"
#include "layers/module.h"

namespace mixlab {

class CausalConv1d : public Module {
 public:
  // weight and bias ~ U(-1/sqrt(K), 1/sqrt(K)), torch's Conv1d default for groups = C.
  CausalConv1d(int64_t channels, int64_t kernel_size, Generator& gen, bool bias = true);

  // x (B, T, C) -> (B, T, C)
  Tensor forward(const Tensor& x) const;
  // One step: window (B, K, C) holds the last K inputs, oldest first -> (B, C).
  Tensor step(const Tensor& window) const;
  std::string describe() const;

  const int64_t channels, kernel_size;
  Tensor weight;  // (C, K)
  Tensor bias;    // (C) or undefined
};

}  // namespace mixlab
