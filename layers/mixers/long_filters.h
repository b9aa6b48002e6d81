#pragma once
// Pieces shared by the long-convolution mixers (baseconv, h3, hyena):
// the positional features and decay window of Zoology's implicit filters,
// and decoding by a cache of past inputs convolved directly.
#include <cstdint>

#include "autograd/ops/long_conv.h"
#include "autograd/tensor.h"
#include "layers/mixers/mixer.h"
#include "layers/mixers/registry.h"

namespace mixlab {

// Zoology's PositionalEmbedding for implicit filters (zoology/mixers/
// convolution.py and hyena.py), (l_max, d_emb) at F32: row s is
//   [ s/(l_max-1),  cos(f_k w_s) for k < bands,  -sin(f_k w_s) for k < bands ]
// with bands = (d_emb-1)/2, w_s = 2π s / l_max and f = linspace(1e-4, bands-1, bands)
// (so with the default d_emb = 3 the one band has frequency 1e-4: the
// "sinusoid" columns are nearly constant, 1 and -2π·1e-4·s/l_max).
Tensor filter_positions(int64_t l_max, int64_t d_emb);
// s/(l_max-1) for s < l_max, as (l_max, 1): the time the decay window reads.
Tensor filter_times(int64_t l_max);
// Hyena's ExponentialModulation rates |δ_c|, (1, channels): δ =
// linspace(ln(target)/slow, ln(target)/fast, channels) with Hyena's defaults
// fast = 0.3, slow = 1.5, target = 1e-2; the window is exp(-t |δ_c|).
Tensor decay_rates(int64_t channels);

// The names of the long convolution's algorithms, for the mixers' `conv` key.
EnumNames<LongConvAlgorithm> long_conv_algorithms();

// The filter taps in decode order: h (C, K) -> (K, C) with row i holding
// tap K-1-i, so the last n rows line up with a history of the last n inputs, oldest first.
Tensor taps_oldest_first(const Tensor& h);
// The convolution's output at the newest position of `history` (B, n, C),
// oldest first, n <= K: sum_i history[b,i,c] · taps[K-n+i, c], taps from taps_oldest_first.
Tensor convolve_newest(const Tensor& history, const Tensor& taps);
// `history` (B, n, C) with `rows` (B, m, C) appended, keeping at most the last `keep` rows.
Tensor append_history(const Tensor& history, const Tensor& rows, int64_t keep);

}  // namespace mixlab
