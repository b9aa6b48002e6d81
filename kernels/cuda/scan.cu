// Sequence-axis kernels on the device, as kernels/cpu/scan_kernels.h: the
// cumulative sum (one thread per (outer, inner) column, in double, in order)
// and the causal depthwise conv1d with its backward. The weight and bias
// gradients sum over (batch, time) serially per (channel, tap), so they are
// deterministic.
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

namespace {

template <typename T>
__global__ void cumsum_kernel(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  MIXLAB_GRID_STRIDE(col, outer * inner) {
    const int64_t o = col / inner, i = col % inner;
    double acc = 0;
    for (int64_t step = 0; step < n; ++step) {
      const int64_t at = (o * n + (reverse ? n - 1 - step : step)) * inner + i;
      acc += x[at];
      y[at] = static_cast<T>(acc);
    }
  }
}

// out[b,t,c] = bias[c] + sum_j weight[c,j] * x[b, t-K+1+j, c], zero before t = 0.
template <typename T>
__global__ void conv_forward_kernel(const T* x, const T* weight, const T* bias, T* out, int64_t B, int64_t T_, int64_t C,
                                    int64_t K) {
  MIXLAB_GRID_STRIDE(k, B * T_ * C) {
    const int64_t c = k % C, t = (k / C) % T_, b = k / (C * T_);
    T acc = bias ? bias[c] : T(0);
    for (int64_t j = K - 1 - t > 0 ? K - 1 - t : 0; j < K; ++j) acc += weight[c * K + j] * x[(b * T_ + t - K + 1 + j) * C + c];
    out[k] = acc;
  }
}

// Input s feeds outputs t = s+K-1-j for each tap j (those before t = T).
template <typename T>
__global__ void conv_backward_input_kernel(const T* weight, const T* g, T* dx, int64_t B, int64_t T_, int64_t C,
                                           int64_t K) {
  MIXLAB_GRID_STRIDE(k, B * T_ * C) {
    const int64_t c = k % C, s = (k / C) % T_, b = k / (C * T_);
    T acc = T(0);
    for (int64_t j = s + K - T_ > 0 ? s + K - T_ : 0; j < K; ++j) acc += weight[c * K + j] * g[(b * T_ + s + K - 1 - j) * C + c];
    dx[k] = acc;
  }
}

// One thread per (channel, tap); tap -1 stands for the bias.
template <typename T>
__global__ void conv_backward_params_kernel(const T* x, const T* g, T* dweight, T* dbias, int64_t B, int64_t T_,
                                            int64_t C, int64_t K) {
  MIXLAB_GRID_STRIDE(k, C * (K + 1)) {
    const int64_t c = k / (K + 1), j = k % (K + 1) - 1;
    if (j < 0 ? !dbias : !dweight) continue;
    double acc = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = 0; t < T_; ++t) {
        const double gv = g[(b * T_ + t) * C + c];
        if (j < 0) {
          acc += gv;
        } else {
          const int64_t s = t - K + 1 + j;
          if (s >= 0) acc += gv * static_cast<double>(x[(b * T_ + s) * C + c]);
        }
      }
    if (j < 0)
      dbias[c] = static_cast<T>(acc);
    else
      dweight[c * K + j] = static_cast<T>(acc);
  }
}

}  // namespace

template <typename T>
void cumsum(int device, const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse) {
  if (outer * n * inner == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  cumsum_kernel<T><<<blocks_for(outer * inner), kThreads>>>(x, y, outer, n, inner, reverse);
  check_launch("cumsum");
}

template <typename T>
void causal_conv1d_forward(int device, const T* x, const T* weight, const T* bias, T* out, int64_t batch,
                           int64_t time, int64_t channels, int64_t taps) {
  if (batch * time * channels == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  conv_forward_kernel<T><<<blocks_for(batch * time * channels), kThreads>>>(x, weight, bias, out, batch, time,
                                                                           channels, taps);
  check_launch("causal_conv1d_forward");
}

template <typename T>
void causal_conv1d_backward(int device, const T* x, const T* weight, const T* g, T* dx, T* dweight, T* dbias,
                            int64_t batch, int64_t time, int64_t channels, int64_t taps) {
  if (batch * time * channels == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (dx)
    conv_backward_input_kernel<T><<<blocks_for(batch * time * channels), kThreads>>>(weight, g, dx, batch, time,
                                                                                    channels, taps);
  if (dweight || dbias)
    conv_backward_params_kernel<T><<<blocks_for(channels * (taps + 1)), kThreads>>>(x, g, dweight, dbias, batch,
                                                                                   time, channels, taps);
  check_launch("causal_conv1d_backward");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/scan.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
