#pragma once
// Token routing of the MoE feed-forward (layers/moe.h), a non-differentiable
// op: top-k experts per token, capacity with first-choices-first priority,
// and the plan that groups the kept assignments by expert. On the CPU it is
// computed on the host; on a GPU by kernels/cuda/moe_routing.cu (a top-k
// kernel and Thrust's stable radix sorts), so the router probabilities never
// leave the device. Both give the same plan.
//
// Assignment i = n·K + s is token n's s-th choice (s = 0 the most probable;
// ties to the lower expert index).
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

struct RoutingPlan {
  Tensor picked;        // i64 (N·K): n·E + expert of each assignment (indexes probs viewed as (N·E))
  Tensor order;         // i64 (M): the kept assignments, grouped by expert (ascending), ascending i within
  Tensor order_tokens;  // i64 (M): their tokens, order / K
  Tensor slot_rows;     // i64 (K, N): the position in `order` of assignment (n, s), M where it was dropped
  std::vector<int64_t> routed;  // per expert: assignments that chose it, before capacity
  std::vector<int64_t> kept;    // per expert: those kept, min(routed, capacity); their rows in `order` are contiguous
};

// probs (N, E) of a float dtype, on any device -> the plan of top_k experts
// per token; capacity >= N·K is dropless. Records nothing on the tape: the
// gates are taken from probs by index_select, which carries the gradient.
RoutingPlan route_tokens(const Tensor& probs, int64_t top_k, int64_t capacity);

}  // namespace mixlab
