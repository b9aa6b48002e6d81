// Fused attention: forward saves only the output and one log-sum-exp per
// row; backward recomputes the probabilities tile by tile.
#include "autograd/ops/attention.h"

#include <algorithm>
#include <atomic>

#include "autograd/ops/op_util.h"
#include "autograd/tape.h"
#include "kernels/cpu/flash_attention.h"

namespace mixlab {

using namespace ops_detail;

namespace {

void check_attention_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMaskSpec& mask,
                            int64_t n_keys) {
  check_float_compatible("flash_attention", {q, k, v});
  MIXLAB_CHECK(q.ndim() == 4 && k.ndim() == 4 && v.ndim() == 4 && k.shape() == v.shape() && q.size(0) == k.size(0) &&
                   q.size(3) == k.size(3) && k.size(1) > 0 && q.size(1) % k.size(1) == 0,
               "flash_attention: q ", q.shape().str(), " must be (B,H,Tq,d) and k, v ", k.shape().str(), " and ",
               v.shape().str(), " (B,Hkv,Tk,d) with Hkv dividing H");
  // Tiles hold head-dim rows; MLA's absorbed decoding attends over its
  // latent rows (kv_lora_rank + qk_rope_dim, e.g. 576 in DeepSeek-V2).
  MIXLAB_CHECK(q.size(3) <= 1024, "flash_attention: head dim ", q.size(3), " exceeds 1024");
  MIXLAB_CHECK(q.device().is_cpu() || q.size(3) <= cuda::kFlashMaxHeadDim, "flash_attention: head dim ", q.size(3),
               " exceeds the CUDA kernel's ", cuda::kFlashMaxHeadDim, " (run on the CPU)");
  MIXLAB_CHECK(!mask.bf16 || (q.device().is_cuda() && q.dtype() == DType::F32), "flash_attention: the BF16 kernel ",
               "runs on CUDA with f32 inputs, got ", q.describe(), " (use the F32 kernel, or move to a GPU)");
  MIXLAB_CHECK(mask.alibi_slopes.empty() || static_cast<int64_t>(mask.alibi_slopes.size()) == q.size(1),
               "flash_attention: ", mask.alibi_slopes.size(), " ALiBi slopes for ", q.size(1), " heads");
  MIXLAB_CHECK(!mask.causal || q.size(2) <= n_keys, "flash_attention: causal with more queries (", q.size(2),
               ") than keys (", n_keys, ")");
}

std::atomic<double> g_attention_flops{0};

void count_flops(const cpu::FlashAttentionShape& s, const cpu::FlashAttentionMask& m) {
  const kernels::AttentionVisibility rule = cpu::visibility(s, m);
  double pairs = 0;
  for (int64_t i = 0; i < s.Tq; ++i) {
    int64_t lo, hi;
    rule.key_range(i, i + 1, &lo, &hi);
    pairs += static_cast<double>(std::max<int64_t>(0, hi - lo));
  }
  g_attention_flops += pairs * 4.0 * static_cast<double>(s.B * s.H * s.d);
}

struct Attended {
  Tensor out, lse;  // (B,H,Tq,d), (B,H,Tq)
};

Attended empty_outputs(const cpu::FlashAttentionShape& s, const Tensor& q) {
  return {Tensor::empty(q.shape(), q.dtype(), q.device()), Tensor::empty({s.B, s.H, s.Tq}, q.dtype(), q.device())};
}

// dq, dk, dv of one call, to be overwritten (k and v share a shape).
std::vector<Tensor> empty_grads(const Tensor& q, const Tensor& k) {
  return {Tensor::empty(q.shape(), q.dtype(), q.device()), Tensor::empty(k.shape(), k.dtype(), k.device()),
          Tensor::empty(k.shape(), k.dtype(), k.device())};
}

// The CUDA kernels' arguments; the ALiBi slopes travel to the device in `slopes`.
cuda::FlashArgs cuda_args(const cpu::FlashAttentionShape& s, const cpu::FlashAttentionMask& m, Tensor& slopes,
                          Device device) {
  if (!m.alibi_slopes.empty())
    slopes = Tensor::from_vector(m.alibi_slopes, {s.H}, DType::F64, device);
  return {s.B,      s.H,      s.Hkv,   s.Tq, s.Tk, s.d, s.key_rows(), m.causal, m.window, m.scale,
          slopes.defined() ? slopes.data<double>() : nullptr};
}

// A BF16 copy of an F32 CUDA tensor for the tensor-core kernel, held in an I64
// tensor as raw storage (mixlab has no BF16 dtype; only these kernels read it).
// The first launch of the BF16 path, so the gate is checked here.
Tensor bf16_bits(const Tensor& x) {
  cuda::require_verified("attention", "flash_attention (bf16)");
  Tensor bits = Tensor::empty({(x.numel() + 3) / 4}, DType::I64, x.device());
  cuda::to_bf16(x.device().index, x.data<float>(), static_cast<uint16_t*>(bits.raw()), x.numel());
  return bits;
}
const uint16_t* bits(const Tensor& packed) { return static_cast<const uint16_t*>(packed.raw()); }

// The BF16 inputs of one call, kept for its backward.
struct Bf16Inputs {
  Tensor q, k, v;
};

Attended attend_bf16(const cpu::FlashAttentionShape& shape, const cpu::FlashAttentionMask& m, const Bf16Inputs& in,
                     const Tensor& q) {
  Attended a = empty_outputs(shape, q);
  Tensor slopes;
  const cuda::FlashArgs args = cuda_args(shape, m, slopes, q.device());
  cuda::flash_attention_forward_bf16(q.device().index, args, bits(in.q), bits(in.k), bits(in.v), a.out.data<float>(),
                                     a.lse.data<float>());
  count_flops(shape, m);
  return a;
}

std::vector<Tensor> attend_backward_bf16(const cpu::FlashAttentionShape& shape, const cpu::FlashAttentionMask& m,
                                         const Bf16Inputs& in, const Tensor& q, const Tensor& k, const Tensor& out,
                                         const Tensor& lse, const Tensor& g) {
  std::vector<Tensor> grads = empty_grads(q, k);
  Tensor slopes, row_dot = Tensor::empty(lse.shape(), lse.dtype(), lse.device()), g_bits = bf16_bits(g);
  const cuda::FlashArgs args = cuda_args(shape, m, slopes, q.device());
  cuda::flash_attention_backward_bf16(q.device().index, args, bits(in.q), bits(in.k), bits(in.v), out.data<float>(),
                                      lse.data<float>(), g.data<float>(), bits(g_bits), grads[0].data<float>(),
                                      grads[1].data<float>(), grads[2].data<float>(), row_dot.data<float>());
  return grads;
}

Attended attend(const cpu::FlashAttentionShape& shape, const cpu::FlashAttentionMask& m, const Tensor& q,
                const Tensor& k, const Tensor& v) {
  Attended a = empty_outputs(shape, q);
  // The CUDA kernel takes its ALiBi slopes from device memory (FlashArgs), so the two calls differ.
  if (Backend::of("attention", "flash_attention", q).on_cuda()) {
    Tensor slopes;
    const cuda::FlashArgs args = cuda_args(shape, m, slopes, q.device());
    MIXLAB_DISPATCH_FLOAT(q.dtype(), "flash_attention", [&] {
      cuda::flash_attention_forward(q.device().index, args, q.data<scalar_t>(), k.data<scalar_t>(),
                                    v.data<scalar_t>(), a.out.data<scalar_t>(), a.lse.data<scalar_t>());
    });
  } else {
    MIXLAB_DISPATCH_FLOAT(q.dtype(), "flash_attention", [&] {
      cpu::flash_attention_forward(shape, m, q.data<scalar_t>(), k.data<scalar_t>(), v.data<scalar_t>(),
                                   a.out.data<scalar_t>(), a.lse.data<scalar_t>());
    });
  }
  count_flops(shape, m);
  return a;
}

// dq, dk, dv of one fused attention call.
std::vector<Tensor> attend_backward(const cpu::FlashAttentionShape& shape, const cpu::FlashAttentionMask& m,
                                    const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& out,
                                    const Tensor& lse, const Tensor& g) {
  std::vector<Tensor> grads = empty_grads(q, k);
  Tensor &dq = grads[0], &dk = grads[1], &dv = grads[2];
  // The CUDA backward also takes a row_dot scratch buffer the op allocates on the device.
  if (Backend::of("attention", "flash_attention backward", q).on_cuda()) {
    Tensor slopes, row_dot = Tensor::empty(lse.shape(), lse.dtype(), lse.device());
    const cuda::FlashArgs args = cuda_args(shape, m, slopes, q.device());
    MIXLAB_DISPATCH_FLOAT(q.dtype(), "flash_attention", [&] {
      cuda::flash_attention_backward(q.device().index, args, q.data<scalar_t>(), k.data<scalar_t>(),
                                     v.data<scalar_t>(), out.data<scalar_t>(), lse.data<scalar_t>(),
                                     g.data<scalar_t>(), dq.data<scalar_t>(), dk.data<scalar_t>(),
                                     dv.data<scalar_t>(), row_dot.data<scalar_t>());
    });
  } else {
    MIXLAB_DISPATCH_FLOAT(q.dtype(), "flash_attention", [&] {
      cpu::flash_attention_backward(shape, m, q.data<scalar_t>(), k.data<scalar_t>(), v.data<scalar_t>(),
                                    out.data<scalar_t>(), lse.data<scalar_t>(), g.data<scalar_t>(),
                                    dq.data<scalar_t>(), dk.data<scalar_t>(), dv.data<scalar_t>());
    });
  }
  return grads;
}

}  // namespace

