#pragma once
// The CUDA device abstraction, as plain functions over raw device pointers.
// Implemented in kernels/cuda/*.cu when mixlab is built with CUDA; otherwise
// autograd/cuda_unavailable.cpp reports no device and every call throws.
// Only the allocator and the op dispatchers call these; nothing else touches
// device memory.
#include <cstddef>
#include <cstdint>

#include "kernels/elementwise_math.h"

namespace mixlab::cuda {

bool built_with_cuda();
int device_count();  // 0 when not built with CUDA or no device/driver is present

void* device_malloc(int device, size_t bytes);
void device_free(int device, void* ptr);

void copy_host_to_device(int device, void* dst, const void* src, size_t bytes);
void copy_device_to_host(int device, void* dst, const void* src, size_t bytes);
void copy_device_to_device(int device, void* dst, const void* src, size_t bytes);
void fill_zero(int device, void* dst, size_t bytes);
// Waits for every kernel queued on the device (benchmarks time with it; a
// fault inside an earlier kernel surfaces here).
void synchronize(int device);

// Temporary device memory for library algorithms (Thrust: kernels/cuda/
// thrust_pool.cuh), from the device's caching allocator (autograd/allocator.cpp).
void* scratch_allocate(int device, size_t bytes, size_t* block_bytes);
void scratch_free(int device, void* ptr, size_t block_bytes);

// Row-major batched GEMM through cuBLAS: for each b < batch,
// C_b = alpha * op(A_b) * op(B_b) + beta * C_b with op(A) (M,K), op(B) (K,N),
// C (M,N); strides are element counts between consecutive batch matrices
// (0 broadcasts one matrix over the batch).
void gemm_f32(int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
              const float* A, int64_t stride_a, const float* B, int64_t stride_b, float beta, float* C,
              int64_t stride_c, int64_t batch);
// F32 GEMMs on TF32 tensor cores (inputs rounded to a 10-bit mantissa, F32
// accumulation) from now on; off by default.
void set_tf32(bool on);
bool tf32_enabled();
void gemm_f64(int device, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha,
              const double* A, int64_t stride_a, const double* B, int64_t stride_b, double beta, double* C,
              int64_t stride_c, int64_t batch);

// Elementwise ops over device buffers (float and double), as the CPU's
// kernels/cpu/elementwise_kernels.h: out = a op b through broadcast strides;
// the broadcasting copy of a; out = a*s + t; y = f(x); gx = gy * f'(x).
template <typename T>
void binary(int device, kernels::BinaryOp op, const kernels::BroadcastIndex& ix, const T* a, const T* b, T* out);
template <typename T>
void broadcast_copy(int device, const kernels::BroadcastIndex& ix, const T* a, T* out);
template <typename T>
void affine(int device, const T* a, T* out, int64_t n, double s, double t);
template <typename T>
void unary_forward(int device, kernels::UnaryOp op, kernels::UnaryParams p, const T* x, T* y, int64_t n);
template <typename T>
void unary_backward(int device, kernels::UnaryOp op, kernels::UnaryParams p, const T* x, const T* y, const T* gy,
                    T* gx, int64_t n);

// Reductions over the middle axis of x viewed as (outer, n, inner), as the
// CPU's kernels/cpu/reduce_kernels.h (deterministic order).
template <typename T>
void sum_axis(int device, const T* x, T* out, int64_t outer, int64_t n, int64_t inner, double scale);
template <typename T>
void max_axis(int device, const T* x, T* out, int64_t* argmax, int64_t outer, int64_t n, int64_t inner);
template <typename T>
void max_axis_backward(int device, const T* g, const int64_t* argmax, T* gx, int64_t outer, int64_t n, int64_t inner);

// Softmax / log-softmax along the middle axis of (outer, n, inner), and the
// fused cross-entropy over logits (N, V), as kernels/cpu/nn_kernels.h: lse
// and row_loss are device buffers of N doubles (0 on ignored rows); the op
// sums row_loss on the host.
template <typename T>
void softmax_forward(int device, const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log);
template <typename T>
void softmax_backward(int device, const T* y, const T* g, T* dx, int64_t outer, int64_t n, int64_t inner, bool log);
template <typename T>
void cross_entropy_forward(int device, const T* logits, const int64_t* targets, double* lse, double* row_loss,
                           int64_t N, int64_t V, int64_t ignore_index);
template <typename T>
void cross_entropy_backward(int device, const T* logits, const int64_t* targets, const double* lse, double scale,
                            T* dlogits, int64_t N, int64_t V, int64_t ignore_index);

// Layer norm, RMS norm (weight/bias/mean and any unwanted gradient may be
// null) and dropout with the CPU's Philox counters, as kernels/cpu/nn_kernels.h.
template <typename T>
void layer_norm_forward(int device, const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t R,
                        int64_t C, double eps);
template <typename T>
void layer_norm_backward(int device, const T* x, const T* weight, const T* mean, const T* rstd, const T* g, T* dx,
                         T* dweight, T* dbias, int64_t R, int64_t C);
template <typename T>
void rms_norm_forward(int device, const T* x, const T* weight, T* y, T* rstd, int64_t R, int64_t C, double eps);
template <typename T>
void rms_norm_backward(int device, const T* x, const T* weight, const T* rstd, const T* g, T* dx, T* dweight,
                       int64_t R, int64_t C);
template <typename T>
void dropout_apply(int device, const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t first);

// Data movement, as kernels/cpu/shape_kernels.h (float, double, int64_t;
// scatter_add float and double): out[k] = in[sum_d i_d * in_strides[d]] over
// out_shape; axis-range copies; gather and deterministic scatter-add along
// the middle axis of (outer, len, inner).
struct PermuteIndex {
  int ndim = 0;
  int64_t out_shape[5] = {};
  int64_t in_strides[5] = {};
};
template <typename T>
void permute_copy(int device, const T* in, T* out, const PermuteIndex& ix);
// The bounds check of gathers and scatters on the device, as
// cpu::first_index_outside: the first position of idx (n entries) outside
// [0, limit), or -1; `scratch` is one device int64. Only 8 bytes cross.
int64_t first_index_outside(int device, const int64_t* idx, int64_t n, int64_t limit, int64_t* scratch);
template <typename T>
void copy_axis_range(int device, const T* src, int64_t src_len, int64_t src_start, T* dst, int64_t dst_len,
                     int64_t dst_start, int64_t outer, int64_t count, int64_t inner);
template <typename T>
void index_select(int device, const T* x, const int64_t* idx, T* out, int64_t outer, int64_t len, int64_t n,
                  int64_t inner);
template <typename T>
void scatter_add(int device, T* dst, const int64_t* idx, const T* src, int64_t outer, int64_t len, int64_t n,
                 int64_t inner);

// Sequence-axis ops, as kernels/cpu/scan_kernels.h: the cumulative sum along
// the middle axis of (outer, n, inner), and the causal depthwise conv1d over
// (batch, time, channels) with weight (channels, taps); null pointers for
// the bias and for unwanted gradients.
template <typename T>
void cumsum(int device, const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool reverse);
template <typename T>
void causal_conv1d_forward(int device, const T* x, const T* weight, const T* bias, T* out, int64_t batch,
                           int64_t time, int64_t channels, int64_t taps);
template <typename T>
void causal_conv1d_backward(int device, const T* x, const T* weight, const T* g, T* dx, T* dweight, T* dbias,
                            int64_t batch, int64_t time, int64_t channels, int64_t taps);

// AdamW over every parameter in one launch, as kernels/cpu/optim_kernels.h
// (PyTorch semantics): `tensors` is a device array of `count` entries, the
// largest with `largest` elements. sum_of_squares returns the sum of x^2 in
// double (Thrust over CUB: the same result on every run).
template <typename T>
struct AdamWTensor {
  T* p;
  const T* g;
  T* m;
  T* v;
  int64_t n;
  double weight_decay;
};
struct AdamWHyper {
  double lr, beta1, beta2, eps;
  double bias_correction1, bias_correction2;  // 1 - beta^t
};
template <typename T>
void adamw_update_all(int device, const AdamWTensor<T>* tensors, int64_t count, int64_t largest, const AdamWHyper& h);
template <typename T>
double sum_of_squares(int device, const T* x, int64_t n);

// Fused attention, as kernels/cpu/flash_attention.h (same layout, mask and
// bias rules): q (B,H,Tq,d), k and v (B,Hkv,kv_rows,d) of which the first Tk
// rows are read, o (B,H,Tq,d), lse (B,H,Tq). `slopes` is a device array of H
// ALiBi slopes or null. The backward overwrites dq, dk, dv (k, v with
// kv_rows = Tk) and uses `row_dot` (B*H*Tq elements) as scratch; it is
// deterministic (no atomics).
struct FlashArgs {
  int64_t B, H, Hkv, Tq, Tk, d, kv_rows;
  bool causal;
  int64_t window;  // 0: none
  double scale;
  const double* slopes;
};
constexpr int64_t kFlashMaxHeadDim = 128;
template <typename T>
void flash_attention_forward(int device, const FlashArgs& a, const T* q, const T* k, const T* v, T* o, T* lse);
template <typename T>
void flash_attention_backward(int device, const FlashArgs& a, const T* q, const T* k, const T* v, const T* o,
                              const T* lse, const T* dout, T* dq, T* dk, T* dv, T* row_dot);

// The same with BF16 inputs on tensor cores (WMMA, FP32 accumulation; sm_80
// or newer, d <= 128): q, k, v and the backward's dout_bf16 hold BF16 bit
// patterns; o, lse, dout and the gradients are FP32. to_bf16 rounds FP32 to
// BF16 (to nearest even).
void to_bf16(int device, const float* x, uint16_t* y, int64_t n);
void flash_attention_forward_bf16(int device, const FlashArgs& a, const uint16_t* q, const uint16_t* k,
                                  const uint16_t* v, float* o, float* lse);
void flash_attention_backward_bf16(int device, const FlashArgs& a, const uint16_t* q, const uint16_t* k,
                                   const uint16_t* v, const float* o, const float* lse, const float* dout,
                                   const uint16_t* dout_bf16, float* dq, float* dk, float* dv, float* row_dot);

// The gated linear recurrence, as kernels/cpu/gated_scan.h (same layout and
// math), in its recurrent form (one block per (batch, head)). The forward
// saves the state entering every `chunk` tokens in chunk_states (B, H,
// ceil(T/chunk), dk, dv) when not null; the backward replays each chunk from
// it and needs gated_scan_backward_scratch(s) elements of scratch. dg, du,
// ds0 may be null; dq, dk, dv are always written. Deterministic.
struct GatedScanArgs {
  int64_t B, H, Hq, T, dk, dv;
  int64_t decay_width;  // 0, 1 or dk
  int64_t chunk;
  bool bonus;
  double scale;
};
template <typename T>
void gated_scan_forward(int device, const GatedScanArgs& s, const T* q, const T* k, const T* v, const T* g,
                        const T* u, const T* s0, T* o, T* final_state, T* chunk_states);
int64_t gated_scan_backward_scratch(const GatedScanArgs& s);
template <typename T>
void gated_scan_backward(int device, const GatedScanArgs& s, const T* q, const T* k, const T* v, const T* g,
                         const T* u, const T* chunk_states, const T* dout, T* dq, T* dk, T* dv, T* dg, T* du, T* ds0,
                         T* scratch);

// MoE routing (layers/moe_routing.h) over router probabilities (N, E) on the
// device: picked (N·K), order and tokens (N·K; the first M = Σ kept are the
// plan), slot_rows (K·N); routed (E) is a host array; scratch holds
// moe_route_scratch(N, E, K) elements.
int64_t moe_route_scratch(int64_t N, int64_t E, int64_t K);
template <typename T>
void moe_route(int device, const T* probs, int64_t N, int64_t E, int64_t K, int64_t capacity, int64_t* picked,
               int64_t* order, int64_t* tokens, int64_t* slot_rows, int64_t* scratch, int64_t* routed);

// Kernel families that have never run on a GPU are off until a passing run of
// scripts/gpu-check.sh verifies them (docs/cuda.md): calling one throws,
// naming `op` and the environment variable MIXLAB_CUDA_UNVERIFIED=1 that
// enables them anyway. `family` is e.g. "elementwise".
void require_verified(const char* family, const char* op);

}  // namespace mixlab::cuda
