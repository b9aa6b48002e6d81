#include "kernels/cpu/threads.h"

#include <omp.h>

#include <Eigen/Core>

#ifdef MIXLAB_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace mixlab::cpu {

void set_compute_threads(int threads) {
#ifdef MIXLAB_WITH_OPENBLAS
  // OpenBLAS stays single-threaded: cpu::gemm splits the work across our own
  // OpenMP threads (see kernels/cpu/gemm.cpp for why).
  openblas_set_num_threads(1);
#endif
  if (threads <= 0) return;
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
}

int compute_threads() { return omp_get_max_threads(); }

}  // namespace mixlab::cpu
