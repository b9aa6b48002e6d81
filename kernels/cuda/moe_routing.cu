// MoE routing on the device (autograd/ops/moe_route.h): a top-k kernel (one
// thread per token), then Thrust's stable radix sorts group the assignments
// by expert, first in slot-major order (capacity: every token's first choice
// before any second) and then, of the kept ones, in assignment order (the
// plan). Both sorts are stable and keyed by integers, so the plan is exactly
// the host's.
#include <thrust/binary_search.h>
#include <thrust/execution_policy.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/sort.h>

#include <vector>

#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/launch.cuh"
#include "kernels/cuda/moe_topk.h"
#include "kernels/cuda/thrust_pool.cuh"

namespace mixlab::cuda {

namespace {

// choice[n·K + s] = token n's s-th most probable expert (ties to the lower
// index); picked = n·E + choice; sm_keys / sm_ids hold the same in slot-major
// order (position s·N + n) for the capacity sort.
template <typename T>
__global__ void top_k_kernel(const T* probs, int64_t N, int64_t E, int64_t K, int64_t* choice, int64_t* picked,
                             int64_t* sm_keys, int64_t* sm_ids) {
  MIXLAB_GRID_STRIDE(n, N) {
    const T* p = probs + n * E;
    int64_t last = -1;
    for (int64_t s = 0; s < K; ++s) {
      const int64_t best = moe::next_choice(p, E, last);
      last = best;
      choice[n * K + s] = best;
      picked[n * K + s] = n * E + best;
      sm_keys[s * N + n] = best;
      sm_ids[s * N + n] = n * K + s;
    }
  }
}

// After the slot-major sort: kept_key[i] = expert of assignment i where its
// rank within the expert is below the capacity, else E (sorted last).
__global__ void capacity_kernel(const int64_t* sorted_keys, const int64_t* sorted_ids, const int64_t* seg_start,
                                int64_t total, int64_t E, int64_t capacity, int64_t* kept_key, int64_t* ids) {
  MIXLAB_GRID_STRIDE(r, total) {
    const int64_t e = sorted_keys[r], i = sorted_ids[r];
    kept_key[i] = r - seg_start[e] < capacity ? e : E;
    ids[i] = i;
  }
}

// The plan from the second sort: tokens of the kept rows, and each
// assignment's row (M where dropped) in slot-major layout.
__global__ void plan_kernel(const int64_t* sorted_ids, int64_t total, int64_t M, int64_t N, int64_t K,
                            int64_t* order, int64_t* tokens, int64_t* slot_rows) {
  MIXLAB_GRID_STRIDE(r, total) {
    const int64_t i = sorted_ids[r];
    order[r] = i;
    tokens[r] = i / K;
    slot_rows[(i % K) * N + i / K] = r < M ? r : M;
  }
}

}  // namespace

int64_t moe_route_scratch(int64_t N, int64_t E, int64_t K) { return 4 * N * K + E + 1; }

template <typename T>
void moe_route(int device, const T* probs, int64_t N, int64_t E, int64_t K, int64_t capacity, int64_t* picked,
               int64_t* order, int64_t* tokens, int64_t* slot_rows, int64_t* scratch, int64_t* routed) {
  MIXLAB_CUDA_CHECK(cudaSetDevice(device));
  const int64_t total = N * K;
  if (total == 0) {
    for (int64_t e = 0; e < E; ++e) routed[e] = 0;
    return;
  }
  int64_t *choice = scratch, *keys = scratch + total, *ids = scratch + 2 * total, *kept_key = scratch + 3 * total;
  int64_t* seg_start = scratch + 4 * total;
  ThrustPool pool(device);
  const auto policy = thrust::cuda::par(pool);

  top_k_kernel<T><<<blocks_for(N), kThreads>>>(probs, N, E, K, choice, picked, keys, ids);
  check_launch("moe_route (top-k)");
  thrust::stable_sort_by_key(policy, keys, keys + total, ids);
  // seg_start[e] = the first sorted position of expert e (e = E: the end).
  thrust::lower_bound(policy, keys, keys + total, thrust::counting_iterator<int64_t>(0),
                      thrust::counting_iterator<int64_t>(E + 1), seg_start);
  std::vector<int64_t> starts(E + 1);
  MIXLAB_CUDA_CHECK(cudaMemcpy(starts.data(), seg_start, sizeof(int64_t) * (E + 1), cudaMemcpyDeviceToHost));
  int64_t M = 0;
  for (int64_t e = 0; e < E; ++e) {
    routed[e] = starts[e + 1] - starts[e];
    M += routed[e] < capacity ? routed[e] : capacity;
  }
  capacity_kernel<<<blocks_for(total), kThreads>>>(keys, ids, seg_start, total, E, capacity, kept_key, choice);
  check_launch("moe_route (capacity)");
  thrust::stable_sort_by_key(policy, kept_key, kept_key + total, choice);
  plan_kernel<<<blocks_for(total), kThreads>>>(choice, total, M, N, K, order, tokens, slot_rows);
  check_launch("moe_route (plan)");
}

#define MIXLAB_CUDA_KERNEL_LIST "kernels/cuda/moe_routing.def"
#include "kernels/cuda/instantiate_kernel_list.h"

}  // namespace mixlab::cuda
