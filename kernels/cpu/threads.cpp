#include "kernels/cpu/threads.h"

#include <omp.h>

#include <Eigen/Core>

namespace mixlab::cpu {

void set_compute_threads(int threads) {
  // OpenBLAS is not told: its OpenMP build shares our pool (its
  // openblas_set_num_threads would call omp_set_num_threads for everyone),
  // and cpu::gemm calls it inside our own parallel regions.
  if (threads <= 0) return;
  omp_set_num_threads(threads);
  Eigen::setNbThreads(threads);
}

int compute_threads() { return omp_get_max_threads(); }

}  // namespace mixlab::cpu
