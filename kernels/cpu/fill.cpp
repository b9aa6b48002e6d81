#include "kernels/cpu/fill.h"

#include "kernels/philox.h"

namespace mixlab::cpu {

template <typename T>
void fill(T* out, int64_t n, double value) {
  const T v = static_cast<T>(value);
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) out[i] = v;
}

template <typename To, typename From>
void cast(To* out, const From* in, int64_t n) {
#pragma omp parallel for if (n > (1 << 16))
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<To>(in[i]);
}

template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t first, double mean, double std) {
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(mean + std * philox::normal(seed, first + i));
}

template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t first, double low, double high) {
#pragma omp parallel for if (n > (1 << 14))
  for (int64_t i = 0; i < n; ++i) out[i] = static_cast<T>(low + (high - low) * philox::uniform(seed, first + i));
}

template void fill<float>(float*, int64_t, double);
template void fill<double>(double*, int64_t, double);
template void fill<int64_t>(int64_t*, int64_t, double);
template void fill_normal<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void fill_normal<double>(double*, int64_t, uint64_t, uint64_t, double, double);
template void fill_uniform<float>(float*, int64_t, uint64_t, uint64_t, double, double);
template void fill_uniform<double>(double*, int64_t, uint64_t, uint64_t, double, double);

#define MIXLAB_CAST(TO, FROM) template void cast<TO, FROM>(TO*, const FROM*, int64_t);
MIXLAB_CAST(float, float)
MIXLAB_CAST(float, double)
MIXLAB_CAST(float, int64_t)
MIXLAB_CAST(double, float)
MIXLAB_CAST(double, double)
MIXLAB_CAST(double, int64_t)
MIXLAB_CAST(int64_t, float)
MIXLAB_CAST(int64_t, double)
MIXLAB_CAST(int64_t, int64_t)
#undef MIXLAB_CAST

}  // namespace mixlab::cpu
