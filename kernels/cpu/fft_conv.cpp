// FFTW-backed causal long convolution and its direct counterpart
// (contract in fft_conv.h). FFTW's planner is not thread-safe, so plans are
// made once per (precision, length) under a lock and kept for the process;
// executing a plan on other (equally aligned) arrays is thread-safe, so each
// OpenMP thread runs the shared plans on buffers of its own.
#include "kernels/cpu/fft_conv.h"

#include <fftw3.h>

#include <algorithm>
#include <complex>
#include <map>
#include <mutex>
#include <vector>

namespace mixlab::cpu {

namespace {

// Below this many multiply-adds an OpenMP fork costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;

// FFTW's double ("fftw_") and float ("fftwf_") interfaces behind one name.
template <typename T>
struct Fftw;

template <>
struct Fftw<double> {
  using Plan = fftw_plan;
  static double* real(int64_t n) { return fftw_alloc_real(n); }
  static std::complex<double>* complex(int64_t n) {
    return reinterpret_cast<std::complex<double>*>(fftw_alloc_complex(n));
  }
  static void release(void* p) { fftw_free(p); }
  static Plan forward_plan(int n, double* in, std::complex<double>* out) {
    return fftw_plan_dft_r2c_1d(n, in, reinterpret_cast<fftw_complex*>(out), FFTW_ESTIMATE);
  }
  static Plan inverse_plan(int n, std::complex<double>* in, double* out) {
    return fftw_plan_dft_c2r_1d(n, reinterpret_cast<fftw_complex*>(in), out, FFTW_ESTIMATE);
  }
  static void forward(Plan p, double* in, std::complex<double>* out) {
    fftw_execute_dft_r2c(p, in, reinterpret_cast<fftw_complex*>(out));
  }
  static void inverse(Plan p, std::complex<double>* in, double* out) {
    fftw_execute_dft_c2r(p, reinterpret_cast<fftw_complex*>(in), out);
  }
};

template <>
struct Fftw<float> {
  using Plan = fftwf_plan;
  static float* real(int64_t n) { return fftwf_alloc_real(n); }
  static std::complex<float>* complex(int64_t n) {
    return reinterpret_cast<std::complex<float>*>(fftwf_alloc_complex(n));
  }
  static void release(void* p) { fftwf_free(p); }
  static Plan forward_plan(int n, float* in, std::complex<float>* out) {
    return fftwf_plan_dft_r2c_1d(n, in, reinterpret_cast<fftwf_complex*>(out), FFTW_ESTIMATE);
  }
  static Plan inverse_plan(int n, std::complex<float>* in, float* out) {
    return fftwf_plan_dft_c2r_1d(n, reinterpret_cast<fftwf_complex*>(in), out, FFTW_ESTIMATE);
  }
  static void forward(Plan p, float* in, std::complex<float>* out) {
    fftwf_execute_dft_r2c(p, in, reinterpret_cast<fftwf_complex*>(out));
  }
  static void inverse(Plan p, std::complex<float>* in, float* out) {
    fftwf_execute_dft_c2r(p, reinterpret_cast<fftwf_complex*>(in), out);
  }
};

// One lock for both precisions: FFTW's planners share global state.
std::mutex& planner_lock() {
  static std::mutex lock;
  return lock;
}

template <typename T>
struct PlanPair {
  typename Fftw<T>::Plan forward, inverse;
};

// The real-to-complex and complex-to-real plans of length n, made on first
// use (FFTW_ESTIMATE: planning does not touch the arrays, so buffers
// allocated once for planning serve as the alignment template) and cached.
template <typename T>
PlanPair<T> plans_for(int64_t n) {
  std::lock_guard<std::mutex> guard(planner_lock());
  static std::map<int64_t, PlanPair<T>> cache;
  auto it = cache.find(n);
  if (it != cache.end()) return it->second;
  T* re = Fftw<T>::real(n);
  std::complex<T>* spectrum = Fftw<T>::complex(n / 2 + 1);
  PlanPair<T> plans{Fftw<T>::forward_plan(static_cast<int>(n), re, spectrum),
                    Fftw<T>::inverse_plan(static_cast<int>(n), spectrum, re)};
  Fftw<T>::release(re);
  Fftw<T>::release(spectrum);
  cache.emplace(n, plans);
  return plans;
}

// One thread's transform buffers (FFTW-aligned, like the planning ones).
template <typename T>
struct Scratch {
  explicit Scratch(int64_t n) : re(Fftw<T>::real(n)), a(Fftw<T>::complex(n / 2 + 1)), b(Fftw<T>::complex(n / 2 + 1)) {}
  ~Scratch() {
    Fftw<T>::release(re);
    Fftw<T>::release(a);
    Fftw<T>::release(b);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  T* re;
  std::complex<T>*a, *b;
};

// The spectrum of column c of a (rows, stride) array, its first `rows` rows
// zero-padded to n.
template <typename T>
void column_spectrum(const PlanPair<T>& plans, const T* src, int64_t rows, int64_t stride, int64_t n, T* re,
                     std::complex<T>* out) {
  for (int64_t t = 0; t < rows; ++t) re[t] = src[t * stride];
  std::fill(re + rows, re + n, T(0));
  Fftw<T>::forward(plans.forward, re, out);
}

// The spectra of every channel's first `used` taps, scaled by 1/n (FFTW's
// inverse is unnormalised): (C, n/2+1).
template <typename T>
std::vector<std::complex<T>> filter_spectra(const PlanPair<T>& plans, const T* h, int64_t C, int64_t K, int64_t used,
                                            int64_t n) {
  const int64_t F = n / 2 + 1;
  std::vector<std::complex<T>> spectra(C * F);
#pragma omp parallel if (C * n > kParallelMin)
  {
    Scratch<T> s(n);
#pragma omp for
    for (int64_t c = 0; c < C; ++c) {
      column_spectrum(plans, h + c * K, used, 1, n, s.re, s.a);
      for (int64_t f = 0; f < F; ++f) spectra[c * F + f] = s.a[f] / T(n);
    }
  }
  return spectra;
}

// The first `used` taps tap-major, (used, C): the direct loops then read
// every channel's tap s as one contiguous row.
template <typename T>
std::vector<T> taps_by_row(const T* h, int64_t C, int64_t K, int64_t used) {
  std::vector<T> rows(used * C);
  for (int64_t c = 0; c < C; ++c)
    for (int64_t s = 0; s < used; ++s) rows[s * C + c] = h[c * K + s];
  return rows;
}

}  // namespace

int64_t fft_conv_size(int64_t time, int64_t taps) {
  const int64_t need = time + std::min(taps, time) - 1;
  int64_t n = 1;
  while (n < need) n *= 2;
  return std::max<int64_t>(n, 2);
}

template <typename T>
void long_conv_fft_forward(const T* x, const T* h, T* y, int64_t batch, int64_t time, int64_t channels, int64_t taps) {
  const int64_t B = batch, Tn = time, C = channels, K = taps;
  if (B * Tn * C == 0) return;
  const int64_t n = fft_conv_size(Tn, K), F = n / 2 + 1, used = std::min(K, Tn);
  const PlanPair<T> plans = plans_for<T>(n);
  const std::vector<std::complex<T>> hf = filter_spectra(plans, h, C, K, used, n);
#pragma omp parallel if (B * C * n > kParallelMin)
  {
    Scratch<T> s(n);
#pragma omp for
    for (int64_t task = 0; task < B * C; ++task) {
      const int64_t b = task / C, c = task % C;
      column_spectrum(plans, x + b * Tn * C + c, Tn, C, n, s.re, s.a);
      for (int64_t f = 0; f < F; ++f) s.a[f] *= hf[c * F + f];
      Fftw<T>::inverse(plans.inverse, s.a, s.re);
      for (int64_t t = 0; t < Tn; ++t) y[(b * Tn + t) * C + c] = s.re[t];
    }
  }
}

template <typename T>
void long_conv_fft_backward(const T* x, const T* h, const T* g, T* dx, T* dh, int64_t batch, int64_t time,
                            int64_t channels, int64_t taps) {
  const int64_t B = batch, Tn = time, C = channels, K = taps;
  if (dh) std::fill(dh, dh + C * K, T(0));
  if (B * Tn * C == 0 || (!dx && !dh)) return;
  const int64_t n = fft_conv_size(Tn, K), F = n / 2 + 1, used = std::min(K, Tn);
  const PlanPair<T> plans = plans_for<T>(n);
  const std::vector<std::complex<T>> hf = dx ? filter_spectra(plans, h, C, K, used, n) : std::vector<std::complex<T>>();
  // One channel per task, the batch in order inside it: dh's sum over the
  // batch is accumulated in the frequency domain in a fixed order.
#pragma omp parallel if (B * C * n > kParallelMin)
  {
    Scratch<T> s(n);
    std::vector<std::complex<T>> acc(dh ? F : 0);
#pragma omp for
    for (int64_t c = 0; c < C; ++c) {
      std::fill(acc.begin(), acc.end(), std::complex<T>(0));
      for (int64_t b = 0; b < B; ++b) {
        column_spectrum(plans, g + b * Tn * C + c, Tn, C, n, s.re, s.a);  // G
        if (dh) {
          column_spectrum(plans, x + b * Tn * C + c, Tn, C, n, s.re, s.b);  // X
          for (int64_t f = 0; f < F; ++f) acc[f] += s.a[f] * std::conj(s.b[f]);
        }
        if (dx) {
          // dx[s] = sum_j h[j] g[s+j]: the circular correlation, exact for
          // s < T because g is zero from T to n > T + used - 2.
          for (int64_t f = 0; f < F; ++f) s.a[f] *= std::conj(hf[c * F + f]);
          Fftw<T>::inverse(plans.inverse, s.a, s.re);
          for (int64_t t = 0; t < Tn; ++t) dx[(b * Tn + t) * C + c] = s.re[t];
        }
      }
      if (dh) {
        // dh[j] = sum_t g[t] x[t-j]; for j < used the wrapped indices t-j+n
        // land where x is zero-padded.
        for (int64_t f = 0; f < F; ++f) s.a[f] = acc[f] / T(n);
        Fftw<T>::inverse(plans.inverse, s.a, s.re);
        for (int64_t j = 0; j < used; ++j) dh[c * K + j] = s.re[j];
      }
    }
  }
}

template <typename T>
void long_conv_direct_forward(const T* x, const T* h, T* y, int64_t batch, int64_t time, int64_t channels,
                              int64_t taps) {
  const int64_t Tn = time, C = channels, K = taps;
  const std::vector<T> hr = taps_by_row(h, C, K, std::min(K, Tn));
#pragma omp parallel if (batch * Tn * C * std::min(K, Tn) > kParallelMin)
  {
    std::vector<double> acc(C);
#pragma omp for
    for (int64_t row = 0; row < batch * Tn; ++row) {
      const int64_t t = row % Tn;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t s = 0; s <= std::min(t, K - 1); ++s) {
        const T *xs = x + (row - s) * C, *hs = hr.data() + s * C;
        for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<double>(hs[c]) * xs[c];
      }
      for (int64_t c = 0; c < C; ++c) y[row * C + c] = static_cast<T>(acc[c]);
    }
  }
}

template <typename T>
void long_conv_direct_backward(const T* x, const T* h, const T* g, T* dx, T* dh, int64_t batch, int64_t time,
                               int64_t channels, int64_t taps) {
  const int64_t B = batch, Tn = time, C = channels, K = taps;
  const bool big = B * Tn * C * std::min(K, Tn) > kParallelMin;
  if (dx) {
    const std::vector<T> hr = taps_by_row(h, C, K, std::min(K, Tn));
#pragma omp parallel if (big)
    {
      std::vector<double> acc(C);
#pragma omp for
      for (int64_t row = 0; row < B * Tn; ++row) {
        const int64_t s = row % Tn;
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t j = 0; j <= std::min(Tn - 1 - s, K - 1); ++j) {
          const T *gs = g + (row + j) * C, *hj = hr.data() + j * C;
          for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<double>(hj[c]) * gs[c];
        }
        for (int64_t c = 0; c < C; ++c) dx[row * C + c] = static_cast<T>(acc[c]);
      }
    }
  }
  if (dh) {
    std::fill(dh, dh + C * K, T(0));
    // One tap per task, the batch and time in order inside it: deterministic.
#pragma omp parallel if (big)
    {
      std::vector<double> acc(C);
#pragma omp for
      for (int64_t j = 0; j < std::min(K, Tn); ++j) {
        std::fill(acc.begin(), acc.end(), 0.0);
        for (int64_t b = 0; b < B; ++b)
          for (int64_t t = j; t < Tn; ++t) {
            const T* gs = g + (b * Tn + t) * C;
            const T* xs = x + (b * Tn + t - j) * C;
            for (int64_t c = 0; c < C; ++c) acc[c] += static_cast<double>(gs[c]) * xs[c];
          }
        for (int64_t c = 0; c < C; ++c) dh[c * K + j] = static_cast<T>(acc[c]);
      }
    }
  }
}

#define MIXLAB_INSTANTIATE_LONG_CONV(T)                                                                           \
  template void long_conv_fft_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, int64_t);             \
  template void long_conv_fft_backward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t, int64_t, int64_t); \
  template void long_conv_direct_forward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, int64_t);          \
  template void long_conv_direct_backward<T>(const T*, const T*, const T*, T*, T*, int64_t, int64_t, int64_t,     \
                                             int64_t);
MIXLAB_INSTANTIATE_LONG_CONV(float)
MIXLAB_INSTANTIATE_LONG_CONV(double)
#undef MIXLAB_INSTANTIATE_LONG_CONV

}  // namespace mixlab::cpu
