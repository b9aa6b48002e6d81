#pragma once
// The reductions' per-column rules, defined once for both devices (as
// kernels/elementwise_math.h does for the elementwise formulas): the CPU loops
// (kernels/cpu/reduce_kernels.cpp) and the CUDA kernels (kernels/cuda/reduce.cu)
// call the same function, so both pick the same argmax.
#include <cstdint>

#include "kernels/host_device.h"

namespace mixlab::kernels {

// The largest of the n values p[0], p[stride], … and the first position
// holding it (ties go to the lower index; NaN never wins a comparison).
template <typename T>
MIXLAB_HOST_DEVICE inline void column_max(const T* p, int64_t n, int64_t stride, T* best, int64_t* at) {
  T b = p[0];
  int64_t where = 0;
  for (int64_t j = 1; j < n; ++j)
    if (p[j * stride] > b) {
      b = p[j * stride];
      where = j;
    }
  *best = b;
  *at = where;
}

}  // namespace mixlab::kernels
