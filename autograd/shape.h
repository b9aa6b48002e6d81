#pragma once
// Shape: up to kMaxDims extents, stored inline (no heap), row-major.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "autograd/error.h"

namespace mixlab {

constexpr int kMaxDims = 5;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) { assign(dims.begin(), dims.end()); }
  explicit Shape(const std::vector<int64_t>& dims) { assign(dims.begin(), dims.end()); }

  int ndim() const { return n_; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  // Negative axes count from the end, as in NumPy.
  int axis(int a) const {
    int r = a < 0 ? a + n_ : a;
    MIXLAB_CHECK(r >= 0 && r < n_, "axis ", a, " is out of range for shape ", str());
    return r;
  }
  int64_t size(int a) const { return d_[axis(a)]; }
  int64_t numel() const {
    int64_t p = 1;
    for (int i = 0; i < n_; ++i) p *= d_[i];
    return p;
  }
  // Product of extents in [from, to).
  int64_t prod(int from, int to) const {
    int64_t p = 1;
    for (int i = from; i < to; ++i) p *= d_[i];
    return p;
  }
  const int64_t* begin() const { return d_.data(); }
  const int64_t* end() const { return d_.data() + n_; }
  std::vector<int64_t> vec() const { return {begin(), end()}; }
  void push_back(int64_t v) {
    MIXLAB_CHECK(n_ < kMaxDims, "shape ", str(), " cannot grow past ", kMaxDims, " dims");
    d_[n_++] = v;
  }
  bool operator==(const Shape& o) const {
    if (n_ != o.n_) return false;
    for (int i = 0; i < n_; ++i)
      if (d_[i] != o.d_[i]) return false;
    return true;
  }
  std::string str() const {
    std::string s = "(";
    for (int i = 0; i < n_; ++i) s += (i ? "," : "") + std::to_string(d_[i]);
    return s + ")";
  }

 private:
  template <typename It>
  void assign(It b, It e) {
    n_ = 0;
    for (; b != e; ++b) {
      MIXLAB_CHECK(n_ < kMaxDims, "shapes have at most ", kMaxDims, " dims");
      // -1 is allowed only as reshape's "infer this extent"; Tensor::empty rejects it.
      MIXLAB_CHECK(*b >= -1, "negative extent ", *b, " in a shape");
      d_[n_++] = *b;
    }
  }
  std::array<int64_t, kMaxDims> d_{};
  int n_ = 0;
};

}  // namespace mixlab
