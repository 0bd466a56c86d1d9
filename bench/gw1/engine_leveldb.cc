// engine=leveldb: LevelDB with the Morton keys of GW-1.md section 1.4 and BIGMIN-skipping
// scans. Settings of section 1.8: a 128 MiB LRU block cache, write_buffer_size = 64 MiB,
// everything else default (Snappy), log on, sync=false.
#include <leveldb/cache.h>
#include <leveldb/db.h>
#include <leveldb/options.h>
#include <leveldb/write_batch.h>

#include <memory>

#include "engine.h"
#include "kv_scan.h"

namespace zworld::gw1 {
namespace {

Status FromLevel(const leveldb::Status& s, const char* what) {
  if (s.ok()) return Status::OK();
  return Status::IOError(std::string("leveldb ") + what, s.ToString());
}

leveldb::Slice AsSlice(const uint8_t* p, size_t n) {
  return leveldb::Slice(reinterpret_cast<const char*>(p), n);
}

class LevelDbEngine final : public Engine {
 public:
  explicit LevelDbEngine(const EngineConfig& config) : config_(config) {}
  ~LevelDbEngine() override {
    delete db_;
    delete cache_;
  }

  std::string Name() const override { return "leveldb"; }
  bool Persistent() const override { return true; }
  std::string Notes() const override {
    return "leveldb-" + std::to_string(leveldb::kMajorVersion) + "." +
           std::to_string(leveldb::kMinorVersion) + ",bigmin-scan";
  }

  Status Open(const std::string& dir) override {
    cache_ = leveldb::NewLRUCache(config_.cache_bytes);
    leveldb::Options options;
    options.create_if_missing = true;
    options.error_if_exists = true;
    options.block_cache = cache_;
    options.write_buffer_size = size_t{64} << 20;
    return FromLevel(leveldb::DB::Open(options, dir, &db_), "open");
  }

  Status Load(std::span<const LoadEntity> batch) override {
    batch_.Clear();
    uint8_t key[kKeyBytes], value[kValueBytes];
    for (const LoadEntity& e : batch) {
      EncodeEntityKey(e.x, e.y, e.id, key);
      EncodeValue(e.x, e.y, e.payload, value);
      batch_.Put(AsSlice(key, kKeyBytes), AsSlice(value, kValueBytes));
    }
    return FromLevel(db_->Write(write_options_, &batch_), "write");
  }

  Status Query(const AoiBox& box, std::vector<uint64_t>* ids, QueryCounters* counters) override {
    std::unique_ptr<leveldb::Iterator> it(db_->NewIterator(read_options_));
    if (!BigminScan<leveldb::Slice>(it.get(), box, ids, counters)) {
      return Status::Corruption("leveldb: malformed GW-1 key or value");
    }
    return FromLevel(it->status(), "iterator");
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
    return FromLevel(db_->Write(write_options_, &batch_), "write");
  }

  Status Close() override {
    delete db_;  // LevelDB has no Close(); its destructor waits for background work
    db_ = nullptr;
    delete cache_;
    cache_ = nullptr;
    return Status::OK();
  }

 private:
  const EngineConfig config_;
  leveldb::DB* db_ = nullptr;            // owned
  leveldb::Cache* cache_ = nullptr;      // owned; outlives db_
  leveldb::WriteOptions write_options_;  // sync=false
  leveldb::ReadOptions read_options_;
  leveldb::WriteBatch batch_;
};

}  // namespace

std::unique_ptr<Engine> NewLevelDbEngine(const EngineConfig& config) {
  return std::make_unique<LevelDbEngine>(config);
}

}  // namespace zworld::gw1
