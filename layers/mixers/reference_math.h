#pragma once
// Host-side helpers for the mixers' plain-loop F64 references
// (SequenceMixer::reference_forward). Deliberately naive: they exist to be
// obviously right, not fast, and share nothing with the fast paths.
#include <cmath>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab::reference {

// A row-major matrix of doubles copied off a tensor.
struct Matrix {
  std::vector<double> v;
  int64_t rows = 0, cols = 0;
  double operator()(int64_t r, int64_t c) const { return v[r * cols + c]; }
};

inline Matrix host(const Tensor& t) {
  Matrix m;
  m.v = t.to_vector();
  m.cols = t.ndim() ? t.size(-1) : 1;
  m.rows = m.cols ? static_cast<int64_t>(m.v.size()) / m.cols : 0;
  return m;
}

// y = W x + b for torch-layout W (out, in); b may be empty.
inline std::vector<double> linear(const Matrix& W, const std::vector<double>& b, const double* x) {
  std::vector<double> y(W.rows);
  for (int64_t o = 0; o < W.rows; ++o) {
    double acc = b.empty() ? 0.0 : b[o];
    for (int64_t i = 0; i < W.cols; ++i) acc += W(o, i) * x[i];
    y[o] = acc;
  }
  return y;
}

inline std::vector<double> values(const Tensor& t) { return t.defined() ? t.to_vector() : std::vector<double>{}; }

}  // namespace mixlab::reference
