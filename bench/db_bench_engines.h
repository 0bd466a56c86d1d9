// The three stores db_bench compares, each behind the same small non-virtual adapter so the
// benchmark loops are templates that call every engine directly (no extra virtual call per
// operation or per entry).
//
// Adapter shape (E is ZworldStore, RocksDbStore or LevelDbStore):
//   E::kName                  "zworld", "rocksdb" or "leveldb"
//   E::kHasBulkScan           true when BulkScan exists (zworld's DB::Scan)
//   E::Slice, E::Iterator     the engine's own types
//   void Open(dir)            opens a database in dir with the benchmark's options
//   void Close()              closes it (waits for background work where the engine does)
//   void Put(key, value)      16-byte key, 100-byte value
//   bool Get(key, value*)     true if found
//   void Delete(key)
//   void CompactAll()         manual compaction of the whole key range; returns when done
//   std::unique_ptr<Iterator> NewIterator()
// Every engine error ends the program through Fail(): a benchmark must not go on after a
// failed write or read.
//
// Thread safety: an adapter is used by one thread.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "leveldb/cache.h"
#include "leveldb/db.h"
#include "leveldb/filter_policy.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "rocksdb/version.h"
#include "zworld/engine/db.h"

namespace zworld::bench {

inline constexpr size_t kKeySize = 16;
inline constexpr size_t kValueSize = 100;

// The options every engine gets (db_bench_engines.h is where they are applied).
inline constexpr size_t kWriteBufferBytes = 64u << 20;
inline constexpr size_t kBlockCacheBytes = 128u << 20;
inline constexpr int kBloomBitsPerKey = 10;

// Prints "db_bench: FAILED: <what>" to stderr and exits with status 1.
[[noreturn]] inline void Fail(const std::string& what) {
  std::fflush(stdout);
  std::fprintf(stderr, "\ndb_bench: FAILED: %s\n", what.c_str());
  std::exit(1);
}

// ---- zworld -----------------------------------------------------------------------------

class ZworldStore {
 public:
  static constexpr const char* kName = "zworld";
  static constexpr bool kHasBulkScan = true;
  using Slice = engine::Slice;
  using Iterator = engine::Iterator;

  void Open(const std::string& dir) {
    engine::Options options;
    options.create_if_missing = true;
    options.write_buffer_size = kWriteBufferBytes;
    options.block_cache_bytes = kBlockCacheBytes;
    options.bloom_bits_per_key = kBloomBitsPerKey;
    options.compression = engine::Compression::kNone;
    Check(engine::DB::Open(options, dir, &db_), "open " + dir);
  }
  void Close() {
    if (db_ == nullptr) return;
    Check(db_->Close(), "close");
    db_.reset();
  }

  void Put(const char* key, const char* value) {
    Check(db_->Put(write_options_, Slice(key, kKeySize), Slice(value, kValueSize)), "Put");
  }
  bool Get(const char* key, std::string* value) {
    engine::Status s = db_->Get(read_options_, Slice(key, kKeySize), value);
    if (s.IsNotFound()) return false;
    Check(s, "Get");
    return true;
  }
  void Delete(const char* key) {
    Check(db_->Delete(write_options_, Slice(key, kKeySize)), "Delete");
  }
  // Flushes the memtable, then compacts every file down to the last level holding data.
  void CompactAll() { Check(db_->CompactRange(nullptr, nullptr), "CompactRange"); }
  std::unique_ptr<Iterator> NewIterator() { return db_->NewIterator(read_options_); }
  static void CheckIterator(const Iterator& it) { Check(it.status(), "iterator"); }

  // Hands up to max_entries live entries with key >= start to fn(key, value) in key order
  // through DB::Scan; returns how many fn saw. The Slices passed to fn are valid only during
  // the call.
  template <class Fn>
  uint64_t BulkScan(const char* start, uint64_t max_entries, Fn&& fn) {
    class Visitor final : public engine::ScanVisitor {
     public:
      Visitor(uint64_t max_entries, Fn& fn) : max_entries_(max_entries), fn_(fn) {}
      Next Visit(std::span<const engine::ScanEntry> run, std::string* /*seek_to*/) override {
        for (const engine::ScanEntry& e : run) {
          fn_(e.key, e.value);
          if (++seen_ == max_entries_) return Next::kStop;
        }
        return Next::kContinue;
      }
      uint64_t seen() const { return seen_; }

     private:
      const uint64_t max_entries_;
      Fn& fn_;
      uint64_t seen_ = 0;
    };
    Visitor visitor(max_entries, fn);
    if (max_entries == 0) return 0;
    Check(
        db_->Scan(read_options_, Slice(start, kKeySize), Slice(), engine::ScanOptions(), &visitor),
        "Scan");
    return visitor.seen();
  }

  static std::string Version() { return "this tree"; }

 private:
  static void Check(const engine::Status& s, const std::string& what) {
    if (!s.ok()) Fail(std::string("zworld ") + what + ": " + s.ToString());
  }

