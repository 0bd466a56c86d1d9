// Arena: bump-pointer allocation for a memtable; everything is freed at once when the arena
// is destroyed.
//
// Blocks start small and double up to kMaxBlockSize, so tiny memtables (tests) waste little
// and large ones make few system allocations. A request larger than a quarter of the
// current block size gets a block of its own, so the current block's tail is not wasted.
//
// Thread safety: one allocating thread at a time; MemoryUsage() may be called from any
// thread concurrently.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <vector>

namespace zworld::engine {

class Arena {
 public:
  static constexpr size_t kMinBlockSize = 8 << 10;
  static constexpr size_t kMaxBlockSize = 1 << 20;

  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns bytes bytes (bytes > 0), valid until the arena is destroyed; no alignment.
  char* Allocate(size_t bytes) {
    if (bytes <= remaining_) {
      char* result = ptr_;
      ptr_ += bytes;
      remaining_ -= bytes;
      AddUsage(bytes);
      return result;
    }
    return AllocateSlow(bytes);
  }

  // As Allocate, aligned to kAlignment bytes (enough for pointers and atomics of them).
  static constexpr size_t kAlignment = alignof(void*) > 8 ? alignof(void*) : 8;
  char* AllocateAligned(size_t bytes);

  // Bytes handed out plus what alignment and abandoned block tails cost, plus bookkeeping.
  // Safe to call from any thread.
  size_t MemoryUsage() const { return used_.load(std::memory_order_relaxed); }

 private:
  char* AllocateSlow(size_t bytes);
  // Only the allocating thread writes used_, so a relaxed load + store suffices.
  void AddUsage(size_t n) {
    used_.store(used_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  char* NewBlock(size_t bytes);

  char* ptr_ = nullptr;
  size_t remaining_ = 0;
  size_t next_block_size_ = kMinBlockSize;
  std::vector<std::unique_ptr<char[]>> blocks_;
  std::atomic<size_t> used_{0};
};

}  // namespace zworld::engine
