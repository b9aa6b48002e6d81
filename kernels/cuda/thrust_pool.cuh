#pragma once
// Thrust's temporary storage from mixlab's caching allocator: pass
// `thrust::cuda::par(pool)` as the execution policy, so library algorithms
// reuse pooled blocks instead of calling cudaMalloc on every call.
#include <cstddef>
#include <map>

#include "kernels/cuda/cuda_api.h"

namespace mixlab::cuda {

class ThrustPool {
 public:
  using value_type = char;
  explicit ThrustPool(int device) : device_(device) {}
  ThrustPool(const ThrustPool&) = delete;
  ThrustPool& operator=(const ThrustPool&) = delete;
  ~ThrustPool() {
    for (const auto& [ptr, bytes] : blocks_) scratch_free(device_, ptr, bytes);
  }

  char* allocate(std::ptrdiff_t n) {
    size_t block = 0;
    void* p = scratch_allocate(device_, static_cast<size_t>(n), &block);
    blocks_[p] = block;
    return static_cast<char*>(p);
  }
  void deallocate(char* p, size_t) {
    const auto it = blocks_.find(p);
    scratch_free(device_, it->first, it->second);
    blocks_.erase(it);
  }

 private:
  int device_;
  std::map<void*, size_t> blocks_;  // pointer -> the block size the pool reserved
};

}  // namespace mixlab::cuda
