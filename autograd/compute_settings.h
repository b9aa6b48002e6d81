#pragma once
// Process-wide compute settings, for the code above the engine (the trainer):
// how many CPU threads the kernels use and whether GPU GEMMs run on TF32
// tensor cores. Kept here so train/ sets them through the engine rather than
// reaching into kernels/.
namespace mixlab {

// Threads of every CPU compute pool (OpenMP regions, Eigen's GEMM, OpenBLAS's
// OpenMP build); 0 keeps the defaults (all cores).
void set_compute_threads(int threads);

// F32 GEMMs on CUDA devices on TF32 tensor cores from now on (off by
// default); no effect on the CPU or in a build without CUDA.
void set_tf32(bool on);

}  // namespace mixlab
