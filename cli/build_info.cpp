#include "cli/build_info.h"

#include <sstream>

#include "autograd/device.h"
#include "cli/command.h"
#include "cli/cpu_runtime.h"
#include "cli/peak_flops.h"
#include "kernels/cpu/gemm.h"

namespace mixlab::cli {

std::string version_line() { return std::string("mixlab ") + MIXLAB_VERSION; }

std::string build_info() {
  std::ostringstream out;
  out << version_line() << "\n";
#ifdef MIXLAB_WITH_CUDA
  int devices = 0;
  std::string cuda_error;
  try {
    devices = cuda_device_count();
  } catch (const std::exception& e) {
    cuda_error = e.what();
  }
  out << "  cuda:     built, " << devices << " device" << (devices == 1 ? "" : "s") << " visible";
  if (!cuda_error.empty()) out << " (" << cuda_error << ")";
  out << "\n";
#else
  out << "  cuda:     not built (configure with -DMIXLAB_CUDA=AUTO|ON and nvcc available)\n";
#endif
  using cpu::GemmBackend;
  out << "  gemm:     " << cpu::gemm_backend_name(cpu::default_gemm_backend()) << " (available:";
  for (GemmBackend b : {GemmBackend::OpenBLAS, GemmBackend::Eigen})
    if (cpu::gemm_backend_available(b)) out << " " << cpu::gemm_backend_name(b);
  out << ")\n";
#ifdef MIXLAB_WITH_OPENBLAS
  out << "  openblas: " << openblas_description() << "\n";
#endif
  out << "  openmp:   " << count_of(openmp_max_threads(), "max thread") << ", "
      << count_of(available_processors(), "processor") << "\n";
  out << "  simd:     " << fma_loop_description() << " FMA peak loop\n";
#ifdef NDEBUG
  out << "  compiler: " << __VERSION__ << ", optimised (NDEBUG)\n";
#else
  out << "  compiler: " << __VERSION__ << ", debug (assertions on)\n";
#endif
  return out.str();
}

}  // namespace mixlab::cli
