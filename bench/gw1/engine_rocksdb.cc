// engine=rocksdb: RocksDB with the Morton keys of GW-1.md section 1.4 and BIGMIN-skipping
// scans. Settings of section 1.8: default options plus a 128 MiB LRU block cache, WAL on,
// sync=false, no manual flush or compaction.
#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/table.h>
#include <rocksdb/version.h>
#include <rocksdb/write_batch.h>

#include <memory>

#include "engine.h"
#include "kv_scan.h"

namespace zworld::gw1 {
namespace {

Status FromRocks(const rocksdb::Status& s, const char* what) {
  if (s.ok()) return Status::OK();
  return Status::IOError(std::string("rocksdb ") + what, s.ToString());
}

rocksdb::Slice AsSlice(const uint8_t* p, size_t n) {
  return rocksdb::Slice(reinterpret_cast<const char*>(p), n);
}

class RocksDbEngine final : public Engine {
 public:
  explicit RocksDbEngine(const EngineConfig& config) : config_(config) {}
  ~RocksDbEngine() override { delete db_; }

  std::string Name() const override { return "rocksdb"; }
  bool Persistent() const override { return true; }
  std::string Notes() const override {
    return "rocksdb-" + std::to_string(ROCKSDB_MAJOR) + "." + std::to_string(ROCKSDB_MINOR) + "." +
           std::to_string(ROCKSDB_PATCH) + ",bigmin-scan,debian-portable-build-no-hw-crc32c";
  }

  Status Open(const std::string& dir) override {
    rocksdb::Options options;
    options.create_if_missing = true;
    options.error_if_exists = true;
    rocksdb::BlockBasedTableOptions table_options;
    table_options.block_cache = rocksdb::NewLRUCache(config_.cache_bytes);
    options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table_options));
    return FromRocks(rocksdb::DB::Open(options, dir, &db_), "open");
  }

  Status Load(std::span<const LoadEntity> batch) override {
    batch_.Clear();
    uint8_t key[kKeyBytes], value[kValueBytes];
    for (const LoadEntity& e : batch) {
      EncodeEntityKey(e.x, e.y, e.id, key);
      EncodeValue(e.x, e.y, e.payload, value);
      batch_.Put(AsSlice(key, kKeyBytes), AsSlice(value, kValueBytes));
    }
    return FromRocks(db_->Write(write_options_, &batch_), "write");
  }

  Status Query(const AoiBox& box, std::vector<uint64_t>* ids, QueryCounters* counters) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(read_options_));
    if (!BigminScan<rocksdb::Slice>(it.get(), box, ids, counters)) {
      return Status::Corruption("rocksdb: malformed GW-1 key or value");
    }
    return FromRocks(it->status(), "iterator");
  }

  Status ApplyMoves(std::span<const Move> moves) override {
    batch_.Clear();
    uint8_t key[kKeyBytes], value[kValueBytes];
    for (const Move& m : moves) {
      EncodeEntityKey(m.old_x, m.old_y, m.id, key);
      batch_.Delete(AsSlice(key, kKeyBytes));
      EncodeEntityKey(m.new_x, m.new_y, m.id, key);
      EncodeValue(m.new_x, m.new_y, m.payload, value);
      batch_.Put(AsSlice(key, kKeyBytes), AsSlice(value, kValueBytes));
    }
    return FromRocks(db_->Write(write_options_, &batch_), "write");
  }

  Status Close() override {
    if (db_ == nullptr) return Status::OK();
    Status s = FromRocks(db_->Close(), "close");
    delete db_;
    db_ = nullptr;
    return s;
  }

 private:
  const EngineConfig config_;
  rocksdb::DB* db_ = nullptr;            // owned
  rocksdb::WriteOptions write_options_;  // sync=false, WAL on
  rocksdb::ReadOptions read_options_;
  rocksdb::WriteBatch batch_;
};

}  // namespace

std::unique_ptr<Engine> NewRocksDbEngine(const EngineConfig& config) {
  return std::make_unique<RocksDbEngine>(config);
}

}  // namespace zworld::gw1
