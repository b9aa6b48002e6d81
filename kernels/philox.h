#pragma once
// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
// SC'11): a counter-based generator. Element i of a fill draws from counter
// (offset + i), so the numbers depend only on (seed, offset, i) — never on the
// thread count or the order in which threads run. Header-only and usable from
// CUDA device code so both backends produce the same streams.
#include <cmath>
#include <cstdint>

#include "kernels/host_device.h"

namespace mixlab::philox {

struct Block {
  uint32_t v[4];
};

MIXLAB_HOST_DEVICE inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(p >> 32);
  return static_cast<uint32_t>(p);
}

// The 4x32 Philox bijection with 10 rounds, keyed by the seed.
MIXLAB_HOST_DEVICE inline Block generate(uint64_t seed, uint64_t counter, uint64_t stream = 0) {
  constexpr uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  uint32_t c0 = static_cast<uint32_t>(counter), c1 = static_cast<uint32_t>(counter >> 32);
  uint32_t c2 = static_cast<uint32_t>(stream), c3 = static_cast<uint32_t>(stream >> 32);
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(kM0, c0, &hi0);
    uint32_t lo1 = mulhilo(kM1, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += kW0;
    k1 += kW1;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in (0, 1): never exactly 0, so log() is safe.
MIXLAB_HOST_DEVICE inline double to_unit(uint32_t x) { return (static_cast<double>(x) + 0.5) * (1.0 / 4294967296.0); }

MIXLAB_HOST_DEVICE inline double uniform(uint64_t seed, uint64_t counter) {
  return to_unit(generate(seed, counter).v[0]);
}

// Standard normal via Box-Muller on two lanes of one block.
MIXLAB_HOST_DEVICE inline double normal(uint64_t seed, uint64_t counter) {
  Block b = generate(seed, counter);
  double u1 = to_unit(b.v[0]), u2 = to_unit(b.v[1]);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586476925 * u2);
}

}  // namespace mixlab::philox
