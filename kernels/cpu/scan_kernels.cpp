#include "kernels/cpu/scan_kernels.h"

#include <algorithm>

namespace mixlab::cpu {

namespace {

// Below this many elements an OpenMP fork costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
// Columns (inner elements or channels) handled together: rows are read as
// contiguous runs of this many elements while each column keeps its own
// double accumulator on the stack.
constexpr int64_t kColumnBlock = 16;
// Conv taps whose weight gradients one pass accumulates (bounds the stack
// accumulators; kernels with more taps take several passes).
constexpr int64_t kTapChunk = 8;

}  // namespace

template <typename T>
void cumsum(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  const int64_t blocks = (inner + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for if (outer * n * inner > kParallelMin)
  for (int64_t task = 0; task < outer * blocks; ++task) {
    const int64_t o = task / blocks, j0 = (task % blocks) * kColumnBlock;
    const int64_t width = std::min(kColumnBlock, inner - j0);
    double acc[kColumnBlock] = {};
    for (int64_t step = 0; step < n; ++step) {
      const int64_t k = reverse ? n - 1 - step : step;
      const int64_t at = (o * n + k) * inner + j0;
      for (int64_t j = 0; j < width; ++j) {
        acc[j] += x[at + j];
        y[at + j] = static_cast<T>(acc[j]);
      }
    }
  }
}

template <typename T>
void causal_conv1d_forward(const T* x, const T* weight, const T* bias, T* out, int64_t batch, int64_t time,
                           int64_t channels, int64_t taps) {
  const int64_t C = channels, K = taps;
#pragma omp parallel for if (batch * time * C * K > kParallelMin)
  for (int64_t row = 0; row < batch * time; ++row) {
    const int64_t b = row / time, t = row % time;
    T* o = out + row * C;
    for (int64_t c = 0; c < C; ++c) o[c] = bias ? bias[c] : T(0);
    // Tap j reads time t-K+1+j; taps that reach before t = 0 see zero padding.
    for (int64_t j = std::max<int64_t>(0, K - 1 - t); j < K; ++j) {
      const T* xs = x + (b * time + t - K + 1 + j) * C;
      for (int64_t c = 0; c < C; ++c) o[c] += weight[c * K + j] * xs[c];
    }
  }
}

template <typename T>
void causal_conv1d_backward(const T* x, const T* weight, const T* g, T* dx, T* dweight, T* dbias, int64_t batch,
                            int64_t time, int64_t channels, int64_t taps) {
  const int64_t C = channels, K = taps;
  if (dx) {
    // Input s feeds outputs t = s+K-1-j for each tap j (those before t = time).
#pragma omp parallel for if (batch * time * C * K > kParallelMin)
    for (int64_t row = 0; row < batch * time; ++row) {
      const int64_t b = row / time, s = row % time;
      T* d = dx + row * C;
      std::fill(d, d + C, T(0));
      for (int64_t j = std::max<int64_t>(0, s + K - time); j < K; ++j) {
        const T* gt = g + (b * time + s + K - 1 - j) * C;
        for (int64_t c = 0; c < C; ++c) d[c] += weight[c * K + j] * gt[c];
      }
    }
  }
  if (!dweight && !dbias) return;
  // Reductions over (batch, time): one task per (channel block, tap chunk), each
  // summing serially in (b, t) order, so the result is thread-count independent.
  const int64_t cblocks = (C + kColumnBlock - 1) / kColumnBlock;
  const int64_t tchunks = (K + kTapChunk - 1) / kTapChunk;
#pragma omp parallel for if (batch * time * C * K > kParallelMin)
  for (int64_t task = 0; task < cblocks * tchunks; ++task) {
    const int64_t c0 = (task / tchunks) * kColumnBlock, j0 = (task % tchunks) * kTapChunk;
    const int64_t cw = std::min(kColumnBlock, C - c0), jw = std::min(kTapChunk, K - j0);
    const bool with_bias = dbias && j0 == 0;
    double acc_w[kColumnBlock][kTapChunk] = {}, acc_b[kColumnBlock] = {};
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t t = 0; t < time; ++t) {
        const T* gt = g + (b * time + t) * C + c0;
        if (dweight) {
          for (int64_t jj = 0; jj < jw; ++jj) {
            const int64_t s = t - K + 1 + j0 + jj;
            if (s < 0) continue;
            const T* xs = x + (b * time + s) * C + c0;
            for (int64_t c = 0; c < cw; ++c) acc_w[c][jj] += static_cast<double>(gt[c]) * xs[c];
          }
        }
        if (with_bias)
          for (int64_t c = 0; c < cw; ++c) acc_b[c] += gt[c];
      }
    }
    for (int64_t c = 0; c < cw; ++c) {
      if (dweight)
        for (int64_t jj = 0; jj < jw; ++jj) dweight[(c0 + c) * K + j0 + jj] = static_cast<T>(acc_w[c][jj]);
      if (with_bias) dbias[c0 + c] = static_cast<T>(acc_b[c]);
    }
  }
}

#define MIXLAB_SCAN_KERNELS(T)                                                                               \
  template void cumsum<T>(const T*, T*, int64_t, int64_t, int64_t, bool);                                 \
  template void causal_conv1d_forward<T>(const T*, const T*, const T*, T*, int64_t, int64_t, int64_t,     \
                                         int64_t);                                                        \
  template void causal_conv1d_backward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t,     \
                                          int64_t, int64_t);

MIXLAB_SCAN_KERNELS(float)
MIXLAB_SCAN_KERNELS(double)
#undef MIXLAB_SCAN_KERNELS

}  // namespace mixlab::cpu
