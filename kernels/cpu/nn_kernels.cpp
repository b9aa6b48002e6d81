#include "kernels/cpu/nn_kernels.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "kernels/cpu/vector_math.h"
#include "kernels/philox.h"

namespace mixlab::cpu {

namespace {

// Below this many elements an OpenMP fork costs more than it saves.
constexpr int64_t kParallelMin = 1 << 15;
// Columns per block in the reductions over rows (dweight, dbias): a block's sums
// run serially over rows in row order, so they do not depend on the thread
// count, while each row read stays a contiguous run of the block's columns.
constexpr int64_t kColumnBlock = 16;

// Column sums over rows, deterministic: dweight[c] += g[r,c] * xhat(r,c) and
// dbias[c] += g[r,c], where xhat(r,c) = (x[r,c] - mean[r]) * rstd[r] (mean null
// for RMS norm). Either output may be null.
template <typename T>
void norm_param_grads(const T* x, const T* mean, const T* rstd, const T* g, T* dweight, T* dbias, int64_t R,
                      int64_t C) {
  if (!dweight && !dbias) return;
  const int64_t blocks = (C + kColumnBlock - 1) / kColumnBlock;
#pragma omp parallel for if (R * C > kParallelMin)
  for (int64_t blk = 0; blk < blocks; ++blk) {
    const int64_t c0 = blk * kColumnBlock, width = std::min(kColumnBlock, C - c0);
    double acc_w[kColumnBlock] = {}, acc_b[kColumnBlock] = {};
    for (int64_t r = 0; r < R; ++r) {
      const T* xr = x + r * C + c0;
      const T* gr = g + r * C + c0;
      const double mu = mean ? static_cast<double>(mean[r]) : 0.0, rs = rstd[r];
      for (int64_t j = 0; j < width; ++j) {
        acc_w[j] += static_cast<double>(gr[j]) * ((static_cast<double>(xr[j]) - mu) * rs);
        acc_b[j] += static_cast<double>(gr[j]);
      }
    }
    for (int64_t j = 0; j < width; ++j) {
      if (dweight) dweight[c0 + j] = static_cast<T>(acc_w[j]);
      if (dbias) dbias[c0 + j] = static_cast<T>(acc_b[j]);
    }
  }
}

// Shared by layer norm (center: subtract the mean) and RMS norm (no centering,
// so the "variance" is mean(x^2) and no mean is stored).
template <typename T>
void norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t R, int64_t C,
                  double eps, bool center) {
#pragma omp parallel for if (R * C > kParallelMin)
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = x + r * C;
    T* yr = y + r * C;
    double mu = 0;
    if (center) {
      for (int64_t c = 0; c < C; ++c) mu += xr[c];
      mu /= static_cast<double>(C);
    }
    // Two passes (mean, then squared deviations) avoid the cancellation of E[x^2] - E[x]^2.
    double var = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double d = static_cast<double>(xr[c]) - mu;
      var += d * d;
    }
    var /= static_cast<double>(C);
    const double rs = 1.0 / std::sqrt(var + eps);
    if (mean) mean[r] = static_cast<T>(mu);
    rstd[r] = static_cast<T>(rs);
    const T mu_t = static_cast<T>(mu), rs_t = static_cast<T>(rs);
    for (int64_t c = 0; c < C; ++c) {
      T v = (xr[c] - mu_t) * rs_t;
      if (weight) v *= weight[c];
      if (bias) v += bias[c];
      yr[c] = v;
    }
  }
}

// dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)) with dxhat = g * weight;
// RMS norm drops the mean(dxhat) term because its forward does not subtract the mean.
template <typename T>
void norm_backward_input(const T* x, const T* weight, const T* mean, const T* rstd, const T* g, T* dx, int64_t R,
                         int64_t C) {
#pragma omp parallel for if (R * C > kParallelMin)
  for (int64_t r = 0; r < R; ++r) {
    const T* xr = x + r * C;
    const T* gr = g + r * C;
    T* dxr = dx + r * C;
    const double mu = mean ? static_cast<double>(mean[r]) : 0.0, rs = rstd[r];
    double sum_dxhat = 0, sum_dxhat_xhat = 0;
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (static_cast<double>(xr[c]) - mu) * rs;
      const double dxhat = static_cast<double>(gr[c]) * (weight ? static_cast<double>(weight[c]) : 1.0);
      sum_dxhat += dxhat;
      sum_dxhat_xhat += dxhat * xhat;
    }
    const double a = mean ? sum_dxhat / static_cast<double>(C) : 0.0;
    const double b = sum_dxhat_xhat / static_cast<double>(C);
    for (int64_t c = 0; c < C; ++c) {
      const double xhat = (static_cast<double>(xr[c]) - mu) * rs;
      const double dxhat = static_cast<double>(gr[c]) * (weight ? static_cast<double>(weight[c]) : 1.0);
      dxr[c] = static_cast<T>(rs * (dxhat - a - xhat * b));
    }
  }
}

}  // namespace

