#include "cli/cpu_runtime.h"

#include <omp.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#ifdef MIXLAB_WITH_OPENBLAS
#include <cblas.h>
#endif

namespace mixlab::cli {

int available_processors() { return omp_get_num_procs(); }

int openmp_max_threads() { return omp_get_max_threads(); }

CpuTimes cpu_times() {
  CpuTimes t;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  // "cpu  user nice system idle iowait irq softirq steal guest guest_nice";
  // guest time is already counted in user.
  std::ifstream stat("/proc/stat");
  std::string cpu;
  double user, nice, system, idle, iowait, irq, softirq, steal;
  if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) || cpu != "cpu") return t;
  t.machine_busy = (user + nice + system + irq + softirq + steal) / tick;
  t.machine_total = t.machine_busy + (idle + iowait) / tick;
  // /proc/self/stat: "pid (comm) state ..." with utime, stime the 14th and
  // 15th fields; comm may hold spaces, so count from the last ')'.
  std::ifstream self("/proc/self/stat");
  std::string line;
  if (!std::getline(self, line)) return t;
  std::istringstream rest(line.substr(line.rfind(')') + 2));
  std::string field;
  for (int i = 3; i < 14; ++i) rest >> field;  // state (3rd) .. cmajflt (13th)
  double utime, stime;
  if (!(rest >> utime >> stime)) return t;
  t.self = (utime + stime) / tick;
  t.known = true;
  return t;
}

double foreign_cpu_share(const CpuTimes& before, const CpuTimes& after) {
  double total = after.machine_total - before.machine_total;
  if (!before.known || !after.known || total <= 0) return -1;
  double foreign = (after.machine_busy - before.machine_busy) - (after.self - before.self);
  return std::clamp(foreign / total, 0.0, 1.0);
}

std::string openblas_description() {
#ifdef MIXLAB_WITH_OPENBLAS
  std::string out = openblas_get_config();
  out += "; kernels for core ";
  out += openblas_get_corename();
  // OpenBLAS built with DYNAMIC_ARCH picks its kernels from the CPUID, unless
  // this variable names a core; say so, because it can change GEMM speed by 2x
  // (e.g. Haswell's AVX2 kernels on an AVX-512 machine).
  if (const char* forced = std::getenv("OPENBLAS_CORETYPE"); forced && *forced)
    out += std::string(" (forced by OPENBLAS_CORETYPE=") + forced + ")";
  else
    out += " (detected)";
  return out;
#else
  return "not built in (configure with -DMIXLAB_OPENBLAS=ON)";
#endif
}

}  // namespace mixlab::cli
