#include "engine.h"

namespace zworld::gw1 {

std::vector<EngineFactory> AllEngines() {
  std::vector<EngineFactory> engines;
#ifdef GW1_HAVE_ZWORLD
  engines = ZworldEngines();
#endif
  engines.push_back({"rocksdb", NewRocksDbEngine});
  engines.push_back({"leveldb", NewLevelDbEngine});
  engines.push_back({"sqlite-rtree", NewSqliteRtreeEngine});
  engines.push_back({"boost-rtree", NewBoostRtreeEngine});
  return engines;
}

}  // namespace zworld::gw1
