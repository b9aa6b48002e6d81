// The index logic of CUDA kernels, checked on the CPU (it compiles for both):
// the fused attention's masked scores, and its tile ranges never skip a visible (query, key) pair,
// and the MoE routing kernel's top-k rule equals a stable sort.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "autograd/rng.h"
#include "autograd/tensor.h"
#include "kernels/cpu/flash_attention.h"
#include "kernels/cuda/flash_mask.h"
#include "kernels/cuda/moe_topk.h"

using namespace mixlab;

namespace {

// The tightest [lo, hi) of keys (for a tile of queries [t0, t1)) or of
// queries (for a tile of keys) holding every visible pair; lo >= hi if none.
std::pair<int64_t, int64_t> visible_span(const cuda::FlashArgs& a, bool query_tile, int64_t t0, int64_t t1) {
  const int64_t other = query_tile ? a.Tk : a.Tq;
  int64_t lo = other, hi = 0;
  for (int64_t t = t0; t < t1; ++t)
    for (int64_t o = 0; o < other; ++o)
      if (query_tile ? cuda::flash::visible(a, t, o) : cuda::flash::visible(a, o, t)) {
        lo = std::min(lo, o);
        hi = std::max(hi, o + 1);
      }
  return {lo, hi};
}

// A kernel's tile range equals the span; a tile nothing is visible to may get any empty range.
void check_range(int64_t lo, int64_t hi, std::pair<int64_t, int64_t> span) {
  if (span.second > span.first) {
    CHECK(lo == span.first);
    CHECK(hi == span.second);
  } else {
    CHECK(lo >= hi);
  }
}

}  // namespace

TEST_CASE("flash mask: tile key and query ranges cover every visible pair and are tight", "[kernels][attention]") {
  int checked = 0;
  for (int64_t Tq : {1, 7, 33, 64, 100})
    for (int64_t Tk : {1, 7, 33, 64, 100, 130})
      for (bool causal : {true, false})
        for (int64_t window : {0, 1, 5, 40})
          for (int64_t tile : {32, 64}) {
            if (causal && Tq > Tk) continue;  // refused by the op
            cuda::FlashArgs a{1, 1, 1, Tq, Tk, 8, Tk, causal, window, 1.0, nullptr};
            INFO("Tq " << Tq << " Tk " << Tk << (causal ? " causal" : " full") << " window " << window << " tile "
                       << tile);
            for (int64_t i0 = 0; i0 < Tq; i0 += tile) {
              int64_t lo, hi;
              cuda::flash::key_range(a, i0, std::min(Tq, i0 + tile), &lo, &hi);
              check_range(lo, hi, visible_span(a, true, i0, std::min(Tq, i0 + tile)));
            }
            for (int64_t j0 = 0; j0 < Tk; j0 += tile) {
              int64_t lo, hi;
              cuda::flash::query_range(a, j0, std::min(Tk, j0 + tile), &lo, &hi);
              check_range(lo, hi, visible_span(a, false, j0, std::min(Tk, j0 + tile)));
            }
            ++checked;
          }
  CHECK(checked > 300);
}

TEST_CASE("flash mask: visibility is the CPU kernel's rule", "[kernels][attention]") {
  // The CUDA helpers read the rule from FlashArgs, the CPU kernel from its
  // shape and mask: the same keys for every pair (a swapped Tq/Tk or a dropped
  // window in either mapping fails here).
  for (int64_t Tq : {1, 3, 8})
    for (int64_t Tk : {3, 8, 11})
      for (bool causal : {true, false})
        for (int64_t window : {0, 2}) {
          if (causal && Tq > Tk) continue;
          const cuda::FlashArgs args{1, 1, 1, Tq, Tk, 8, Tk, causal, window, 1.0, nullptr};
          const kernels::AttentionVisibility cpu_rule =
              cpu::visibility({1, 1, 1, Tq, Tk, 8}, {causal, window, 1.0, {}});
          for (int64_t i = 0; i < Tq + 1; ++i)
            for (int64_t j = 0; j < Tk + 1; ++j) CHECK(cuda::flash::visible(args, i, j) == cpu_rule.visible(i, j));
        }
  // Bottom-right aligned: query i sits at i + Tk - Tq.
  cuda::FlashArgs a{1, 1, 1, 3, 10, 8, 10, true, 4, 1.0, nullptr};
  CHECK(cuda::flash::visible(a, 0, 7));   // pos 7 sees itself
  CHECK_FALSE(cuda::flash::visible(a, 0, 8));  // the future
  CHECK(cuda::flash::visible(a, 0, 4));   // pos − j = 3 < 4
  CHECK_FALSE(cuda::flash::visible(a, 0, 3));  // = 4: outside the window
  CHECK_FALSE(cuda::flash::visible(a, 3, 0));  // past the last query row
  const double slopes[1] = {0.5};
  a.slopes = slopes;
  a.scale = 0.25;
  CHECK(cuda::flash::alibi(a, 0, 2, 6) == 0.5 * (9 - 6));
  // Scores: scaled, then the bias subtracted; -inf where hidden, whose probability is 0.
  CHECK(cuda::flash::masked_score(a, 0, 2, 6, 8.0) == 8.0 * 0.25 - 0.5 * 3);
  CHECK(cuda::flash::masked_score(a, 0, 0, 8, 8.0) == -std::numeric_limits<double>::infinity());
  const double hidden = cuda::flash::masked_score(a, 0, 0, 8, 8.0);
  CHECK(cuda::flash::probability(hidden, -std::numeric_limits<double>::infinity()) == 0.0);
  CHECK(cuda::flash::probability(1.5, 0.5) == std::exp(1.0));
}

TEST_CASE("moe top-k rule: next_choice ranks like a stable sort by probability", "[kernels][moe]") {
  Generator gen(8);
  for (int64_t E : {1, 2, 5, 16}) {
    for (int trial = 0; trial < 50; ++trial) {
      // Few distinct values, so ties are common.
      std::vector<double> p = Tensor::uniform({E}, gen, 0.0, 4.0, DType::F64).to_vector();
      for (double& v : p) v = std::floor(v);
      std::vector<int64_t> expected(E);
      std::iota(expected.begin(), expected.end(), 0);
      std::stable_sort(expected.begin(), expected.end(), [&](int64_t x, int64_t y) { return p[x] > p[y]; });
      int64_t last = -1;
      for (int64_t s = 0; s < E; ++s) {
        last = cuda::moe::next_choice(p.data(), E, last);
        CHECK(last == expected[s]);
      }
      CHECK(cuda::moe::next_choice(p.data(), E, last) == -1);  // none ranked after the last
    }
  }
}
