#pragma once
// Kernels for the ops that run along the sequence axis (cumsum, causal depthwise
// conv1d) over contiguous host buffers. Results do not depend on the OpenMP
// thread count: each output element is computed by one thread, and reductions
// over batch and time (dweight, dbias) run serially in a fixed order.
#include <cstdint>

namespace mixlab::cpu {

// x (outer, n, inner) -> y (outer, n, inner): inclusive cumulative sum along n,
// from the end when `reverse`; accumulated in double.
template <typename T>
void cumsum(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse);

// x (batch, time, channels), weight (channels, taps), bias (channels) or null
// -> out (batch, time, channels):
// out[b,t,c] = bias[c] + sum_j weight[c,j] * x[b, t-taps+1+j, c], x zero before t = 0.
template <typename T>
void causal_conv1d_forward(const T* x, const T* weight, const T* bias, T* out, int64_t batch, int64_t time,
                           int64_t channels, int64_t taps);
// x, g (batch, time, channels), weight (channels, taps) -> dx (batch, time, channels),
// dweight (channels, taps), dbias (channels); pass null for an output not wanted
// (x may be null without dweight, weight null without dx).
template <typename T>
void causal_conv1d_backward(const T* x, const T* weight, const T* g, T* dx, T* dweight, T* dbias, int64_t batch,
                            int64_t time, int64_t channels, int64_t taps);

}  // namespace mixlab::cpu
