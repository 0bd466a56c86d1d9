// TableCache: the open SSTable readers of a DB, at most Options::max_open_files of them,
// least recently used first out. A Table is held by shared_ptr: one evicted while an
// iterator or a lookup still uses it stays open until that user lets go.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "block_cache.h"
#include "dbformat.h"
#include "scan_source.h"
#include "table.h"
#include "zworld/engine/iterator.h"
#include "zworld/engine/options.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

class TableCache {
 public:
  // options (with its env) and block_cache (may be null) must outlive the cache. capacity is
  // the number of open tables kept (at least one per shard).
  TableCache(std::string dbname, const Options& options, BlockCache* block_cache, int capacity);
  ~TableCache();
  TableCache(const TableCache&) = delete;
  TableCache& operator=(const TableCache&) = delete;

  // Sets *table to table file_number (file_size bytes), opening it if it is not open. On
  // error *table is null and the Status is the open error (Corruption naming the file, or
  // the Env's error for a missing file).
  Status FindTable(uint64_t file_number, uint64_t file_size, std::shared_ptr<Table>* table);

  // An iterator over the table's internal keys that keeps the table open while it lives.
  // An open error is returned as an error iterator.
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options, uint64_t file_number,
                                        uint64_t file_size);
  // A scan source over the table that keeps the table open while it lives. On error the
  // source is null and the Status says why.
  Status NewScanSource(const ReadOptions& options, uint64_t file_number, uint64_t file_size,
                       std::unique_ptr<ScanSource>* source);

  // Table::Get on the table (see table.h).
  Status Get(const ReadOptions& options, uint64_t file_number, uint64_t file_size,
             const LookupKey& key, std::string* value, LookupResult* result, bool* bloom_skipped);

  // Forgets file_number (its file was deleted): closes it once the last user lets go.
  void Evict(uint64_t file_number);

 private:
  struct Shard;
  static constexpr int kNumShards = 16;

  Shard& ShardFor(uint64_t file_number) const;

  const std::string dbname_;
  const Options& options_;
  BlockCache* const block_cache_;
  std::unique_ptr<Shard[]> shards_;
};

}  // namespace zworld::engine