double attention_flops() { return g_attention_flops.load(); }
void reset_attention_flops() { g_attention_flops = 0; }

// q (B,H,Tq,d), k (B,Hkv,Tk,d), v (B,Hkv,Tk,d) -> out (B,H,Tq,d)
Tensor flash_attention(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionMaskSpec& mask) {
  check_attention_inputs(q, k, v, mask, k.defined() ? k.size(2) : 0);
  const cpu::FlashAttentionShape shape{q.size(0), q.size(1), k.size(1), q.size(2), k.size(2), q.size(3)};
  const cpu::FlashAttentionMask m{mask.causal, mask.window, mask.scale, mask.alibi_slopes};
  if (mask.bf16) {
    const Bf16Inputs in{bf16_bits(q), bf16_bits(k), bf16_bits(v)};
    auto [out, lse] = attend_bf16(shape, m, in, q);
    if (needs_grad({q, k, v})) {
      Tensor sq = saved(q), sk = saved(k), so = saved(out);
      record("flash_attention", out, {q, k, v},
             [=](const Tensor& g) { return attend_backward_bf16(shape, m, in, sq, sk, so, lse, g); });
    }
    return out;
  }
  auto [out, lse] = attend(shape, m, q, k, v);
  if (needs_grad({q, k, v})) {
    Tensor sq = saved(q), sk = saved(k), sv = saved(v), so = saved(out);
    record("flash_attention", out, {q, k, v},
           [=](const Tensor& g) { return attend_backward(shape, m, sq, sk, sv, so, lse, g); });
  }
  return out;
}

Tensor flash_attention_cached(const Tensor& q, const Tensor& k, const Tensor& v, int64_t n_keys,
                              const AttentionMaskSpec& mask) {
  check_attention_inputs(q, k, v, mask, n_keys);
  MIXLAB_CHECK(n_keys >= 1 && n_keys <= k.size(2), "flash_attention_cached: ", n_keys, " keys in a cache of ",
               k.size(2), " rows");
  MIXLAB_CHECK(!needs_grad({q, k, v}), "flash_attention_cached: decoding has no gradient; run it under NoGradGuard");
  cpu::FlashAttentionShape shape{q.size(0), q.size(1), k.size(1), q.size(2), n_keys, q.size(3)};
  shape.kv_rows = k.size(2);
  const cpu::FlashAttentionMask m{mask.causal, mask.window, mask.scale, mask.alibi_slopes};
  if (mask.bf16) {
    // The cache's spare rows are converted too: the kernel reads rows by kv_rows.
    return attend_bf16(shape, m, {bf16_bits(q), bf16_bits(k), bf16_bits(v)}, q).out;
  }
  return attend(shape, m, q, k, v).out;
}

}  // namespace mixlab
