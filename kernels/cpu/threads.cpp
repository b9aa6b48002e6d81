#include "kernels/cpu/threads.h"

#include <omp.h>

#include <Eigen/Core>

#ifdef MIXLAB_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace mixlab::cpu {

void set_compute_threads(int threads) {
  if (threads <= 0) return;
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
#ifdef MIXLAB_WITH_OPENBLAS
  openblas_set_num_threads(threads);
#endif
}

int compute_threads() { return omp_get_max_threads(); }

}  // namespace mixlab::cpu
