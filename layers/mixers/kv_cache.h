#pragma once
// The key/value cache of attention decoding. Keys and values live in
// (B, Hkv, capacity, d) buffers of which the first length() rows are valid,
// and flash_attention_cached reads them in place. Appending is amortised
// O(new rows): capacity doubles when full, and a windowed cache (window W > 0)
// never holds more than the W rows the next query can see: it slides its last
// W rows to the front when the buffer fills (capacity ~2W), instead of growing.
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"

namespace mixlab {

class KVBuffer {
 public:
  explicit KVBuffer(int64_t window = 0) : window_(window) {}

  // k, v (B, Hkv, T, d) appended after the cached rows; v may be undefined
  // for a keys-only cache (MLA's latent rows serve as keys and values). A
  // windowed cache may still hold rows older than the window (up to ~W of
  // them): the attention mask's window hides them, and the next slide drops them.
  void append(const Tensor& k, const Tensor& v = Tensor());

  int64_t length() const { return length_; }
  const Tensor& keys() const { return k_; }    // (B, Hkv, capacity, d); undefined before the first append
  const Tensor& values() const { return v_; }  // undefined for a keys-only cache
  // The rows the next query can see (the last min(length, W) of a windowed
  // cache), keys then values: what the cache must keep, without its capacity.
  std::vector<Tensor> visible_rows() const;

 private:
  void reserve(int64_t rows, const Tensor& like);

  int64_t window_;
  int64_t length_ = 0;
  bool with_values_ = true;
  Tensor k_, v_;
};

}  // namespace mixlab
