#include "arena.h"

#include <cstdint>

namespace zworld::engine {

char* Arena::AllocateAligned(size_t bytes) {
  size_t misalign = reinterpret_cast<uintptr_t>(ptr_) & (kAlignment - 1);
  size_t needed = bytes + (misalign == 0 ? 0 : kAlignment - misalign);
  if (needed <= remaining_) {
    char* result = ptr_ + (needed - bytes);
    ptr_ += needed;
    remaining_ -= needed;
    AddUsage(needed);
    return result;
  }
  // New blocks come from operator new[], which aligns to at least kAlignment.
  return AllocateSlow(bytes);
}

char* Arena::AllocateSlow(size_t bytes) {
  if (bytes > next_block_size_ / 4) {
    // A block of its own; the current block keeps serving small requests.
    AddUsage(bytes);
    return NewBlock(bytes);
  }
  AddUsage(remaining_);  // the abandoned tail of the current block
  size_t size = next_block_size_;
  if (next_block_size_ < kMaxBlockSize) next_block_size_ *= 2;
  ptr_ = NewBlock(size);
  remaining_ = size - bytes;
  char* result = ptr_;
  ptr_ += bytes;
  AddUsage(bytes);
  return result;
}

char* Arena::NewBlock(size_t bytes) {
  blocks_.push_back(std::make_unique_for_overwrite<char[]>(bytes));
  AddUsage(sizeof(std::unique_ptr<char[]>) + 16);  // the vector slot and malloc's header
  return blocks_.back().get();
}

}  // namespace zworld::engine