  std::unique_ptr<engine::DB> db_;
  engine::WriteOptions write_options_;  // sync = false
  engine::ReadOptions read_options_;    // blocks verified when they enter the cache
};

// ---- RocksDB ----------------------------------------------------------------------------

class RocksDbStore {
 public:
  static constexpr const char* kName = "rocksdb";
  static constexpr bool kHasBulkScan = false;
  using Slice = rocksdb::Slice;
  using Iterator = rocksdb::Iterator;

  void Open(const std::string& dir) {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.write_buffer_size = kWriteBufferBytes;
    options.compression = rocksdb::kNoCompression;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(kBloomBitsPerKey));
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    rocksdb::DB* db = nullptr;
    Check(rocksdb::DB::Open(options, dir, &db), "open " + dir);
    db_.reset(db);
    write_options_.sync = false;
    write_options_.disableWAL = false;
  }
  void Close() {
    if (db_ == nullptr) return;
    Check(db_->Close(), "close");
    db_.reset();
  }

  void Put(const char* key, const char* value) {
    Check(db_->Put(write_options_, Slice(key, kKeySize), Slice(value, kValueSize)), "Put");
  }
  bool Get(const char* key, std::string* value) {
    rocksdb::Status s = db_->Get(read_options_, Slice(key, kKeySize), value);
    if (s.IsNotFound()) return false;
    Check(s, "Get");
    return true;
  }
  void Delete(const char* key) {
    Check(db_->Delete(write_options_, Slice(key, kKeySize)), "Delete");
  }
  // Default CompactRangeOptions: flushes the memtable, compacts the whole key range.
  void CompactAll() {
    Check(db_->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr), "CompactRange");
  }
  std::unique_ptr<Iterator> NewIterator() {
    return std::unique_ptr<Iterator>(db_->NewIterator(read_options_));
  }
  static void CheckIterator(const Iterator& it) { Check(it.status(), "iterator"); }

  static std::string Version() {
    return std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
           std::to_string(ROCKSDB_PATCH);
  }

 private:
  static void Check(const rocksdb::Status& s, const std::string& what) {
    if (!s.ok()) Fail("rocksdb " + what + ": " + s.ToString());
  }

  std::unique_ptr<rocksdb::DB> db_;
  rocksdb::WriteOptions write_options_;
  rocksdb::ReadOptions read_options_;  // verify_checksums defaults to true (on file reads)
};

// ---- LevelDB ----------------------------------------------------------------------------

class LevelDbStore {
 public:
  static constexpr const char* kName = "leveldb";
  static constexpr bool kHasBulkScan = false;
  using Slice = leveldb::Slice;
  using Iterator = leveldb::Iterator;

  void Open(const std::string& dir) {
    cache_.reset(leveldb::NewLRUCache(kBlockCacheBytes));
    filter_.reset(leveldb::NewBloomFilterPolicy(kBloomBitsPerKey));
    leveldb::Options options;
    options.create_if_missing = true;
    options.write_buffer_size = kWriteBufferBytes;
    options.block_cache = cache_.get();
    options.filter_policy = filter_.get();
    options.compression = leveldb::kNoCompression;
    leveldb::DB* db = nullptr;
    Check(leveldb::DB::Open(options, dir, &db), "open " + dir);
    db_.reset(db);
    write_options_.sync = false;
    // zworld and RocksDB verify a block's checksum when it is read from a file; so does
    // LevelDB with this set (block cache hits are not re-verified by any of the three).
    read_options_.verify_checksums = true;
  }
  void Close() {
    db_.reset();  // waits for a running compaction
    filter_.reset();
    cache_.reset();
  }

  void Put(const char* key, const char* value) {
    Check(db_->Put(write_options_, Slice(key, kKeySize), Slice(value, kValueSize)), "Put");
  }
  bool Get(const char* key, std::string* value) {
    leveldb::Status s = db_->Get(read_options_, Slice(key, kKeySize), value);
    if (s.IsNotFound()) return false;
    Check(s, "Get");
    return true;
  }
  void Delete(const char* key) {
    Check(db_->Delete(write_options_, Slice(key, kKeySize)), "Delete");
  }
  // Flushes the memtable, then compacts the whole key range (returns void: no Status).
  void CompactAll() { db_->CompactRange(nullptr, nullptr); }
  std::unique_ptr<Iterator> NewIterator() {
    return std::unique_ptr<Iterator>(db_->NewIterator(read_options_));
  }
  static void CheckIterator(const Iterator& it) { Check(it.status(), "iterator"); }

  static std::string Version() {
    return std::to_string(leveldb::kMajorVersion) + "." + std::to_string(leveldb::kMinorVersion);
  }

 private:
  static void Check(const leveldb::Status& s, const std::string& what) {
    if (!s.ok()) Fail("leveldb " + what + ": " + s.ToString());
  }

  // Declared before db_ so that the DB is destroyed first.
  std::unique_ptr<leveldb::Cache> cache_;
  std::unique_ptr<const leveldb::FilterPolicy> filter_;
  std::unique_ptr<leveldb::DB> db_;
  leveldb::WriteOptions write_options_;
  leveldb::ReadOptions read_options_;
};

}  // namespace zworld::bench
