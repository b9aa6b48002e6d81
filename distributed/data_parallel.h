#pragma once
// Data parallelism over a Communicator: each rank trains on its shard of
// the global batch, and the gradients are summed over the ranks in one
// flat all-reduce after the backward, so every rank takes the same AdamW step
// from the same parameters.
#include <functional>
#include <span>
#include <vector>

#include "autograd/tensor.h"
#include "distributed/communicator.h"

namespace mixlab {

// Rank `rank`'s contiguous share of n items: [first, last), the first n % size
// ranks one item more. Shards of all ranks tile [0, n) in rank order.
struct ShardRange {
  int64_t first = 0, last = 0;
};
ShardRange shard_range(int64_t n, int rank, int size);

// Sums every parameter's gradient over the ranks (an undefined gradient counts
// as zeros) together with `extras` (per-rank numbers that ride along: loss
// sums, counts), in place, in one collective. Then every gradient is scaled
// by scale(extras summed). Every rank ends with the same gradients and extras.
void all_reduce_gradients(Communicator& comm, const std::vector<Tensor>& params, std::span<double> extras,
                          const std::function<double(std::span<const double>)>& scale);

}  // namespace mixlab
