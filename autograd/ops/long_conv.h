#pragma once
// Causal depthwise long convolution (Zoology's BaseConv long filter, H3's
// SSM kernels, Hyena's implicit filters) with a hand-written backward: an FFT
// path (FFTW on the CPU, cuFFT on CUDA) and a direct path computing the same
// sums (kernels/cpu/fft_conv.h).
#include "autograd/tensor.h"

namespace mixlab {

enum class LongConvAlgorithm {
  Auto,    // direct for filters reaching at most kLongConvDirectTaps steps back, FFT beyond
  Fft,     // O(T log T) per channel
  Direct,  // O(T · min(K, T)) per channel
};

// Where Auto switches from the direct to the FFT path (min(K, T) above it
// goes through the FFT); measured with `mixlab bench conv`.
constexpr int64_t kLongConvDirectTaps = 32;

// x (B, T, C), h (C, K) -> y (B, T, C):  y[b,t,c] = sum_{s=0}^{min(t,K-1)} h[c,s] x[b,t-s,c].
// One filter per channel (broadcast a shared one with expand first); taps
// at or beyond T never reach an output and get a zero gradient.
// Differentiable in x and h; the backward is the correlation with h and with x.
Tensor long_conv(const Tensor& x, const Tensor& h, LongConvAlgorithm algorithm = LongConvAlgorithm::Auto);

}  // namespace mixlab
