#pragma once
// PhiloxStream: a small stateful view of the counter-based Philox generator
// (autograd/rng.h) for the task generators. A stream is fixed by
// (key, stream id, first counter); it hands out the four 32-bit lanes of
// successive counters. Because every draw is a pure function of those three
// numbers and the number of draws before it, an example built from
// PhiloxStream(seed, index) is the same in any order and on any thread count.
//
// Counter map used by train/tasks (keep disjoint ranges disjoint):
//   key = segment seed, stream = example index:
//     counters [0, 2^62)      the example's structure (keys, values, slots, ...)
//     counters [2^62, 2^63)   noise tokens (random_non_queries), so switching
//                             noise on changes nothing but the noise positions
//   key = segment seed, stream = epoch:
//     counters [2^63, 2^64)   that epoch's permutation of the segment's examples
//   key = the dataset's shuffle key, stream = epoch: the epoch's batch order
#include <cstdint>

#include "autograd/rng.h"

namespace mixlab {

inline constexpr uint64_t kNoiseCounterBase = uint64_t{1} << 62;
inline constexpr uint64_t kPermutationCounterBase = uint64_t{1} << 63;

class PhiloxStream {
 public:
  PhiloxStream(uint64_t key, uint64_t stream, uint64_t first_counter = 0)
      : key_(key), stream_(stream), counter_(first_counter) {}

  uint32_t next_u32() {
    if (lane_ == 4) {
      block_ = philox::generate(key_, counter_++, stream_);
      lane_ = 0;
    }
    return block_.v[lane_++];
  }

  uint64_t next_u64() {
    const uint64_t hi = next_u32();
    return (hi << 32) | next_u32();
  }

  // Uniform in the open interval (0, 1) with 53 random bits: never 0, so
  // log(uniform()) is finite.
  double uniform() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53; }

  // Uniform integer in [0, n), n ≥ 1, without modulo bias (Lemire's
  // multiply-and-reject: rejects fewer than n/2^32 of the draws).
  uint64_t below(uint64_t n) {
    if (n <= 0xFFFFFFFFull) {
      const uint32_t n32 = static_cast<uint32_t>(n);
      uint64_t m = static_cast<uint64_t>(next_u32()) * n32;
      if (static_cast<uint32_t>(m) < n32) {
        const uint32_t threshold = static_cast<uint32_t>(-n32) % n32;
        while (static_cast<uint32_t>(m) < threshold) m = static_cast<uint64_t>(next_u32()) * n32;
      }
      return m >> 32;
    }
    unsigned __int128 m = static_cast<unsigned __int128>(next_u64()) * n;
    if (static_cast<uint64_t>(m) < n) {
      const uint64_t threshold = (0 - n) % n;
      while (static_cast<uint64_t>(m) < threshold) m = static_cast<unsigned __int128>(next_u64()) * n;
    }
    return static_cast<uint64_t>(m >> 64);
  }

  // Uniform integer in [lo, hi), lo < hi.
  int64_t range(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo)));
  }

 private:
  uint64_t key_, stream_, counter_;
  philox::Block block_{};
  int lane_ = 4;  // 4: the buffered block is used up
};

}  // namespace mixlab
