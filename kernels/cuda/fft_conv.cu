// The causal long convolution on the device, as kernels/cpu/fft_conv.h.
// FFT path: the (B, T, C) columns are gathered into zero-padded rows of
// length n (the CPU's size rule: a power of two >= T + min(K,T) - 1), cuFFT
// transforms all rows in one batched plan, a pointwise kernel multiplies
// the spectra (conjugated for the backward's correlations) and the inverse
// rows are scattered back. dh sums the batch in the frequency domain in
// batch order per (channel, frequency): deterministic. Plans are cached per
// (device, precision, n, rows) under a lock. Scratch comes from the caching
// allocator. Never run on a GPU yet: the "fft_conv" family is gated
// (autograd/cuda_verification.cpp).
#include <cufft.h>

#include <map>
#include <mutex>
#include <tuple>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/launch.cuh"

namespace mixlab::cuda {

namespace {

#define MIXLAB_CUFFT_CHECK(call)                                                                       \
  do {                                                                                                 \
    const cufftResult status_ = (call);                                                                \
    if (status_ != CUFFT_SUCCESS)                                                                      \
      throw Error(detail::concat("cuFFT error ", static_cast<int>(status_), " in ", #call, " at ",     \
                                 __FILE__, ":", __LINE__));                                            \
  } while (0)

int64_t fft_size(int64_t time, int64_t taps) {
  const int64_t need = time + (taps < time ? taps : time) - 1;
  int64_t n = 1;
  while (n < need) n *= 2;
  return n < 2 ? 2 : n;
}

template <typename T>
struct Cufft;
template <>
struct Cufft<float> {
  using Complex = cufftComplex;
  static constexpr cufftType kForward = CUFFT_R2C, kInverse = CUFFT_C2R;
  static void forward(cufftHandle p, float* in, Complex* out) { MIXLAB_CUFFT_CHECK(cufftExecR2C(p, in, out)); }
  static void inverse(cufftHandle p, Complex* in, float* out) { MIXLAB_CUFFT_CHECK(cufftExecC2R(p, in, out)); }
};
template <>
struct Cufft<double> {
  using Complex = cufftDoubleComplex;
  static constexpr cufftType kForward = CUFFT_D2Z, kInverse = CUFFT_Z2D;
  static void forward(cufftHandle p, double* in, Complex* out) { MIXLAB_CUFFT_CHECK(cufftExecD2Z(p, in, out)); }
  static void inverse(cufftHandle p, Complex* in, double* out) { MIXLAB_CUFFT_CHECK(cufftExecZ2D(p, in, out)); }
};

// A batched plan of `rows` contiguous transforms of length n, made once.
cufftHandle plan_for(int device, cufftType type, int64_t n, int64_t rows) {
  static std::mutex lock;
  static std::map<std::tuple<int, int, int64_t, int64_t>, cufftHandle> cache;
  std::lock_guard<std::mutex> guard(lock);
  const auto key = std::make_tuple(device, static_cast<int>(type), n, rows);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  int len = static_cast<int>(n);
  cufftHandle plan;
  MIXLAB_CUFFT_CHECK(cufftPlanMany(&plan, 1, &len, nullptr, 1, 0, nullptr, 1, 0, type, static_cast<int>(rows)));
  cache.emplace(key, plan);
  return plan;
}

// Device scratch from the caching allocator, released at scope end.
struct Scratch {
  Scratch(int device, size_t bytes) : device(device) { ptr = scratch_allocate(device, bytes, &block); }
  ~Scratch() { scratch_free(device, ptr, block); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  int device;
  size_t block = 0;
  void* ptr = nullptr;
};

// rows (B*C, n): row b*C + c holds column c of batch b's (time, C) block, zero-padded.
template <typename T>
__global__ void gather_columns(const T* src, T* rows, int64_t B, int64_t time, int64_t C, int64_t n) {
  MIXLAB_GRID_STRIDE(k, B * C * n) {
    const int64_t t = k % n, row = k / n, c = row % C, b = row / C;
    rows[k] = t < time ? src[(b * time + t) * C + c] : T(0);
  }
}

// rows (C, n) from the filters (C, K): the first `used` taps, zero-padded.
template <typename T>
__global__ void gather_filters(const T* h, T* rows, int64_t C, int64_t K, int64_t used, int64_t n) {
  MIXLAB_GRID_STRIDE(k, C * n) {
    const int64_t t = k % n, c = k / n;
    rows[k] = t < used ? h[c * K + t] : T(0);
  }
}

// a[b, c, f] *= (conj ? conj(hf[c, f]) : hf[c, f]) / n
template <typename Complex, typename T>
__global__ void multiply_spectra(Complex* a, const Complex* hf, int64_t B, int64_t C, int64_t F, bool conj, T scale) {
  MIXLAB_GRID_STRIDE(k, B * C * F) {
    const int64_t f = k % F, c = (k / F) % C;
    const Complex u = a[k], w = hf[c * F + f];
    const T wi = conj ? -w.y : w.y;
    a[k].x = (u.x * w.x - u.y * wi) * scale;
    a[k].y = (u.x * wi + u.y * w.x) * scale;
  }
}

// acc[c, f] = sum_b g[b, c, f] · conj(x[b, c, f]) / n, the batch in order.
template <typename Complex, typename T>
__global__ void correlate_over_batch(const Complex* g, const Complex* x, Complex* acc, int64_t B, int64_t C, int64_t F,
                                     T scale) {
  MIXLAB_GRID_STRIDE(k, C * F) {
    T re = 0, im = 0;
    for (int64_t b = 0; b < B; ++b) {
      const Complex u = g[b * C * F + k], v = x[b * C * F + k];
      re += u.x * v.x + u.y * v.y;
      im += u.y * v.x - u.x * v.y;
    }
    acc[k].x = re * scale;
    acc[k].y = im * scale;
  }
}

// out (B, T, C) from the first T entries of rows (B*C, n).
template <typename T>
__global__ void scatter_columns(const T* rows, T* out, int64_t B, int64_t time, int64_t C, int64_t n) {
  MIXLAB_GRID_STRIDE(k, B * time * C) {
    const int64_t c = k % C, t = (k / C) % time, b = k / (C * time);
    out[k] = rows[(b * C + c) * n + t];
  }
}

// dh (C, K): the first `used` entries of rows (C, n), zero beyond.
template <typename T>
__global__ void scatter_filters(const T* rows, T* dh, int64_t C, int64_t K, int64_t used, int64_t n) {
  MIXLAB_GRID_STRIDE(k, C * K) {
    const int64_t j = k % K, c = k / K;
    dh[k] = j < used ? rows[c * n + j] : T(0);
  }
}

template <typename T>
__global__ void direct_forward_kernel(const T* x, const T* h, T* y, int64_t B, int64_t time, int64_t C, int64_t K) {
  MIXLAB_GRID_STRIDE(k, B * time * C) {
    const int64_t c = k % C, t = (k / C) % time;
    double acc = 0;
    for (int64_t s = 0; s <= t && s < K; ++s) acc += static_cast<double>(h[c * K + s]) * x[k - s * C];
    y[k] = static_cast<T>(acc);
  }
}

template <typename T>
__global__ void direct_backward_input_kernel(const T* h, const T* g, T* dx, int64_t B, int64_t time, int64_t C,
                                             int64_t K) {
  MIXLAB_GRID_STRIDE(k, B * time * C) {
    const int64_t c = k % C, s = (k / C) % time;
    double acc = 0;
    for (int64_t j = 0; s + j < time && j < K; ++j) acc += static_cast<double>(h[c * K + j]) * g[k + j * C];
    dx[k] = static_cast<T>(acc);
  }
}

// One thread per (channel, tap), batch and time in order: deterministic.
template <typename T>
__global__ void direct_backward_filter_kernel(const T* x, const T* g, T* dh, int64_t B, int64_t time, int64_t C,
                                              int64_t K) {
  MIXLAB_GRID_STRIDE(k, C * K) {
    const int64_t j = k % K, c = k / K;
    double acc = 0;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t t = j; t < time; ++t)
        acc += static_cast<double>(g[(b * time + t) * C + c]) * x[(b * time + t - j) * C + c];
    dh[k] = static_cast<T>(acc);
  }
}

// The spectra of the (B, T, C) array `src` as B*C rows into `spectra`, through `rows` (B*C, n).
template <typename T>
void column_spectra(int device, const T* src, T* rows, typename Cufft<T>::Complex* spectra, int64_t B, int64_t time,
                    int64_t C, int64_t n) {
  gather_columns<T><<<blocks_for(B * C * n), kThreads>>>(src, rows, B, time, C, n);
  check_launch("long_conv_fft: gather");
  Cufft<T>::forward(plan_for(device, Cufft<T>::kForward, n, B * C), rows, spectra);
}

template <typename T>
void filter_spectra(int device, const T* h, T* rows, typename Cufft<T>::Complex* spectra, int64_t C, int64_t K,
                    int64_t used, int64_t n) {
  gather_filters<T><<<blocks_for(C * n), kThreads>>>(h, rows, C, K, used, n);
  check_launch("long_conv_fft: gather filters");
  Cufft<T>::forward(plan_for(device, Cufft<T>::kForward, n, C), rows, spectra);
}

}  // namespace

template <typename T>
void long_conv_fft_forward(int device, const T* x, const T* h, T* y, int64_t batch, int64_t time, int64_t channels,
                           int64_t taps) {
  using Complex = typename Cufft<T>::Complex;
  const int64_t B = batch, C = channels, K = taps;
  if (B * time * C == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const int64_t n = fft_size(time, K), F = n / 2 + 1, used = K < time ? K : time;
  Scratch rows(device, sizeof(T) * B * C * n), xf(device, sizeof(Complex) * B * C * F),
      hf(device, sizeof(Complex) * C * F);
  filter_spectra(device, h, static_cast<T*>(rows.ptr), static_cast<Complex*>(hf.ptr), C, K, used, n);
  column_spectra(device, x, static_cast<T*>(rows.ptr), static_cast<Complex*>(xf.ptr), B, time, C, n);
  multiply_spectra<Complex, T><<<blocks_for(B * C * F), kThreads>>>(static_cast<Complex*>(xf.ptr),
                                                                    static_cast<const Complex*>(hf.ptr), B, C, F,
                                                                    false, T(1) / T(n));
  check_launch("long_conv_fft_forward: multiply");
  Cufft<T>::inverse(plan_for(device, Cufft<T>::kInverse, n, B * C), static_cast<Complex*>(xf.ptr),
                    static_cast<T*>(rows.ptr));
  scatter_columns<T><<<blocks_for(B * time * C), kThreads>>>(static_cast<const T*>(rows.ptr), y, B, time, C, n);
  check_launch("long_conv_fft_forward: scatter");
}

template <typename T>
void long_conv_fft_backward(int device, const T* x, const T* h, const T* g, T* dx, T* dh, int64_t batch, int64_t time,
                            int64_t channels, int64_t taps) {
  using Complex = typename Cufft<T>::Complex;
  const int64_t B = batch, C = channels, K = taps;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (dh) MIXLAB_CUDA_CHECK(cudaMemset(dh, 0, sizeof(T) * C * K));
  if (B * time * C == 0 || (!dx && !dh)) return;
  const int64_t n = fft_size(time, K), F = n / 2 + 1, used = K < time ? K : time;
  Scratch rows(device, sizeof(T) * B * C * n), gf(device, sizeof(Complex) * B * C * F),
      other(device, sizeof(Complex) * B * C * F);
  Complex* gspec = static_cast<Complex*>(gf.ptr);
  Complex* ospec = static_cast<Complex*>(other.ptr);
  T* rp = static_cast<T*>(rows.ptr);
  column_spectra(device, g, rp, gspec, B, time, C, n);
  if (dh) {
    // dh[c, j] = sum_b sum_t g[b,t,c] x[b,t-j,c]: the inverse of sum_b G conj(X).
    column_spectra(device, x, rp, ospec, B, time, C, n);
    Scratch acc(device, sizeof(Complex) * C * F);
    correlate_over_batch<Complex, T><<<blocks_for(C * F), kThreads>>>(gspec, ospec, static_cast<Complex*>(acc.ptr),
                                                                      B, C, F, T(1) / T(n));
    check_launch("long_conv_fft_backward: correlate");
    Cufft<T>::inverse(plan_for(device, Cufft<T>::kInverse, n, C), static_cast<Complex*>(acc.ptr), rp);
    scatter_filters<T><<<blocks_for(C * K), kThreads>>>(rp, dh, C, K, used, n);
    check_launch("long_conv_fft_backward: scatter filters");
  }
  if (dx) {
    // dx[b, s, c] = sum_j h[c, j] g[b, s+j, c]: the inverse of G conj(H).
    filter_spectra(device, h, rp, ospec, C, K, used, n);
    multiply_spectra<Complex, T><<<blocks_for(B * C * F), kThreads>>>(gspec, ospec, B, C, F, true, T(1) / T(n));
    check_launch("long_conv_fft_backward: multiply");
    Cufft<T>::inverse(plan_for(device, Cufft<T>::kInverse, n, B * C), gspec, rp);
    scatter_columns<T><<<blocks_for(B * time * C), kThreads>>>(rp, dx, B, time, C, n);
    check_launch("long_conv_fft_backward: scatter");
  }
}

template <typename T>
void long_conv_direct_forward(int device, const T* x, const T* h, T* y, int64_t batch, int64_t time, int64_t channels,
                              int64_t taps) {
  if (batch * time * channels == 0) return;
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  direct_forward_kernel<T><<<blocks_for(batch * time * channels), kThreads>>>(x, h, y, batch, time, channels, taps);
  check_launch("long_conv_direct_forward");
}

template <typename T>
void long_conv_direct_backward(int device, const T* x, const T* h, const T* g, T* dx, T* dh, int64_t batch,
                               int64_t time, int64_t channels, int64_t taps) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  if (batch * time * channels == 0) {
    if (dh) MIXLAB_CUDA_CHECK(cudaMemset(dh, 0, sizeof(T) * channels * taps));
    return;
  }
  if (dx)
    direct_backward_input_kernel<T><<<blocks_for(batch * time * channels), kThreads>>>(h, g, dx, batch, time,
                                                                                      channels, taps);
  if (dh)
    direct_backward_filter_kernel<T><<<blocks_for(channels * taps), kThreads>>>(x, g, dh, batch, time, channels,
                                                                                taps);
  check_launch("long_conv_direct_backward");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/fft_conv.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
