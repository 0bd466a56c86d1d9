// SpatialStore: game entities with positions, kept in an engine::DB under Morton (z-curve)
// keys so that a box query becomes a few range scans.
//
//   zworld::zorder::SpatialOptions options;          // 2D world [0, 65536)^2 by default
//   std::unique_ptr<zworld::zorder::SpatialStore> store;
//   auto s = zworld::zorder::SpatialStore::Open(options, "world.zdb", &store);
//   zworld::zorder::Entity e;
//   e.id = 7;
//   e.position = {100.5f, 200.f, 0.f};
//   s = store->Put(e);
//   s = store->Move(7, {101.f, 200.f, 0.f});
//   std::vector<zworld::zorder::Hit> hits;
//   s = store->QueryBox({0, 0, 0}, {512, 512, 0}, {}, &hits);  // bounds are doubles
//
// Key layout (shared/DESIGN.md, "Keys and values"; zorder/ZORDER.md):
//   's' ++ be64(morton(cell)) ++ be64(id)  ->  position, kind, version  (the spatial index)
//   'e' ++ be64(id)                       ->  cell code, kind, version  (the entity record)
//   'p' ++ be64(id)                       ->  payload (only Put writes it; moves never copy it)
//   'm' ++ "world"                        ->  the world description, checked on reopen
// A Put or Move writes its keys (and deletes the old spatial key when the cell changes) in one
// WriteBatch, so a reader never sees an entity twice or not at all.
//
// Thread safety: every method may be called from many threads at once. Writes to one entity
// are serialised by a striped lock; queries run without locks on a consistent snapshot.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <glm/vec3.hpp>

#include "zworld/engine/db.h"
#include "zworld/engine/status.h"

namespace zworld::zorder {

using engine::Status;

// Which of the two range planners a box query uses (zorder/planner.h).
enum class Planner : uint8_t {
  kBigmin,  // scan [zmin, zmax] once, jumping over gaps with BIGMIN
  kRanges,  // decompose the box into at most max_ranges z-ranges up front
};

struct SpatialOptions {
  // Options of the underlying engine (memtable size, block cache, Env...). The store installs
  // its own TableCollector (per-block bounding boxes) and, unless one is given, a
  // TablePartitioner that keeps each keyspace in its own SSTables; it keeps any
  // access_policy given here.
  engine::Options db;

  // 2 or 3. Fixed when the store is created. Default: 2.
  int dimensions = 2;
  // The world is [world_min, world_max) on each axis; z is ignored in 2D. Positions outside
  // it are refused with InvalidArgument. Fixed when the store is created.
  // Default: [0, 65536) on x and y, [0, 4096) on z (the GW-1 world).
  glm::dvec3 world_min{0.0, 0.0, 0.0};
  glm::dvec3 world_max{65536.0, 65536.0, 4096.0};
  // Bits of the cell grid per axis (2D: 1..32, 3D: 1..21): the world is cut into
  // 2^cell_bits cells per axis. Coarser cells mean fewer seeks per query and fewer key
  // changes per move; finer cells mean fewer entities examined. Fixed when the store is
  // created. Default: 12 (16 world units per cell in the default 2D world).
  int cell_bits = 12;

  // The planner box queries use unless QueryOptions says otherwise. Default: kBigmin.
  Planner planner = Planner::kBigmin;
  // Range budget of the kRanges planner. Default: 32.
  size_t max_ranges = 32;
};

// A game entity.
struct Entity {
  uint64_t id = 0;
  glm::vec3 position{0.0f};  // z is ignored (and stored as 0) in a 2D store
  uint32_t kind = 0;         // game-defined type (player, tree, projectile...)
  // Set by the store: 1 when first put, +1 on every Put or Move. Ignored on input.
  uint64_t version = 0;
  std::string payload;  // opaque game data, not touched by moves
};

// One entity found by a query (the payload is not read by queries: use Get).
struct Hit {
  uint64_t id = 0;
  glm::vec3 position{0.0f};
  uint32_t kind = 0;
  uint64_t version = 0;
};

// What one query did (QueryOptions::stats); the same counters as SpatialStats.
struct QueryStats {
  uint64_t seeks = 0;
  uint64_t entries_examined = 0;
  uint64_t entities_filtered = 0;
  uint64_t hits = 0;
};

struct QueryOptions {
  // Only entities of this kind. Default: all kinds.
  std::optional<uint32_t> kind;
  // At most this many hits (0: no limit). Box and radius queries stop early, in z-order;
  // nearest queries return the closest k anyway. Default: 0.
  size_t limit = 0;
  // Read as of this snapshot (from GetSnapshot). Default: one taken for the query.
  const engine::Snapshot* snapshot = nullptr;
  // Overrides SpatialOptions::planner for this query.
  std::optional<Planner> planner;
  // If set, the query adds its own counters here (cheaper than GetStats around the query,
  // and exact when other threads query too). A nearest query adds those of every box it
  // searched.
  QueryStats* stats = nullptr;
};

// A group of entity changes applied atomically (a game tick).
class SpatialBatch {
 public:
  void Put(Entity entity) { ops_.push_back(Op{Op::kPut, std::move(entity)}); }
  void Move(uint64_t id, glm::vec3 position) {
    Entity e;
    e.id = id;
    e.position = position;
    ops_.push_back(Op{Op::kMove, std::move(e)});
  }
  void Remove(uint64_t id) {
    Entity e;
    e.id = id;
    ops_.push_back(Op{Op::kRemove, std::move(e)});
  }
  void Clear() { ops_.clear(); }
  size_t size() const { return ops_.size(); }

