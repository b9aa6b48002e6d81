#pragma once
// Vectorised row primitives for the softmax family, through Eigen's SIMD
// exp (AVX-512/AVX2 under -march=native). libm's scalar exp was ~16% of a
// small model's training step (perf), most of it in the cross-entropy over
// the vocabulary.
#include <Eigen/Core>
#include <cstdint>

namespace mixlab::cpu::vec {

template <typename T>
using ConstRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
template <typename T>
using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;

template <typename T>
T max(const T* x, int64_t n) {
  return ConstRow<T>(x, n).maxCoeff();
}

// sum_k exp(x[k] - shift), accumulated in T by Eigen's fixed-order reduction.
template <typename T>
double sum_exp(const T* x, int64_t n, T shift) {
  return static_cast<double>((ConstRow<T>(x, n) - shift).exp().sum());
}

// out[k] = scale * exp(x[k] - shift)
template <typename T>
void scaled_exp(const T* x, int64_t n, T shift, T scale, T* out) {
  Row<T>(out, n) = (ConstRow<T>(x, n) - shift).exp() * scale;
}

}  // namespace mixlab::cpu::vec
