#pragma once
// The CPU compute runtime as the CLI reports it: processors, OpenMP threads,
// the OpenBLAS build and kernels loaded, and how busy the machine is. (Thread
// counts are set by kernels/cpu/threads.h, the engine's one place for that.)
#include <string>

namespace mixlab::cli {

// Processors this process may run on (OpenMP's view, which honours affinity masks).
int available_processors();
int openmp_max_threads();

// CPU time of the whole machine and of this process, from Linux /proc (all
// zero and known = false elsewhere). Two snapshots give the share of the
// machine that other processes (or the hypervisor, as steal time) took in
// between: the thing that makes a benchmark's numbers meaningless.
struct CpuTimes {
  bool known = false;
  double machine_busy = 0;   // seconds, all processors, steal time included
  double machine_total = 0;  // seconds, all processors
  double self = 0;           // seconds this process ran, all its threads
};
CpuTimes cpu_times();
// Fraction of all processor time between `before` and `after` used by anything
// but this process; negative when unknown.
double foreign_cpu_share(const CpuTimes& before, const CpuTimes& after);

// "OpenBLAS 0.3.21 ... , kernels: Haswell (forced by OPENBLAS_CORETYPE=Haswell)",
// or "not built in" without MIXLAB_WITH_OPENBLAS.
std::string openblas_description();

}  // namespace mixlab::cli
