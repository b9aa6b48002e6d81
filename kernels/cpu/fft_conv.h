#pragma once
// Causal depthwise long convolution over time, two algorithms with one
// contract (the op autograd/ops/long_conv.h picks one):
//
//   x (B, T, C), h (C, K) -> y (B, T, C):  y[b,t,c] = sum_{s=0}^{min(t,K-1)} h[c,s] x[b,t-s,c]
//
// Tap s of channel c's filter weighs the input s steps back (h[c,0] is the
// present), the layout of Zoology's and Hyena's long filters. Only the first
// min(K, T) taps can reach an output; the others get a zero gradient.
//
// Backward (both algorithms), given g = dL/dy:
//   dx[b,s,c] = sum_{t>=s} h[c,t-s] g[b,t,c]            (the correlation of g with h)
//   dh[c,j]   = sum_b sum_{t>=j} g[b,t,c] x[b,t-j,c]    (the correlation of g with x)
// dx or dh may be null (not wanted). dh is summed over the batch in batch
// order per channel, so results do not depend on the thread count.
#include <cstdint>

namespace mixlab::cpu {

// FFT path (FFTW): every channel row is zero-padded to n = fft_conv_size(T, K)
// >= T + min(K,T) - 1, so the circular convolution of length n equals the
// linear one on t < T. O(B·C·n log n) instead of the direct O(B·C·T·K).
template <typename T>
void long_conv_fft_forward(const T* x, const T* h, T* y, int64_t batch, int64_t time, int64_t channels, int64_t taps);
template <typename T>
void long_conv_fft_backward(const T* x, const T* h, const T* g, T* dx, T* dh, int64_t batch, int64_t time,
                            int64_t channels, int64_t taps);

// Direct path: the sums above as loops (double accumulators), the
// reference the FFT path is benchmarked against and the faster one for short filters.
template <typename T>
void long_conv_direct_forward(const T* x, const T* h, T* y, int64_t batch, int64_t time, int64_t channels,
                              int64_t taps);
template <typename T>
void long_conv_direct_backward(const T* x, const T* h, const T* g, T* dx, T* dh, int64_t batch, int64_t time,
                               int64_t channels, int64_t taps);

// The transform length of the FFT path: the smallest power of two >= T + min(K,T) - 1.
int64_t fft_conv_size(int64_t time, int64_t taps);

}  // namespace mixlab::cpu
