// The attention visibility rule (kernels/attention_visibility.h) that the CPU
// and CUDA flash kernels, the op's FLOP count and the plain-path masks share:
// the rule itself against masks drawn by hand, its decode alignment, and the
// tile helpers (key_range, query_range, all_visible) against the rule pair
// by pair.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "kernels/attention_visibility.h"

using mixlab::kernels::AttentionVisibility;

namespace {

// The mask as rows of '1' (visible) and '.' (hidden), one string per query.
std::vector<std::string> drawn(const AttentionVisibility& rule) {
  std::vector<std::string> rows;
  for (int64_t i = 0; i < rule.Tq; ++i) {
    std::string row;
    for (int64_t j = 0; j < rule.Tk; ++j) row += rule.visible(i, j) ? '1' : '.';
    rows.push_back(row);
  }
  return rows;
}

// Every shape the tile tests sweep: decode (Tq = 1), prefill over a cache
// (Tq < Tk), square, more queries than keys (non-causal only: the op refuses
// it causal), with and without a window.
template <typename F>
void for_each_rule(F&& f) {
  for (int64_t Tq : {1, 5, 16, 33})
    for (int64_t Tk : {1, 4, 16, 37})
      for (bool causal : {true, false})
        for (int64_t window : {0, 1, 3, 20}) {
          if (causal && Tq > Tk) continue;
          f(AttentionVisibility{Tq, Tk, causal, window});
        }
}

std::string describe(const AttentionVisibility& r) {
  return "Tq " + std::to_string(r.Tq) + " Tk " + std::to_string(r.Tk) + (r.causal ? " causal" : " full") +
         " window " + std::to_string(r.window);
}

// A tile helper's range [lo, hi) against the span first..last of what the
// rule shows pair by pair (last < 0: nothing visible, so the range is empty).
void check_tight(int64_t lo, int64_t hi, int64_t first, int64_t last) {
  if (last >= 0) {
    CHECK(lo == first);
    CHECK(hi == last + 1);
  } else {
    CHECK(lo >= hi);
  }
}

}  // namespace

TEST_CASE("attention visibility: the masks drawn by hand", "[kernels][attention]") {
  // Square and causal: the lower triangle.
  CHECK(drawn({4, 4, true, 0}) == std::vector<std::string>{"1...", "11..", "111.", "1111"});
  // A window of 2 keeps each query and the key before it.
  CHECK(drawn({4, 4, true, 2}) == std::vector<std::string>{"1...", "11..", ".11.", "..11"});
  // Fewer queries than keys (a prefill after 2 cached tokens): bottom-right
  // aligned, query 0 sits at position 2.
  CHECK(drawn({3, 5, true, 0}) == std::vector<std::string>{"111..", "1111.", "11111"});
  CHECK(drawn({3, 5, true, 2}) == std::vector<std::string>{".11..", "..11.", "...11"});
  // Not causal: a window bounds only the past.
  CHECK(drawn({3, 5, false, 2}) == std::vector<std::string>{".1111", "..111", "...11"});
  CHECK(drawn({2, 3, false, 0}) == std::vector<std::string>{"111", "111"});
  // More queries than keys (not causal): the early queries sit before key 0.
  CHECK(drawn({4, 2, false, 1}) == std::vector<std::string>{"11", "11", "11", ".1"});
  // A decode step sees the whole cache, or its last `window` keys.
  CHECK(drawn({1, 6, true, 0}) == std::vector<std::string>{"111111"});
  CHECK(drawn({1, 6, true, 4}) == std::vector<std::string>{"..1111"});
  // Outside the call's rows and keys nothing is visible.
  const AttentionVisibility rule{3, 5, false, 0};
  CHECK_FALSE(rule.visible(3, 0));
  CHECK_FALSE(rule.visible(0, 5));
  CHECK_FALSE(rule.visible(-1, 0));
  CHECK_FALSE(rule.visible(0, -1));
}

TEST_CASE("attention visibility: a query sees what the same position sees when decoding", "[kernels][attention]") {
  // Bottom-right alignment: row i of a (Tq, Tk) call is the token at position
  // pos(i), which a one-token decode over pos(i) + 1 cached keys sees the same
  // keys from; sees() is that rule on positions.
  for_each_rule([](const AttentionVisibility& rule) {
    if (!rule.causal) return;
    INFO(describe(rule));
    for (int64_t i = 0; i < rule.Tq; ++i) {
      const int64_t pos = rule.position(i);
      const AttentionVisibility decode{1, pos + 1, true, rule.window};
      int64_t seen = 0;
      for (int64_t j = 0; j < rule.Tk; ++j) {
        CHECK(rule.visible(i, j) == decode.visible(0, j));
        CHECK(rule.visible(i, j) == rule.sees(pos, j));
        seen += rule.visible(i, j);
      }
      // Itself and the window − 1 keys before it, or every key up to it.
      CHECK(seen == (rule.window > 0 ? std::min(pos + 1, rule.window) : pos + 1));
    }
  });
}

TEST_CASE("attention visibility: tile ranges are tight and all_visible is exact", "[kernels][attention]") {
  int tiles = 0;
  for_each_rule([&](const AttentionVisibility& rule) {
    for (int64_t tile : {1, 4, 16}) {
      INFO(describe(rule) << " tile " << tile);
      for (int64_t i0 = 0; i0 < rule.Tq; i0 += tile) {
        const int64_t i1 = std::min(rule.Tq, i0 + tile);
        // The tightest key span of the query tile, pair by pair.
        int64_t first = rule.Tk, last = -1;
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = 0; j < rule.Tk; ++j)
            if (rule.visible(i, j)) first = std::min(first, j), last = std::max(last, j);
        int64_t lo, hi;
        rule.key_range(i0, i1, &lo, &hi);
        check_tight(lo, hi, first, last);
        for (int64_t j0 = 0; j0 < rule.Tk; j0 += tile) {
          const int64_t j1 = std::min(rule.Tk, j0 + tile);
          bool every = true;
          for (int64_t i = i0; i < i1; ++i)
            for (int64_t j = j0; j < j1; ++j) every = every && rule.visible(i, j);
          CHECK(rule.all_visible(i0, i1, j0, j1) == every);
          ++tiles;
        }
      }
      for (int64_t j0 = 0; j0 < rule.Tk; j0 += tile) {
        const int64_t j1 = std::min(rule.Tk, j0 + tile);
        int64_t first = rule.Tq, last = -1;
        for (int64_t j = j0; j < j1; ++j)
          for (int64_t i = 0; i < rule.Tq; ++i)
            if (rule.visible(i, j)) first = std::min(first, i), last = std::max(last, i);
        int64_t lo, hi;
        rule.query_range(j0, j1, &lo, &hi);
        check_tight(lo, hi, first, last);
      }
    }
  });
  CHECK(tiles > 1000);
}
