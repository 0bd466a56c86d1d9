// engine=zworld-bigmin and engine=zworld-ranges: zworld's SpatialStore driven through its
// public API, as an embedding game server would drive it (GW-1.md section 1.8 "zworld's
// rows"): LOAD as one SpatialBatch of Puts per 10,000 entities (the 64-byte payload as
// Entity::payload, kind 0), AOI as QueryBox with the exact double bounds of section 1.6,
// MOVE as one SpatialBatch of Moves per tick. Same durability as the peers (WAL on,
// sync=false) and a 128 MiB block cache. The two rows differ only in the range planner
// (QueryOptions::planner).
//
// scanned= and seeks= are QueryStats::entries_examined and ::seeks, which each query adds
// up through QueryOptions::stats (the per-query counters of the public API).
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "engine.h"
#include "zworld/zorder/spatial_store.h"

namespace zworld::gw1 {
namespace {

using zorder::Planner;

// The two settings below were chosen by measurement at N=200,000 (default Q and ticks, seed 1,
// Release, 2-core shared VM at load average about 2), timing the same Engine calls as bin/gw1.
// Medians of 6 runs per setting: q/s of AOI pass 1 and pass 2 and MOVE moves/s, each as
// zworld-bigmin / zworld-ranges. Single runs scatter by +-15% on this machine; per-operation
// CPU cycles of the main thread (perf counters) order the settings the same way.
//
//   cell_bits (16 MiB memtable)  AOI q/s        AOI2 q/s       MOVE moves/s
//   12 (16 world units)          67.1k / 59.0k  37.5k / 37.2k  382k / 399k
//   14 (4 world units)           62.9k / 57.5k  35.2k / 32.4k  302k / 316k
//   16 (1 world unit)            71.2k / 62.6k  39.1k / 35.4k  317k / 325k
//
//   write_buffer (cell_bits 12)  AOI q/s        AOI2 q/s       MOVE moves/s
//   64 MiB (engine default)      59.2k / 54.3k  38.9k / 37.3k  217k / 234k
//   16 MiB                       67.1k / 59.0k  37.5k / 37.2k  382k / 399k
//    8 MiB                       54.6k / 47.7k  44.3k / 39.3k  313k / 285k
//
// Cell size hardly changes the entries a query examines (94 per query for 73 hits at all
// three sizes) but coarse cells let a move of +-8 units keep its spatial key more often
// (fewer deletes): cell_bits 12 wins MOVE by 20% and loses AOI pass 1 to 16 by 6%.
// A 64 MiB memtable holds the whole N=200,000 world; scanning and inserting into a skiplist
// that large cost 1.2x the cycles per query and 1.9x per move of a 16 MiB one (SSTable blocks
// are contiguous, skiplist nodes are not). At N=1,000,000, 16 MiB also beat 64 MiB on AOI by
// 1.2-1.5x (3 runs); 8 MiB helps AOI pass 2 but costs pass 1 and MOVE (more flushes, more L0
// files).
constexpr int kCellBits = 12;
constexpr size_t kWriteBufferBytes = size_t{16} << 20;

// The L0 compaction trigger (engine default 4), chosen at N=1,000,000 with the store's
// keyspace partitioning and bulk memtable inserts (2026-11-21; medians of 5 alternating runs
// of zworld-bigmin; disk = disk_bytes_final):
//
//   l0_compaction_trigger   AOI q/s   AOI2 q/s   MOVE moves/s   peak MiB   disk MiB
//   2                       43.7k     20.2k      820k           180        133
//   3                       42.0k     22.0k      786k           214        122
//   4 (engine default)      42.9k     15.9k      797k           190        140
//
// Every move rewrites an entity and a spatial key; with 4 L0 tables allowed per keyspace,
// MOVE ends with three tables of them in L0 that AOI pass 2 must merge (and their older
// versions still on disk). 3 compacts them at the end of MOVE; 2 compacts so often that pass
// 2 meets compactions in progress.
constexpr int kL0CompactionTrigger = 3;

// GW1_ZWORLD_CELL_BITS, GW1_ZWORLD_WRITE_BUFFER_MB and GW1_ZWORLD_L0_TRIGGER override the
// constants above, for re-tuning only; GW1_ZWORLD_ZSTD=1 turns on zstd for every block (measured at
// 1M: disk final 156 -> 125 MiB, AOI 31.9k -> 18.2k q/s, so it stays off). The values in use always
// appear in the notes= field. Sets *value from the variable `name` if it is set; returns
// InvalidArgument if it is not an integer in [lo, hi].
Status EnvOverride(const char* name, long lo, long hi, long* value) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return Status::OK();
  char* end = nullptr;
  errno = 0;
  const long parsed = std::strtol(v, &end, 10);
  if (errno != 0 || *end != '\0' || parsed < lo || parsed > hi) {
    return Status::InvalidArgument(
        std::string(name) + "=" + v,
        "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
  }
  *value = parsed;
  return Status::OK();
}

class ZworldEngine final : public Engine {
 public:
  ZworldEngine(const EngineConfig& config, Planner planner) : config_(config), planner_(planner) {
    long cell_bits = kCellBits;
    long write_buffer_mib = static_cast<long>(kWriteBufferBytes >> 20);
    settings_ = EnvOverride("GW1_ZWORLD_CELL_BITS", 1, 32, &cell_bits);
    if (settings_.ok()) {
      settings_ = EnvOverride("GW1_ZWORLD_WRITE_BUFFER_MB", 1, 4096, &write_buffer_mib);
    }
    long zstd = 0;
    if (settings_.ok()) settings_ = EnvOverride("GW1_ZWORLD_ZSTD", 0, 1, &zstd);
    zstd_ = zstd != 0;
    long l0_trigger = kL0CompactionTrigger;
    if (settings_.ok()) settings_ = EnvOverride("GW1_ZWORLD_L0_TRIGGER", 1, 64, &l0_trigger);
    l0_trigger_ = static_cast<int>(l0_trigger);
    cell_bits_ = static_cast<int>(cell_bits);
    write_buffer_bytes_ = static_cast<size_t>(write_buffer_mib) << 20;
  }
  ~ZworldEngine() override {
    if (store_ != nullptr) (void)store_->Close();
  }

