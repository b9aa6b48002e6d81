#pragma once
// Fills, casts and random fills over contiguous host buffers.
#include <cstdint>

namespace mixlab::cpu {

template <typename T>
void fill(T* out, int64_t n, double value);

template <typename To, typename From>
void cast(To* out, const From* in, int64_t n);

// out[i] = mean + std * N(0,1) drawn from Philox counter (first + i).
template <typename T>
void fill_normal(T* out, int64_t n, uint64_t seed, uint64_t first, double mean, double std);
// out[i] = low + (high - low) * U(0,1) drawn from Philox counter (first + i).
template <typename T>
void fill_uniform(T* out, int64_t n, uint64_t seed, uint64_t first, double low, double high);

}  // namespace mixlab::cpu
