#include "kernels/cpu/optim_kernels.h"

#include <cmath>
#include <vector>

namespace mixlab::cpu {

template <typename T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamWStep& s) {
  const T b1 = static_cast<T>(s.beta1), b2 = static_cast<T>(s.beta2);
  const T eps = static_cast<T>(s.eps), decay = static_cast<T>(1.0 - s.lr * s.weight_decay);
  const T step_size = static_cast<T>(s.lr / s.bias_correction1);
  const T inv_sqrt_bc2 = static_cast<T>(1.0 / std::sqrt(s.bias_correction2));
#pragma omp parallel for if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) {
    const T gi = g[i];
    m[i] = b1 * m[i] + (T(1) - b1) * gi;
    v[i] = b2 * v[i] + (T(1) - b2) * gi * gi;
    p[i] = p[i] * decay - step_size * m[i] / (std::sqrt(v[i]) * inv_sqrt_bc2 + eps);
  }
}

template <typename T>
double sum_of_squares(const T* x, int64_t n) {
  // Fixed blocks summed in order: the result does not depend on the thread count.
  constexpr int64_t kBlock = 1 << 14;
  const int64_t blocks = (n + kBlock - 1) / kBlock;
  std::vector<double> partial(static_cast<size_t>(blocks), 0.0);
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t b = 0; b < blocks; ++b) {
    double acc = 0;
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i = b * kBlock; i < end; ++i) acc += static_cast<double>(x[i]) * x[i];
    partial[b] = acc;
  }
  double total = 0;
  for (double p : partial) total += p;
  return total;
}

template <typename T>
void scale_in_place(T* x, int64_t n, double factor) {
  const T f = static_cast<T>(factor);
#pragma omp parallel for if (n > (1 << 15))
  for (int64_t i = 0; i < n; ++i) x[i] *= f;
}

#define MIXLAB_OPTIM(T)                                                          \
  template void adamw_update<T>(T*, const T*, T*, T*, int64_t, const AdamWStep&); \
  template double sum_of_squares<T>(const T*, int64_t);                          \
  template void scale_in_place<T>(T*, int64_t, double);
MIXLAB_OPTIM(float)
MIXLAB_OPTIM(double)
#undef MIXLAB_OPTIM

}  // namespace mixlab::cpu
