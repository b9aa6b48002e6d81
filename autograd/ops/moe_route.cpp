// MoE routing: the host plan (CPU) and the device plan (kernels/cuda/moe_routing.cu).
#include "autograd/ops/moe_route.h"

#include <algorithm>
#include <numeric>

#include "autograd/ops/op_util.h"
#include "autograd/ops/shape_ops.h"

namespace mixlab {

namespace {

// The plan from the N·K choices, on the host: capacity in slot-major order
// (every token's first choice before any second), then the kept assignments
// grouped by expert in assignment order.
RoutingPlan plan_on_host(const std::vector<int64_t>& choice, int64_t N, int64_t E, int64_t K, int64_t capacity) {
  RoutingPlan plan;
  plan.routed.assign(E, 0);
  plan.kept.assign(E, 0);
  std::vector<char> kept(N * K, 0);
  for (int64_t s = 0; s < K; ++s)
    for (int64_t n = 0; n < N; ++n) {
      const int64_t e = choice[n * K + s];
      plan.routed[e]++;
      if (plan.kept[e] < capacity) {
        plan.kept[e]++;
        kept[n * K + s] = 1;
      }
    }
  std::vector<int64_t> order, tokens, row_of(N * K, -1);
  for (int64_t e = 0; e < E; ++e)
    for (int64_t i = 0; i < N * K; ++i)
      if (kept[i] && choice[i] == e) {
        row_of[i] = static_cast<int64_t>(order.size());
        order.push_back(i);
        tokens.push_back(i / K);
      }
  const int64_t M = static_cast<int64_t>(order.size());
  std::vector<int64_t> picked(N * K), slot_rows(K * N);
  for (int64_t i = 0; i < N * K; ++i) {
    picked[i] = (i / K) * E + choice[i];
    slot_rows[(i % K) * N + i / K] = row_of[i] >= 0 ? row_of[i] : M;
  }
  plan.picked = Tensor::from_indices(picked, {N * K});
  plan.order = Tensor::from_indices(order, {M});
  plan.order_tokens = Tensor::from_indices(tokens, {M});
  plan.slot_rows = Tensor::from_indices(slot_rows, {K, N});
  return plan;
}

// Top-k per token, highest probability first, ties to the lower index.
std::vector<int64_t> top_k_on_host(const Tensor& probs, int64_t K) {
  const int64_t N = probs.size(0), E = probs.size(1);
  const std::vector<double> p = probs.to_vector();
  std::vector<int64_t> choice(N * K), experts(E);
  for (int64_t n = 0; n < N; ++n) {
    std::iota(experts.begin(), experts.end(), 0);
    std::partial_sort(experts.begin(), experts.begin() + K, experts.end(), [&](int64_t a, int64_t b) {
      return p[n * E + a] > p[n * E + b] || (p[n * E + a] == p[n * E + b] && a < b);
    });
    std::copy(experts.begin(), experts.begin() + K, choice.begin() + n * K);
  }
  return choice;
}

RoutingPlan plan_on_device(const ops_detail::Backend& backend, const Tensor& probs, int64_t K, int64_t capacity) {
  const int64_t N = probs.size(0), E = probs.size(1);
  const Device dev = probs.device();
  auto indices = [&](Shape shape) { return Tensor::empty(shape, DType::I64, dev); };
  RoutingPlan plan;
  plan.picked = indices({N * K});
  Tensor order = indices({N * K}), tokens = indices({N * K});
  plan.slot_rows = indices({K, N});
  Tensor scratch = indices({cuda::moe_route_scratch(N, E, K)});
  plan.routed.assign(E, 0);
  MIXLAB_DISPATCH_FLOAT(probs.dtype(), "moe routing", [&] {
    cuda::moe_route(backend.cuda_device(), probs.data<scalar_t>(), N, E, K, capacity, plan.picked.data<int64_t>(),
                    order.data<int64_t>(), tokens.data<int64_t>(), plan.slot_rows.data<int64_t>(),
                    scratch.data<int64_t>(), plan.routed.data());
  });
  plan.kept.resize(E);
  for (int64_t e = 0; e < E; ++e) plan.kept[e] = std::min(plan.routed[e], capacity);
  const int64_t M = std::accumulate(plan.kept.begin(), plan.kept.end(), int64_t{0});
  plan.order = slice(order, 0, 0, M);
  plan.order_tokens = slice(tokens, 0, 0, M);
  return plan;
}

}  // namespace

RoutingPlan route_tokens(const Tensor& probs, int64_t top_k, int64_t capacity) {
  MIXLAB_CHECK(probs.ndim() == 2 && top_k >= 1 && top_k <= probs.size(1), "moe routing: probs ", probs.describe(),
               " must be (N, E) with 1 <= top_k (", top_k, ") <= E");
  // An explicit branch: the backends run different algorithms (a partial
  // sort and counting on the host; a top-k kernel and radix sorts on a GPU).
  const ops_detail::Backend backend = ops_detail::Backend::of("moe", "moe routing", probs);
  if (backend.on_cuda()) return plan_on_device(backend, probs, top_k, capacity);
  return plan_on_host(top_k_on_host(probs, top_k), probs.size(0), probs.size(1), top_k, capacity);
}

}  // namespace mixlab