// ---- softmax / log-softmax --------------------------------------------------

template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log) {
  // One "line" is the n elements (stride inner) that one softmax normalises.
  const int64_t lines = outer * inner;
#pragma omp parallel for if (lines * n > kParallelMin)
  for (int64_t line = 0; line < lines; ++line) {
    const int64_t base = (line / inner) * n * inner + line % inner;
    const T* xl = x + base;
    T* yl = y + base;
    if (inner == 1) {  // contiguous rows (the common case): vectorised
      const T mx = vec::max(xl, n);
      const double sum = vec::sum_exp(xl, n, mx);
      if (log) {
        const T shift = mx + static_cast<T>(std::log(sum));
        for (int64_t k = 0; k < n; ++k) yl[k] = xl[k] - shift;
      } else {
        vec::scaled_exp(xl, n, mx, static_cast<T>(1.0 / sum), yl);
      }
      continue;
    }
    // Subtracting the max keeps exp() from overflowing.
    T mx = -std::numeric_limits<T>::infinity();
    for (int64_t k = 0; k < n; ++k) mx = std::max(mx, xl[k * inner]);
    double sum = 0;
    if (log) {
      for (int64_t k = 0; k < n; ++k) sum += std::exp(xl[k * inner] - mx);
      const T log_sum = static_cast<T>(std::log(sum));
      for (int64_t k = 0; k < n; ++k) yl[k * inner] = (xl[k * inner] - mx) - log_sum;
    } else {
      for (int64_t k = 0; k < n; ++k) {
        const T e = std::exp(xl[k * inner] - mx);
        yl[k * inner] = e;
        sum += e;
      }
      const T inv = static_cast<T>(1.0 / sum);
      for (int64_t k = 0; k < n; ++k) yl[k * inner] *= inv;
    }
  }
}

template <typename T>
void softmax_backward(const T* y, const T* g, T* dx, int64_t outer, int64_t n, int64_t inner, bool log) {
  const int64_t lines = outer * inner;
#pragma omp parallel for if (lines * n > kParallelMin)
  for (int64_t line = 0; line < lines; ++line) {
    const int64_t base = (line / inner) * n * inner + line % inner;
    const T* yl = y + base;
    const T* gl = g + base;
    T* dl = dx + base;
    double s = 0;
    if (log) {
      // d log_softmax: dx = g - softmax * sum(g), softmax = exp(y).
      for (int64_t k = 0; k < n; ++k) s += gl[k * inner];
      const T st = static_cast<T>(s);
      for (int64_t k = 0; k < n; ++k) dl[k * inner] = gl[k * inner] - std::exp(yl[k * inner]) * st;
    } else {
      // d softmax: dx = y * (g - <g, y>).
      for (int64_t k = 0; k < n; ++k) s += static_cast<double>(gl[k * inner]) * yl[k * inner];
      const T st = static_cast<T>(s);
      for (int64_t k = 0; k < n; ++k) dl[k * inner] = yl[k * inner] * (gl[k * inner] - st);
    }
  }
}

// ---- cross-entropy ----------------------------------------------------------

int64_t cross_entropy_invalid_row(const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index) {
  for (int64_t i = 0; i < N; ++i)
    if (targets[i] != ignore_index && (targets[i] < 0 || targets[i] >= V)) return i;
  return -1;
}

