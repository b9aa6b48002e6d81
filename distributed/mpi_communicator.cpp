// The MPI backend of Communicator (compiled when CMake finds MPI:
// MIXLAB_MPI). Host buffers only; device tensors are staged through the host
// by the callers (broadcast_tensor, the gradient all-reduce).
//
// The all-reduce is MPI_Reduce to rank 0 followed by MPI_Bcast, not
// MPI_Allreduce: the MPI standard does not promise that every rank of an
// Allreduce receives the same bits (an implementation may add in a
// different order on each rank), and data-parallel ranks must hold
// identical parameters. Reduce + Bcast gives every rank rank 0's sum; for a
// fixed rank count Open MPI's reduction order is fixed, so runs repeat.
#include <mpi.h>

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "distributed/communicator.h"

namespace mixlab {

namespace {

void check(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(rc, text, &length);
  throw Error(std::string(call) + " failed: " + std::string(text, static_cast<size_t>(length)));
}

// MPI counts are ints: large buffers go in pieces.
constexpr size_t kMaxCount = std::numeric_limits<int>::max() / 2;

class MpiWorld final : public Communicator {
 public:
  MpiWorld() {
    int initialised = 0;
    MPI_Initialized(&initialised);
    if (!initialised) {
      int provided = 0;
      check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
      owns_mpi_ = true;
    }
    // Errors come back as codes (thrown as mixlab::Error) instead of aborting inside MPI.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
  }
  ~MpiWorld() override {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (owns_mpi_ && !finalised) MPI_Finalize();
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(std::span<double> values) override {
    if (size_ == 1) return;
    for (size_t begin = 0; begin < values.size(); begin += kMaxCount) {
      const int n = static_cast<int>(std::min(kMaxCount, values.size() - begin));
      double* piece = values.data() + begin;
      check(MPI_Reduce(rank_ == 0 ? MPI_IN_PLACE : piece, piece, n, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD),
            "MPI_Reduce");
      check(MPI_Bcast(piece, n, MPI_DOUBLE, 0, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  void all_reduce_max(std::span<int64_t> values) override {
    if (size_ == 1) return;
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(), static_cast<int>(values.size()), MPI_INT64_T, MPI_MAX,
                        MPI_COMM_WORLD),
          "MPI_Allreduce");
  }

  void broadcast(void* data, size_t bytes, int root) override {
    if (size_ == 1) return;
    auto* p = static_cast<char*>(data);
    for (size_t begin = 0; begin < bytes; begin += kMaxCount) {
      const int n = static_cast<int>(std::min(kMaxCount, bytes - begin));
      check(MPI_Bcast(p + begin, n, MPI_BYTE, root, MPI_COMM_WORLD), "MPI_Bcast");
    }
  }

  [[noreturn]] void abort(int code) override {
    MPI_Abort(MPI_COMM_WORLD, code);
    std::_Exit(code);
  }

 private:
  int rank_ = 0, size_ = 1;
  bool owns_mpi_ = false;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_world() { return std::make_unique<MpiWorld>(); }

}  // namespace mixlab
