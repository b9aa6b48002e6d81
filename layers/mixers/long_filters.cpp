#include "layers/mixers/long_filters.h"

#include <cmath>
#include <vector>

#include "autograd/ops.h"
#include "autograd/ops/long_conv.h"

namespace mixlab {

Tensor filter_positions(int64_t l_max, int64_t d_emb) {
  const int64_t bands = (d_emb - 1) / 2;
  std::vector<double> z(l_max * d_emb);
  for (int64_t s = 0; s < l_max; ++s) {
    const double w = 2 * M_PI * static_cast<double>(s) / static_cast<double>(l_max);
    z[s * d_emb] = l_max > 1 ? static_cast<double>(s) / static_cast<double>(l_max - 1) : 0.0;
    for (int64_t k = 0; k < bands; ++k) {
      // torch.linspace(1e-4, bands - 1, bands): a single band sits at the start.
      const double f = bands > 1 ? 1e-4 + (bands - 1 - 1e-4) * static_cast<double>(k) / (bands - 1) : 1e-4;
      z[s * d_emb + 1 + k] = std::cos(f * w);
      z[s * d_emb + 1 + bands + k] = -std::sin(f * w);
    }
  }
  return Tensor::from_vector(z, {l_max, d_emb}, DType::F32);
}

Tensor filter_times(int64_t l_max) {
  std::vector<double> t(l_max);
  for (int64_t s = 0; s < l_max; ++s) t[s] = l_max > 1 ? static_cast<double>(s) / static_cast<double>(l_max - 1) : 0.0;
  return Tensor::from_vector(t, {l_max, 1}, DType::F32);
}

Tensor decay_rates(int64_t channels) {
  const double target = 1e-2, fast = 0.3, slow = 1.5;
  const double lo = std::log(target) / slow, hi = std::log(target) / fast;
  std::vector<double> d(channels);
  for (int64_t c = 0; c < channels; ++c)
    d[c] = std::abs(channels > 1 ? lo + (hi - lo) * static_cast<double>(c) / static_cast<double>(channels - 1) : lo);
  return Tensor::from_vector(d, {1, channels}, DType::F32);
}

EnumNames<LongConvAlgorithm> long_conv_algorithms() {
  return named<LongConvAlgorithm>(
      {{"auto", LongConvAlgorithm::Auto}, {"fft", LongConvAlgorithm::Fft}, {"direct", LongConvAlgorithm::Direct}});
}

Tensor taps_oldest_first(const Tensor& h) {
  const int64_t K = h.size(1);
  std::vector<int64_t> order(K);
  for (int64_t i = 0; i < K; ++i) order[i] = K - 1 - i;
  return index_select(transpose(h, 0, 1), 0, Tensor::from_indices(order, Shape{K}, h.device()));
}

Tensor convolve_newest(const Tensor& history, const Tensor& taps) {
  const int64_t n = history.size(1), K = taps.size(0);
  return sum(mul(history, slice(taps, 0, K - n, K)), 1);
}

Tensor append_history(const Tensor& history, const Tensor& rows, int64_t keep) {
  Tensor all = history.defined() && history.size(1) > 0 ? concat({history, rows}, 1) : rows;
  const int64_t n = all.size(1);
  return n > keep ? slice(all, 1, n - keep, n) : all;
}

}  // namespace mixlab
