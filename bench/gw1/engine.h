// The adapter between the GW-1 harness and one store. Each engine row of the GW-1 output
// (engine=rocksdb, engine=sqlite-rtree, engine=zworld-bigmin, ...) is one Engine.
//
// Life cycle, driven by the harness in one process per engine:
//   Open(dir) -> Load(batch)* -> Query()* -> ApplyMoves(tick)* -> Query()* -> Close()
// Only these calls are timed; the harness generates batches, boxes and moves beforehand.
// An Engine is used from one thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "workload.h"
#include "zworld/engine/status.h"

namespace zworld::gw1 {

using engine::Status;

// Work counters of one query. Key-value engines count as GW-1.md section 2 defines:
// `scanned` = keys examined with zmin <= z <= zmax, `seeks` = iterator Seeks (one initial
// Seek plus one per BIGMIN jump). Other engines leave them at zero.
struct QueryCounters {
  uint64_t scanned = 0;
  uint64_t seeks = 0;
};

// What an engine learns about the run before Open.
struct EngineConfig {
  uint64_t n = 0;     // entities in the world
  uint64_t seed = 1;  // master seed
  // Block cache (or page cache) budget of the persistent engines (GW-1.md section 1.8).
  uint64_t cache_bytes = uint64_t{128} << 20;
};

class Engine {
 public:
  virtual ~Engine() = default;

  // The engine= name of the output lines, e.g. "leveldb".
  virtual std::string Name() const = 0;
  // True if the engine keeps its data on disk (persistent= of the summary line).
  virtual bool Persistent() const = 0;
  // Free-form facts for the notes= field (no spaces; commas between items). May be empty.
  virtual std::string Notes() const { return std::string(); }

  // Creates a new, empty store in `dir` (an existing, empty folder the engine owns until
  // Close). Returns a non-OK Status if the store cannot be created.
  virtual Status Open(const std::string& dir) = 0;

  // Inserts one LOAD batch (section 1.5) as one write batch / transaction. The entities and
  // their payloads are valid only during the call.
  virtual Status Load(std::span<const LoadEntity> batch) = 0;

  // Appends to *ids the id of every entity with box.Contains(x, y), each exactly once, in
  // any order, and adds this query's work to *counters. Does not clear *ids.
  virtual Status Query(const AoiBox& box, std::vector<uint64_t>* ids, QueryCounters* counters) = 0;

  // Applies the moves of one tick (section 1.7) in list order. Moves and their payloads
  // are valid only during the call.
  virtual Status ApplyMoves(std::span<const Move> moves) = 0;

  // Releases the store; on success all data has reached the files the engine keeps (no
  // fsync is required). The Engine is not used afterwards.
  virtual Status Close() = 0;
};

// A named way to make one engine.
struct EngineFactory {
  std::string name;
  std::function<std::unique_ptr<Engine>(const EngineConfig&)> make;
};

// Every engine this build knows, in the default run order (zworld's rows first when built).
std::vector<EngineFactory> AllEngines();

#ifdef GW1_HAVE_ZWORLD
// zworld's rows (engine_zworld.cc): engine=zworld-bigmin and engine=zworld-ranges, one per
// range planner of SpatialStore. CMake defines GW1_HAVE_ZWORLD when that file is built.
std::vector<EngineFactory> ZworldEngines();
#endif

// Constructors of the peer engines (engine_<peer>.cc).
std::unique_ptr<Engine> NewRocksDbEngine(const EngineConfig& config);
std::unique_ptr<Engine> NewLevelDbEngine(const EngineConfig& config);
std::unique_ptr<Engine> NewSqliteRtreeEngine(const EngineConfig& config);
std::unique_ptr<Engine> NewBoostRtreeEngine(const EngineConfig& config);

}  // namespace zworld::gw1
