// BlockCache: the cache of uncompressed SSTable blocks shared by every table of a DB.
// A sharded LRU with a byte budget, keyed by (file number, block offset). Blocks are held by
// shared_ptr, so a block evicted (or erased) while a reader still uses it stays alive until
// that reader lets go.
//
// Blocks of mapped files that are stored uncompressed never enter the cache (the table
// reads them in place); compressed blocks and blocks of unmapped files do.
// Thread safety: every method may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "block.h"

namespace zworld::engine {

class BlockCache {
 public:
  // capacity_bytes is split evenly among the shards; 0 caches nothing.
  explicit BlockCache(size_t capacity_bytes);
  ~BlockCache();
  BlockCache(const BlockCache&) = delete;
  BlockCache& operator=(const BlockCache&) = delete;

  uint64_t hits() const;
  uint64_t misses() const;
  // Bytes charged by the blocks currently cached.
  size_t usage() const;
  size_t capacity() const { return capacity_; }

  // Drops every block of file_number (call after the file is deleted).
  void EraseFile(uint64_t file_number);

  // The cached block, or null (a miss). Counts a hit or a miss.
  std::shared_ptr<const Block> Lookup(uint64_t file_number, uint64_t offset);
  // Caches block, replacing any block cached under the same key, and evicts least recently
  // used blocks while usage exceeds the shard's share of the budget. charge is the block's
  // cost in bytes (usually its size).
  void Insert(uint64_t file_number, uint64_t offset, std::shared_ptr<const Block> block,
              size_t charge);

 private:
  struct Shard;
  static constexpr int kNumShardBits = 4;
  static constexpr int kNumShards = 1 << kNumShardBits;

  Shard& ShardFor(uint64_t file_number, uint64_t offset) const;

  size_t capacity_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace zworld::engine