template <typename T>
CrossEntropyTotals cross_entropy_forward(const T* logits, const int64_t* targets, double* lse, int64_t N, int64_t V,
                                         int64_t ignore_index) {
#pragma omp parallel for if (N * V > kParallelMin)
  for (int64_t i = 0; i < N; ++i) {
    if (targets[i] == ignore_index) {
      lse[i] = 0;
      continue;
    }
    const T* row = logits + i * V;
    const T mx = vec::max(row, V);
    lse[i] = static_cast<double>(mx) + std::log(vec::sum_exp(row, V, mx));
  }
  // Serial in row order: the mean is bit-identical for any thread count.
  CrossEntropyTotals totals;
  for (int64_t i = 0; i < N; ++i) {
    if (targets[i] == ignore_index) continue;
    totals.loss_sum += lse[i] - static_cast<double>(logits[i * V + targets[i]]);
    ++totals.count;
  }
  return totals;
}

template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* targets, const double* lse, double scale, T* dlogits,
                            int64_t N, int64_t V, int64_t ignore_index) {
#pragma omp parallel for if (N * V > kParallelMin)
  for (int64_t i = 0; i < N; ++i) {
    T* d = dlogits + i * V;
    if (targets[i] == ignore_index) {
      std::fill(d, d + V, T(0));
      continue;
    }
    const T* row = logits + i * V;
    vec::scaled_exp(row, V, static_cast<T>(lse[i]), static_cast<T>(scale), d);
    d[targets[i]] -= static_cast<T>(scale);
  }
}

// ---- layer norm / RMS norm -----------------------------------------------------

template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t R, int64_t C,
                        double eps) {
  norm_forward(x, weight, bias, y, mean, rstd, R, C, eps, /*center=*/true);
}

template <typename T>
void layer_norm_backward(const T* x, const T* weight, const T* mean, const T* rstd, const T* g, T* dx, T* dweight,
                         T* dbias, int64_t R, int64_t C) {
  if (dx) norm_backward_input(x, weight, mean, rstd, g, dx, R, C);
  norm_param_grads(x, mean, rstd, g, dweight, dbias, R, C);
}

template <typename T>
void rms_norm_forward(const T* x, const T* weight, T* y, T* rstd, int64_t R, int64_t C, double eps) {
  norm_forward<T>(x, weight, nullptr, y, nullptr, rstd, R, C, eps, /*center=*/false);
}

template <typename T>
void rms_norm_backward(const T* x, const T* weight, const T* rstd, const T* g, T* dx, T* dweight, int64_t R,
                       int64_t C) {
  if (dx) norm_backward_input<T>(x, weight, nullptr, rstd, g, dx, R, C);
  norm_param_grads<T>(x, nullptr, rstd, g, dweight, nullptr, R, C);
}

// ---- dropout ----------------------------------------------------------------

template <typename T>
void dropout_apply(const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t first) {
  // p == 1 keeps nothing (uniform() < 1 always), so the scale is never used there.
  const T scale = static_cast<T>(p < 1.0 ? 1.0 / (1.0 - p) : 0.0);
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i)
    out[i] = philox::uniform(seed, first + static_cast<uint64_t>(i)) >= p ? in[i] * scale : T(0);
}

// ---- explicit instantiations -----------------------------------------------------

#define MIXLAB_NN_KERNELS(T)                                                                                   \
  template void softmax_forward<T>(const T*, T*, int64_t, int64_t, int64_t, bool);                          \
  template void softmax_backward<T>(const T*, const T*, T*, int64_t, int64_t, int64_t, bool);               \
  template CrossEntropyTotals cross_entropy_forward<T>(const T*, const int64_t*, double*, int64_t, int64_t,  \
                                                       int64_t);                                            \
  template void cross_entropy_backward<T>(const T*, const int64_t*, const double*, double, T*, int64_t,      \
                                          int64_t, int64_t);                                                \
  template void layer_norm_forward<T>(const T*, const T*, const T*, T*, T*, T*, int64_t, int64_t, double);  \
  template void layer_norm_backward<T>(const T*, const T*, const T*, const T*, const T*, T*, T*, T*,         \
                                       int64_t, int64_t);                                                   \
  template void rms_norm_forward<T>(const T*, const T*, T*, T*, int64_t, int64_t, double);                   \
  template void rms_norm_backward<T>(const T*, const T*, const T*, const T*, T*, T*, int64_t, int64_t);      \
  template void dropout_apply<T>(const T*, T*, int64_t, double, uint64_t, uint64_t);

MIXLAB_NN_KERNELS(float)
MIXLAB_NN_KERNELS(double)
#undef MIXLAB_NN_KERNELS

}  // namespace mixlab::cpu
