#include "autograd/compute_settings.h"

#include "kernels/cpu/threads.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab {

void set_compute_threads(int threads) { cpu::set_compute_threads(threads); }

void set_tf32(bool on) { cuda::set_tf32(on); }

}  // namespace mixlab
