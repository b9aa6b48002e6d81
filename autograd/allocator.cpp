#include "autograd/allocator.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <vector>

#include "autograd/error.h"
#include "kernels/cuda/cuda_api.h"

namespace mixlab {

CachingAllocator& CachingAllocator::for_device(Device device) {
  static std::mutex registry_mu;
  static std::map<std::pair<int, int>, std::unique_ptr<CachingAllocator>> registry;
  std::lock_guard<std::mutex> lock(registry_mu);
  auto& slot = registry[{static_cast<int>(device.kind), device.index}];
  if (!slot) slot.reset(new CachingAllocator(device));
  return *slot;
}

size_t CachingAllocator::round_size(size_t bytes) {
  constexpr size_t kQuantum = 512;
  if (bytes == 0) return 0;
  return (bytes + kQuantum - 1) / kQuantum * kQuantum;
}

// The allocator is per device, so it branches on its own device: host memory
// from the C library, device memory from the CUDA runtime (not a kernel).
void* CachingAllocator::system_alloc(size_t bytes) {
  if (device_.is_cuda()) return cuda::device_malloc(device_.index, bytes);
  void* p = std::aligned_alloc(64, bytes);
  MIXLAB_CHECK(p != nullptr, "allocator: out of host memory allocating ", bytes, " bytes");
  return p;
}

void CachingAllocator::system_free(void* ptr) {
  if (device_.is_cuda())
    cuda::device_free(device_.index, ptr);
  else
    std::free(ptr);
}

void* CachingAllocator::allocate(size_t bytes, size_t* block_bytes) {
  size_t want = round_size(bytes);
  *block_bytes = want;
  if (want == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mu_);
  // Best fit among cached blocks, but never waste more than half a block.
  auto it = free_blocks_.lower_bound(want);
  void* ptr = nullptr;
  if (it != free_blocks_.end() && it->first <= 2 * want) {
    *block_bytes = it->first;
    ptr = it->second;
    free_blocks_.erase(it);
  } else {
    trim_smaller_than(want);
    ptr = system_alloc(want);
    stats_.system_allocs++;
    stats_.bytes_reserved += want;
  }
  stats_.bytes_in_use += *block_bytes;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
  return ptr;
}

// Requests of ever-growing size (a decode history appended token by token,
// each step's temporaries a little larger than the last) never fit the blocks
// cached before them, so a cache that only grows would hold the sum of every
// size seen: quadratic in the sequence (9.5 GB for a 2k-token long-conv
// prefill at d_model 512). Before going to the system, once the free cache
// outweighs what is in use (and 64 MiB), the cached blocks too small for this
// request go back. A loop repeating its shapes reuses its blocks and never
// gets here after its first pass.
void CachingAllocator::trim_smaller_than(size_t bytes) {
  constexpr size_t kKeep = size_t{64} << 20;
  const size_t cached = stats_.bytes_reserved - stats_.bytes_in_use;
  if (cached <= std::max(stats_.bytes_in_use, kKeep)) return;
  const auto end = free_blocks_.lower_bound(bytes);
  for (auto it = free_blocks_.begin(); it != end; ++it) {
    system_free(it->second);
    stats_.system_frees++;
    stats_.bytes_reserved -= it->first;
  }
  free_blocks_.erase(free_blocks_.begin(), end);
}

void CachingAllocator::deallocate(void* ptr, size_t block_bytes) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  stats_.bytes_in_use -= block_bytes;
  free_blocks_.emplace(block_bytes, ptr);
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [bytes, ptr] : free_blocks_) {
    system_free(ptr);
    stats_.system_frees++;
    stats_.bytes_reserved -= bytes;
  }
  free_blocks_.clear();
}

}  // namespace mixlab

namespace mixlab::cuda {

// The hooks kernels/cuda/thrust_pool.cuh gives Thrust: its temporary storage
// comes from the same pool as the tensors'.
void* scratch_allocate(int device, size_t bytes, size_t* block_bytes) {
  return CachingAllocator::for_device(Device::cuda(device)).allocate(bytes, block_bytes);
}

void scratch_free(int device, void* ptr, size_t block_bytes) {
  CachingAllocator::for_device(Device::cuda(device)).deallocate(ptr, block_bytes);
}

}  // namespace mixlab::cuda
