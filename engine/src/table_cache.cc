#include "table_cache.h"

#include <cinttypes>
#include <cstdio>
#include <list>
#include <mutex>
#include <unordered_map>

#include "filename.h"

namespace zworld::engine {

struct TableCache::Shard {
  using LruList = std::list<std::pair<uint64_t, std::shared_ptr<Table>>>;  // most recent first

  std::mutex mu;
  size_t capacity = 1;
  LruList lru;                                                // guarded by mu
  std::unordered_map<uint64_t, LruList::iterator> by_number;  // guarded by mu
};

namespace {

// Forwards to an iterator over a table and keeps the table open while it lives.
class TableIterator final : public Iterator {
 public:
  TableIterator(std::shared_ptr<Table> table, std::unique_ptr<Iterator> iter)
      : table_(std::move(table)), iter_(std::move(iter)) {}
  ~TableIterator() override { iter_.reset(); }  // before table_

  bool Valid() const override { return iter_->Valid(); }
  void SeekToFirst() override { iter_->SeekToFirst(); }
  void SeekToLast() override { iter_->SeekToLast(); }
  void Seek(const Slice& target) override { iter_->Seek(target); }
  void Next() override { iter_->Next(); }
  void Prev() override { iter_->Prev(); }
  Slice key() const override { return iter_->key(); }
  Slice value() const override { return iter_->value(); }
  Status status() const override { return iter_->status(); }

 private:
  std::shared_ptr<Table> table_;
  std::unique_ptr<Iterator> iter_;
};

// Forwards to a scan source over a table and keeps the table open while it lives.
class TableScanSource final : public ScanSource {
 public:
  TableScanSource(std::shared_ptr<Table> table, std::unique_ptr<ScanSource> source)
      : table_(std::move(table)), source_(std::move(source)) {}
  ~TableScanSource() override { source_.reset(); }  // before table_

  void Seek(const Slice& target_ikey) override { source_->Seek(target_ikey); }
  std::span<const RawEntry> Entries() const override { return source_->Entries(); }
  void Consume(size_t n) override { source_->Consume(n); }
  bool NextBlock() override { return source_->NextBlock(); }
  bool PeekNextBlock(Slice* last_ikey, Slice* summary) const override {
    return source_->PeekNextBlock(last_ikey, summary);
  }
  void SkipNextBlock() override { source_->SkipNextBlock(); }
  Status status() const override { return source_->status(); }
  uint64_t blocks_read() const override { return source_->blocks_read(); }
  uint64_t blocks_skipped() const override { return source_->blocks_skipped(); }

 private:
  std::shared_ptr<Table> table_;
  std::unique_ptr<ScanSource> source_;
};

}  // namespace

TableCache::TableCache(std::string dbname, const Options& options, BlockCache* block_cache,
                       int capacity)
    : dbname_(std::move(dbname)),
      options_(options),
      block_cache_(block_cache),
      shards_(std::make_unique<Shard[]>(kNumShards)) {
  size_t per_shard = capacity > kNumShards ? static_cast<size_t>(capacity) / kNumShards : 1;
  for (int i = 0; i < kNumShards; ++i) shards_[i].capacity = per_shard;
}

TableCache::~TableCache() = default;

TableCache::Shard& TableCache::ShardFor(uint64_t file_number) const {
  return shards_[file_number % kNumShards];
}

Status TableCache::FindTable(uint64_t file_number, uint64_t file_size,
                             std::shared_ptr<Table>* table) {
  Shard& shard = ShardFor(file_number);
  {
    std::lock_guard<std::mutex> l(shard.mu);
    auto it = shard.by_number.find(file_number);
    if (it != shard.by_number.end()) {
      shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
      *table = it->second->second;
      return Status::OK();
    }
  }

  // Open without the lock: it reads the file. Two threads may race to open the same table;
  // the first to insert wins and the other's copy is dropped.
  table->reset();
  std::string fname = TableFileName(dbname_, file_number);
  std::unique_ptr<RandomAccessFile> file;
  Status s = options_.env->NewRandomAccessFile(fname, &file);
  if (!s.ok()) return s;
  uint64_t actual_size;
  s = options_.env->GetFileSize(fname, &actual_size);
  if (!s.ok()) return s;
  if (actual_size != file_size) {
    char buf[96];
    std::snprintf(buf, sizeof(buf), "file holds %" PRIu64 " bytes, the MANIFEST says %" PRIu64,
                  actual_size, file_size);
    return Status::Corruption(fname, buf);
  }
  std::unique_ptr<Table> opened;
  s = Table::Open(options_, fname, file_number, std::move(file), file_size, block_cache_, &opened);
  if (!s.ok()) return s;  // not cached: a later read retries (the file may be repaired)
  std::shared_ptr<Table> fresh(std::move(opened));

  std::lock_guard<std::mutex> l(shard.mu);
  auto it = shard.by_number.find(file_number);
  if (it != shard.by_number.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    *table = it->second->second;
    return Status::OK();
  }
  shard.lru.emplace_front(file_number, fresh);
  shard.by_number.emplace(file_number, shard.lru.begin());
  while (shard.lru.size() > shard.capacity) {
    shard.by_number.erase(shard.lru.back().first);
    shard.lru.pop_back();
  }
  *table = std::move(fresh);
  return Status::OK();
}

std::unique_ptr<Iterator> TableCache::NewIterator(const ReadOptions& options, uint64_t file_number,
                                                  uint64_t file_size) {
  std::shared_ptr<Table> table;
  Status s = FindTable(file_number, file_size, &table);
  if (!s.ok()) return std::unique_ptr<Iterator>(NewErrorIterator(s));
  std::unique_ptr<Iterator> iter = table->NewIterator(options);
  return std::make_unique<TableIterator>(std::move(table), std::move(iter));
}

Status TableCache::NewScanSource(const ReadOptions& options, uint64_t file_number,
                                 uint64_t file_size, std::unique_ptr<ScanSource>* source) {
  source->reset();
  std::shared_ptr<Table> table;
  Status s = FindTable(file_number, file_size, &table);
  if (!s.ok()) return s;
  std::unique_ptr<ScanSource> inner = table->NewScanSource(options);
  *source = std::make_unique<TableScanSource>(std::move(table), std::move(inner));
  return Status::OK();
}

Status TableCache::Get(const ReadOptions& options, uint64_t file_number, uint64_t file_size,
                       const LookupKey& key, std::string* value, LookupResult* result,
                       bool* bloom_skipped) {
  std::shared_ptr<Table> table;
  Status s = FindTable(file_number, file_size, &table);
  if (!s.ok()) {
    *result = LookupResult::kAbsent;
    return s;
  }
  return table->Get(options, key, value, result, bloom_skipped);
}

void TableCache::Evict(uint64_t file_number) {
  Shard& shard = ShardFor(file_number);
  std::shared_ptr<Table> doomed;  // closed after the lock is released
  std::lock_guard<std::mutex> l(shard.mu);
  auto it = shard.by_number.find(file_number);
  if (it == shard.by_number.end()) return;
  doomed = std::move(it->second->second);
  shard.lru.erase(it->second);
  shard.by_number.erase(it);
}

}  // namespace zworld::engine
