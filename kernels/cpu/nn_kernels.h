#pragma once
// Fused kernels for the nn ops (softmax, cross-entropy, layer/RMS norm, dropout)
// over contiguous host buffers. Row statistics accumulate in double, and every
// result is independent of the OpenMP thread count: rows are independent, and
// reductions across rows (dweight, dbias, the loss mean) run in a fixed order.
#include <cstdint>

namespace mixlab::cpu {

// x (outer, n, inner) -> y (outer, n, inner): softmax, or log-softmax when `log`, along n.
template <typename T>
void softmax_forward(const T* x, T* y, int64_t outer, int64_t n, int64_t inner, bool log);
// y (the forward output), g (outer, n, inner) -> dx (outer, n, inner).
template <typename T>
void softmax_backward(const T* y, const T* g, T* dx, int64_t outer, int64_t n, int64_t inner, bool log);

// targets (N) -> the first row whose target is neither ignore_index nor in [0, V), or -1.
int64_t cross_entropy_invalid_row(const int64_t* targets, int64_t N, int64_t V, int64_t ignore_index);

struct CrossEntropyTotals {
  double loss_sum = 0;  // sum of -log softmax(logits)[target] over counted rows
  int64_t count = 0;    // rows whose target != ignore_index
};
// logits (N,V), targets (N) -> lse (N): logsumexp of each counted row (0 on ignored
// rows), saved for the backward; the loss is summed serially in row order.
template <typename T>
CrossEntropyTotals cross_entropy_forward(const T* logits, const int64_t* targets, double* lse, int64_t N, int64_t V,
                                         int64_t ignore_index);
// logits (N,V), targets (N), lse (N) -> dlogits (N,V) = scale * (softmax - onehot(target))
// on counted rows, 0 on ignored rows; scale is dloss / count.
template <typename T>
void cross_entropy_backward(const T* logits, const int64_t* targets, const double* lse, double scale, T* dlogits,
                            int64_t N, int64_t V, int64_t ignore_index);

// x (R,C), weight (C) or null, bias (C) or null -> y (R,C), mean (R), rstd (R):
// y = (x - mean) * rstd * weight + bias, rstd = 1 / sqrt(var + eps) (biased var).
template <typename T>
void layer_norm_forward(const T* x, const T* weight, const T* bias, T* y, T* mean, T* rstd, int64_t R, int64_t C,
                        double eps);
// x, g (R,C), weight (C) or null, mean, rstd (R) -> dx (R,C), dweight (C), dbias (C);
// pass null for an output that is not wanted.
template <typename T>
void layer_norm_backward(const T* x, const T* weight, const T* mean, const T* rstd, const T* g, T* dx, T* dweight,
                         T* dbias, int64_t R, int64_t C);

// x (R,C), weight (C) or null -> y (R,C), rstd (R): y = x * rstd * weight,
// rstd = 1 / sqrt(mean(x^2) + eps).
template <typename T>
void rms_norm_forward(const T* x, const T* weight, T* y, T* rstd, int64_t R, int64_t C, double eps);
// x, g (R,C), weight (C) or null, rstd (R) -> dx (R,C), dweight (C); either may be null.
template <typename T>
void rms_norm_backward(const T* x, const T* weight, const T* rstd, const T* g, T* dx, T* dweight, int64_t R,
                       int64_t C);

// in (n) -> out (n): out[i] = in[i] / (1 - p) if philox::uniform(seed, first + i) >= p,
// else 0. The mask depends only on (seed, first, i), so the backward recomputes it
// by applying the same call to the gradient instead of storing it.
template <typename T>
void dropout_apply(const T* in, T* out, int64_t n, double p, uint64_t seed, uint64_t first);

}  // namespace mixlab::cpu
