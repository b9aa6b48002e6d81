#pragma once
// The processes of one training run and the collectives between them. A run
// launched by mpirun or srun (and built with MPI) gets an MPI communicator
// over its ranks; any other process is a world of one, where every
// collective is the identity and nothing is initialised.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/tensor.h"

namespace mixlab {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Element-wise sum over the ranks, in place; every rank gets the same
  // values (the same bits), and the same inputs give the same bits each run.
  virtual void all_reduce_sum(std::span<double> values) = 0;
  // Element-wise max over the ranks, in place.
  virtual void all_reduce_max(std::span<int64_t> values) = 0;
  // Rank `root`'s bytes to every rank, in place.
  virtual void broadcast(void* data, size_t bytes, int root) = 0;
  // Ends every rank of the job now with exit code `code` (a rank that fails
  // alone: the others would wait for it in their next collective forever).
  [[noreturn]] virtual void abort(int code) = 0;
};

// The process's world: MPI when launched as one of several ranks (the
// launcher's environment says so: OMPI_COMM_WORLD_SIZE, PMI_SIZE or
// SLURM_STEP_NUM_TASKS above 1) and mixlab was built with it, else a world
// of one. Created on first use; MPI is finalised at exit. A multi-rank launch of a build without
// MPI throws (every rank would train the whole run alone).
Communicator& world();

// An error every rank meets together (a config check, a non-finite step after
// the all-reduce, the root's refusal of a run directory): rank 0 prints it,
// the others exit with the same code silently, and no rank aborts the job.
class CollectiveError : public Error {
 public:
  explicit CollectiveError(const std::string& what) : Error(what) {}
};

// Rank `root`'s text on every rank.
std::string broadcast_text(Communicator& comm, const std::string& text, int root = 0);
// Rank `root`'s values of `t` on every rank, in place (host or device).
void broadcast_tensor(Communicator& comm, const Tensor& t, int root = 0);

// Runs `work` on rank 0 alone and makes its outcome everyone's: when it
// throws, rank 0 rethrows its error as a CollectiveError and the other ranks
// throw a CollectiveError with the same text.
template <typename Work>
void on_root_for_all(Communicator& comm, Work&& work) {
  std::string failure;
  if (comm.rank() == 0) {
    try {
      work();
    } catch (const std::exception& e) {
      failure = e.what();
      if (failure.empty()) failure = "rank 0 failed";
    }
  }
  failure = broadcast_text(comm, failure);
  if (!failure.empty()) throw CollectiveError(failure);
}

}  // namespace mixlab
