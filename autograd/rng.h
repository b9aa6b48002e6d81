#pragma once
// Generator: a seed plus a running offset into the Philox counter space. Each
// fill of n elements takes counters [offset, offset + n) and advances the
// offset, so successive draws differ and a run is reproducible from its seed.
//
// The counter-based generator itself (philox::generate, from kernels/philox.h
// where the CPU and CUDA kernels share it) is part of this API: code above
// the engine that draws its own streams (train/tasks) takes it from here.
#include <cstdint>

#include "kernels/philox.h"

namespace mixlab {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    offset_ = offset;
  }
  // Reserves n counters and returns the first.
  uint64_t take(uint64_t n) {
    uint64_t first = offset_;
    offset_ += n;
    return first;
  }

 private:
  uint64_t seed_;
  uint64_t offset_ = 0;
};

}  // namespace mixlab
