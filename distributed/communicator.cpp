#include "distributed/communicator.h"

#include <algorithm>
#include <cstdlib>

#include "autograd/ops.h"

namespace mixlab {

namespace {

// A world of one: every collective is the identity.
class SingleProcess final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(std::span<double>) override {}
  void all_reduce_max(std::span<int64_t>) override {}
  void broadcast(void*, size_t, int) override {}
  [[noreturn]] void abort(int code) override { std::exit(code); }
};

// The rank count the launcher announces (mpirun: OMPI_COMM_WORLD_SIZE;
// MPICH/PMI: PMI_SIZE; srun: SLURM_STEP_NUM_TASKS, set for a job step only,
// not for the batch script), 1 when there is no launcher.
int launched_ranks() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (const char* v = std::getenv(name)) return std::max(1, std::atoi(v));
  return 1;
}

}  // namespace

#ifdef MIXLAB_WITH_MPI
std::unique_ptr<Communicator> make_mpi_world();  // distributed/mpi_communicator.cpp
#endif

Communicator& world() {
  static std::unique_ptr<Communicator> the_world = []() -> std::unique_ptr<Communicator> {
    if (launched_ranks() > 1) {
#ifdef MIXLAB_WITH_MPI
      return make_mpi_world();
#else
      throw Error(
          "launched as one of several ranks (mpirun/srun), but this mixlab was built without MPI: install Open MPI "
          "(apt-get install libopenmpi-dev openmpi-bin) and reconfigure, or run a single process");
#endif
    }
    return std::make_unique<SingleProcess>();
  }();
  return *the_world;
}

std::string broadcast_text(Communicator& comm, const std::string& text, int root) {
  if (comm.size() == 1) return text;
  int64_t length = static_cast<int64_t>(text.size());
  comm.broadcast(&length, sizeof length, root);
  std::string out = comm.rank() == root ? text : std::string(static_cast<size_t>(length), '\0');
  if (length > 0) comm.broadcast(out.data(), out.size(), root);
  return out;
}

void broadcast_tensor(Communicator& comm, const Tensor& t, int root) {
  if (comm.size() == 1 || !t.defined() || t.numel() == 0) return;
  if (t.device().is_cpu()) {
    comm.broadcast(t.raw(), t.nbytes(), root);
    return;
  }
  NoGradGuard no_grad;
  Tensor host = t.to(Device::cpu());
  comm.broadcast(host.raw(), host.nbytes(), root);
  t.copy_(host);
}

}  // namespace mixlab