 private:
  friend class SpatialStore;
  struct Op {
    enum Type : uint8_t { kPut, kMove, kRemove } type;
    Entity entity;
  };
  std::vector<Op> ops_;
};

// Counters since Open.
struct SpatialStats {
  uint64_t queries = 0;
  uint64_t seeks = 0;              // positionings of the scan (one per range or BIGMIN jump)
  uint64_t entries_examined = 0;   // spatial keys read by queries
  uint64_t entities_filtered = 0;  // examined but outside the exact box, radius or kind
  uint64_t hits = 0;
  uint64_t blocks_read = 0;     // engine data blocks visited by scans
  uint64_t blocks_skipped = 0;  // blocks skipped by their bounding box
};

class SpatialStore {
 public:
  // Opens or creates the store in folder path. A store created with other dimensions, world
  // bounds or cell bits than options gives InvalidArgument naming the difference.
  static Status Open(const SpatialOptions& options, const std::string& path,
                     std::unique_ptr<SpatialStore>* store);

  SpatialStore(const SpatialStore&) = delete;
  SpatialStore& operator=(const SpatialStore&) = delete;
  ~SpatialStore();

  // Inserts or replaces an entity. InvalidArgument for a position that is NaN, infinite or
  // outside the world.
  Status Put(const Entity& entity, const engine::WriteOptions& wo = {});
  // Moves an existing entity. NotFound if there is none with that id.
  Status Move(uint64_t id, glm::vec3 position, const engine::WriteOptions& wo = {});
  // Removes an entity. NotFound if there is none with that id.
  Status Remove(uint64_t id, const engine::WriteOptions& wo = {});
  // Applies a batch atomically. Nothing is written if any operation is invalid (bad
  // position, Move or Remove of a missing id); the Status names the failing operation.
  Status Write(const SpatialBatch& batch, const engine::WriteOptions& wo = {});

  // The entity with that id (payload included), or NotFound.
  Status Get(uint64_t id, Entity* entity, const engine::Snapshot* snapshot = nullptr);

  // Appends to *hits the entities with min <= position < max on each axis (z ignored in 2D),
  // in z-order. Bounds are doubles so that a box like GW-1's (a float centre +- 256) is
  // exact. InvalidArgument if a bound is NaN or min > max on some axis (an empty box, min ==
  // max, is valid and finds nothing); a box reaching past the world is clipped to it.
  Status QueryBox(glm::dvec3 min, glm::dvec3 max, const QueryOptions& qo, std::vector<Hit>* hits);
  // Appends the entities within distance r of center (distance <= r), in z-order.
  // InvalidArgument if center is not finite or r is negative or NaN.
  Status QueryRadius(glm::dvec3 center, double r, const QueryOptions& qo, std::vector<Hit>* hits);
  // Appends the k entities nearest to center, nearest first; equal distances are ordered by
  // id. Exact: distances are computed in double precision on the stored float positions.
  Status QueryNearest(glm::dvec3 center, size_t k, const QueryOptions& qo, std::vector<Hit>* hits);

  const engine::Snapshot* GetSnapshot() { return db_->GetSnapshot(); }
  void ReleaseSnapshot(const engine::Snapshot* s) { db_->ReleaseSnapshot(s); }

  SpatialStats GetStats() const;
  // The underlying DB, for Flush, CompactRange, GetProperty and stats.
  engine::DB* db() { return db_.get(); }
  const SpatialOptions& options() const { return options_; }

  Status Close();

 private:
  struct Grid;
  struct Stripes;
  struct Pending;
  // The sphere test of a radius query, applied after the exact box test.
  struct HitFilterArgs {
    bool sphere = false;
    glm::dvec3 center{0.0};
    double r2 = 0.0;
  };

  SpatialStore(const SpatialOptions& options, std::unique_ptr<engine::DB> db);

  // Appends to *hits the entities with min <= position < max that pass qo's kind filter,
  // qo.limit and extra, read at snapshot (null: the latest state). Bounds must already be
  // validated.
  Status ScanBox(const glm::dvec3& min, const glm::dvec3& max, const QueryOptions& qo,
                 const engine::Snapshot* snapshot, const HitFilterArgs& extra,
                 std::vector<Hit>* hits);
  // Adds the writes of one entity change to *wb. *pending holds the state of entities that
  // earlier operations of the same batch changed.
  Status Apply(const SpatialBatch::Op& op, size_t index, engine::WriteBatch* wb, Pending* pending);

  const SpatialOptions options_;
  std::unique_ptr<engine::DB> db_;
  std::unique_ptr<Grid> grid_;
  std::unique_ptr<Stripes> stripes_;
  bool closed_ = false;

  std::atomic<uint64_t> queries_{0}, seeks_{0}, examined_{0}, filtered_{0}, hits_{0};
};

}  // namespace zworld::zorder
