#pragma once
// A caching allocator per device. Freed blocks go to a free list keyed by size
// and are handed out again for requests of a similar size, so a training loop
// that repeats the same shapes stops calling malloc/cudaMalloc after its first
// step. Requests of ever-growing size do not pile up unusable blocks: those
// too small are returned once the cache outweighs what is in use. Bytes in
// use, the peak and the system allocations are queryable.
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>

#include "autograd/device.h"

namespace mixlab {

struct AllocatorStats {
  size_t bytes_in_use = 0;     // handed out to live tensors (rounded sizes)
  size_t peak_bytes_in_use = 0;
  size_t bytes_reserved = 0;   // in use + cached in free lists
  uint64_t system_allocs = 0;  // calls into malloc/cudaMalloc so far
  uint64_t system_frees = 0;
};

class CachingAllocator {
 public:
  // One allocator per device, created on first use and kept for the program.
  static CachingAllocator& for_device(Device device);

  // Returns a block of at least `bytes` (64-byte aligned); *block_bytes gets the
  // size actually reserved, which deallocate() must be given back.
  void* allocate(size_t bytes, size_t* block_bytes);
  void deallocate(void* ptr, size_t block_bytes);

  AllocatorStats stats() const;
  void reset_peak();
  // Returns every cached block to the system.
  void empty_cache();

  static size_t round_size(size_t bytes);

 private:
  explicit CachingAllocator(Device device) : device_(device) {}
  void* system_alloc(size_t bytes);
  void system_free(void* ptr);
  // Returns cached blocks smaller than `bytes` to the system once the cache
  // outweighs the bytes in use; mu_ held.
  void trim_smaller_than(size_t bytes);

  Device device_;
  mutable std::mutex mu_;
  std::multimap<size_t, void*> free_blocks_;
  AllocatorStats stats_;
};

}  // namespace mixlab