  std::string Name() const override {
    return planner_ == Planner::kBigmin ? "zworld-bigmin" : "zworld-ranges";
  }
  bool Persistent() const override { return true; }
  std::string Notes() const override {
    return std::string("spatialstore,") +
           (planner_ == Planner::kBigmin ? "planner-bigmin" : "planner-ranges") + ",cell_bits-" +
           std::to_string(cell_bits_) + ",write_buffer_mib-" +
           std::to_string(write_buffer_bytes_ >> 20) + ",l0_trigger-" +
           std::to_string(l0_trigger_) + (zstd_ ? ",zstd" : "") + ",wal-nosync";
  }

  Status Open(const std::string& dir) override {
    if (!settings_.ok()) return settings_;
    zorder::SpatialOptions options;
    options.db.create_if_missing = true;
    options.db.error_if_exists = true;
    options.db.block_cache_bytes = config_.cache_bytes;
    options.db.write_buffer_size = write_buffer_bytes_;
    if (zstd_) options.db.compression = engine::Compression::kZstd;
    options.db.l0_compaction_trigger = l0_trigger_;
    options.dimensions = 2;
    options.world_min = {0.0, 0.0, 0.0};
    options.world_max = {65536.0, 65536.0, 4096.0};
    options.cell_bits = cell_bits_;
    options.planner = planner_;
    query_options_.planner = planner_;
    query_options_.stats = &stats_;
    return zorder::SpatialStore::Open(options, dir, &store_);
  }

  Status Load(std::span<const LoadEntity> batch) override {
    batch_.Clear();
    for (const LoadEntity& e : batch) {
      zorder::Entity entity;
      entity.id = e.id;
      entity.position = {e.x, e.y, 0.0f};
      entity.kind = 0;
      entity.payload.assign(reinterpret_cast<const char*>(e.payload), kPayloadBytes);
      batch_.Put(std::move(entity));
    }
    return store_->Write(batch_, write_options_);
  }

  Status Query(const AoiBox& box, std::vector<uint64_t>* ids, QueryCounters* counters) override {
    hits_.clear();
    Status s = store_->QueryBox({box.minx, box.miny, 0.0}, {box.maxx, box.maxy, 0.0},
                                query_options_, &hits_);
    if (!s.ok()) return s;
    for (const zorder::Hit& h : hits_) ids->push_back(h.id);
    counters->scanned += stats_.entries_examined;
    counters->seeks += stats_.seeks;
    stats_ = zorder::QueryStats();
    return Status::OK();
  }

  Status ApplyMoves(std::span<const Move> moves) override {
    batch_.Clear();
    for (const Move& m : moves) batch_.Move(m.id, {m.new_x, m.new_y, 0.0f});
    return store_->Write(batch_, write_options_);
  }

  Status Close() override {
    if (store_ == nullptr) return Status::OK();
    Status s = store_->Close();
    store_.reset();
    return s;
  }

 private:
  const EngineConfig config_;
  const Planner planner_;
  Status settings_;  // a bad GW1_ZWORLD_* override, reported by Open
  int cell_bits_;
  size_t write_buffer_bytes_;
  std::unique_ptr<zorder::SpatialStore> store_;
  bool zstd_ = false;
  int l0_trigger_ = kL0CompactionTrigger;
  engine::WriteOptions write_options_;  // sync=false: WAL written, not fsynced
  zorder::QueryOptions query_options_;
  zorder::SpatialBatch batch_;
  std::vector<zorder::Hit> hits_;
  zorder::QueryStats stats_;  // the current query's counters (query_options_.stats)
};

}  // namespace

std::vector<EngineFactory> ZworldEngines() {
  return {
      {"zworld-bigmin",
       [](const EngineConfig& c) { return std::make_unique<ZworldEngine>(c, Planner::kBigmin); }},
      {"zworld-ranges",
       [](const EngineConfig& c) { return std::make_unique<ZworldEngine>(c, Planner::kRanges); }},
  };
}

}  // namespace zworld::gw1
