#pragma once
// Thread count of every CPU compute pool: OpenMP regions (our kernels), Eigen's
// GEMM and OpenBLAS's own pool. 0 keeps the defaults (all cores).
namespace mixlab::cpu {

void set_compute_threads(int threads);
int compute_threads();

}  // namespace mixlab::cpu
