#pragma once
// Fused optimizer kernels over host buffers.
#include <cstdint>

namespace mixlab::cpu {

struct AdamWStep {
  double lr, beta1, beta2, eps, weight_decay;
  double bias_correction1, bias_correction2;  // 1 - beta^t
};

// One AdamW update in place (PyTorch semantics: decoupled decay p -= lr·wd·p,
// then the bias-corrected Adam step). p, g, m, v have n elements.
template <typename T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamWStep& s);

// Sum of squares, accumulated in double in a fixed order (deterministic).
template <typename T>
double sum_of_squares(const T* x, int64_t n);

template <typename T>
void scale_in_place(T* x, int64_t n, double factor);

}  // namespace mixlab::cpu
