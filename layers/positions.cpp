#include "layers/positions.h"

#include <algorithm>
#include <cmath>

#include "autograd/ops.h"

namespace mixlab {

double Rope::effective_base(int64_t d) const {
  return scaling == Scaling::Ntk ? base * std::pow(factor, static_cast<double>(d) / static_cast<double>(d - 2)) : base;
}

namespace {

// The weight of extrapolation (θ_i kept) for pair i, from 1 at high
// frequencies to 0 at low ones.
std::vector<double> yarn_extrapolation(const Rope& rope, int64_t d, const std::vector<double>& theta) {
  std::vector<double> w(d / 2);
  if (rope.ramp == Rope::Ramp::Continuous) {
    for (int64_t i = 0; i < d / 2; ++i) {
      // Rotations dimension pair i completes over the original context.
      const double r = static_cast<double>(rope.original_length) * theta[i] / (2.0 * M_PI);
      w[i] = std::clamp((r - rope.beta_slow) / (rope.beta_fast - rope.beta_slow), 0.0, 1.0);
    }
    return w;
  }
  // The pair index at which r_i = rotations (a real number).
  auto pair_at = [&](double rotations) {
    return static_cast<double>(d) * std::log(static_cast<double>(rope.original_length) / (rotations * 2.0 * M_PI)) /
           (2.0 * std::log(rope.base));
  };
  const double low = std::max(std::floor(pair_at(rope.beta_fast)), 0.0);
  double high = std::min(std::ceil(pair_at(rope.beta_slow)), static_cast<double>(d - 1));
  if (low == high) high += 0.001;
  for (int64_t i = 0; i < d / 2; ++i) w[i] = 1.0 - std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
  return w;
}

}  // namespace

std::vector<double> Rope::frequencies(int64_t d) const {
  const double b = effective_base(d);
  std::vector<double> theta(d / 2);
  for (int64_t i = 0; i < d / 2; ++i) theta[i] = std::pow(b, -2.0 * static_cast<double>(i) / static_cast<double>(d));
  if (scaling != Scaling::Yarn) return theta;
  const std::vector<double> extrapolate = yarn_extrapolation(*this, d, theta);
  for (int64_t i = 0; i < d / 2; ++i)
    theta[i] = (1.0 - extrapolate[i]) * theta[i] / factor + extrapolate[i] * theta[i];
  return theta;
}

double Rope::magnitude() const { return scaling == Scaling::Yarn ? 0.1 * std::log(factor) + 1.0 : 1.0; }

std::pair<Tensor, Tensor> Rope::tables(int64_t T, int64_t d, int64_t first, DType dtype, Device device) const {
  MIXLAB_CHECK(d % 2 == 0 && d >= 2, "RoPE needs an even head dimension, got ", d);
  const std::vector<double> theta = frequencies(d);
  const double m = magnitude();
  std::vector<double> c(T * d), s(T * d);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t i = 0; i < d / 2; ++i) {
      const double angle = static_cast<double>(first + t) * theta[i];
      c[t * d + i] = c[t * d + i + d / 2] = m * std::cos(angle);
      s[t * d + i] = s[t * d + i + d / 2] = m * std::sin(angle);
    }
  return {Tensor::from_vector(c, {T, d}, dtype, device), Tensor::from_vector(s, {T, d}, dtype, device)};
}

Tensor Rope::apply(const Tensor& x, int64_t first) const {
  const int64_t T = x.size(-2), d = x.size(-1);
  auto [cos, sin] = tables(T, d, first, x.dtype(), x.device());
  // rotate_half(x) = (−x2, x1) for x = (x1, x2)
  Tensor rotated = concat({neg(slice(x, -1, d / 2, d)), slice(x, -1, 0, d / 2)}, -1);
  return add(mul(x, cos), mul(rotated, sin));
}

std::vector<double> alibi_slopes(int64_t n) {
  auto power_of_two = [](int64_t h) {
    std::vector<double> m(h);
    for (int64_t i = 0; i < h; ++i) m[i] = std::pow(2.0, -8.0 * static_cast<double>(i + 1) / static_cast<double>(h));
    return m;
  };
  int64_t p = 1;
  while (p * 2 <= n) p *= 2;
  std::vector<double> m = power_of_two(p);
  if (p == n) return m;
  const std::vector<double> extra = power_of_two(2 * p);
  for (int64_t i = 0; static_cast<int64_t>(m.size()) < n; i += 2) m.push_back(extra[i]);
  return m;
}

Tensor alibi_bias(const std::vector<double>& slopes, int64_t Tq, int64_t Tk, int64_t first_query, int64_t first_key,
                  DType dtype, Device device) {
  const int64_t H = static_cast<int64_t>(slopes.size());
  std::vector<double> b(H * Tq * Tk);
  for (int64_t h = 0; h < H; ++h)
    for (int64_t i = 0; i < Tq; ++i)
      for (int64_t j = 0; j < Tk; ++j)
        b[(h * Tq + i) * Tk + j] = -slopes[h] * static_cast<double>((first_query + i) - (first_key + j));
  return Tensor::from_vector(b, {H, Tq, Tk}, dtype, device);
}

}  // namespace mixlab
