// The long convolution op: shape checks, the choice of algorithm, one
// dispatch call per kernel, and the backward beside the forward.
#include "autograd/ops/long_conv.h"

#include <algorithm>

#include "autograd/ops/op_util.h"
#include "autograd/tape.h"
#include "kernels/cpu/fft_conv.h"

namespace mixlab {

using ops_detail::Backend;
using ops_detail::check_float_compatible;

namespace {

constexpr const char* kOp = "long_conv";

bool use_fft(LongConvAlgorithm algorithm, int64_t T, int64_t K) {
  if (algorithm == LongConvAlgorithm::Auto) return std::min(K, T) > kLongConvDirectTaps;
  return algorithm == LongConvAlgorithm::Fft;
}

}  // namespace

// x (B,T,C), h (C,K) -> y (B,T,C)
Tensor long_conv(const Tensor& x, const Tensor& h, LongConvAlgorithm algorithm) {
  check_float_compatible(kOp, {x, h});
  MIXLAB_CHECK(x.ndim() == 3, kOp, ": x ", x.shape().str(), " must be (B, T, C)");
  const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
  MIXLAB_CHECK(h.ndim() == 2 && h.size(0) == C && h.size(1) >= 1, kOp, ": filter ", h.shape().str(),
               " must be (C, K) with C = ", C, " channels of x ", x.shape().str(), " and K >= 1");
  const int64_t K = h.size(1);
  const Backend backend = Backend::of("fft_conv", kOp, x);
  const bool fft = use_fft(algorithm, T, K);

  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  MIXLAB_DISPATCH_FLOAT(x.dtype(), kOp, [&] {
    const scalar_t *xp = x.data<scalar_t>(), *hp = h.data<scalar_t>();
    if (fft)
      MIXLAB_RUN_KERNEL(backend, long_conv_fft_forward, xp, hp, y.data<scalar_t>(), B, T, C, K);
    else
      MIXLAB_RUN_KERNEL(backend, long_conv_direct_forward, xp, hp, y.data<scalar_t>(), B, T, C, K);
  });

  // dx reads the filter, dh reads x: save only what a wanted gradient needs.
  const bool need_dx = x.requires_grad(), need_dh = h.requires_grad();
  record(kOp, y, {x, h},
         [=, xs = need_dh ? saved(x) : Tensor(), hs = need_dx ? saved(h) : Tensor()](const Tensor& g) {
           Tensor dx = need_dx ? Tensor::empty(g.shape(), g.dtype(), g.device()) : Tensor();
           Tensor dh = need_dh ? Tensor::empty(Shape{C, K}, g.dtype(), g.device()) : Tensor();
           MIXLAB_DISPATCH_FLOAT(g.dtype(), kOp, [&] {
             const scalar_t* xp = need_dh ? xs.data<scalar_t>() : nullptr;
             const scalar_t* hp = need_dx ? hs.data<scalar_t>() : nullptr;
             scalar_t* dxp = need_dx ? dx.data<scalar_t>() : nullptr;
             scalar_t* dhp = need_dh ? dh.data<scalar_t>() : nullptr;
             if (fft)
               MIXLAB_RUN_KERNEL(backend, long_conv_fft_backward, xp, hp, g.data<scalar_t>(), dxp, dhp, B, T, C, K);
             else
               MIXLAB_RUN_KERNEL(backend, long_conv_direct_backward, xp, hp, g.data<scalar_t>(), dxp, dhp, B, T, C,
                                 K);
           });
           return std::vector<Tensor>{dx, dh};
         });
  return y;
}

}  // namespace mixlab
