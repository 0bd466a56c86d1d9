// Helpers shared by the zorder tests (folders, seeds and Random come from
// tests/common/test_common.h): ReferenceWorld, a brute-force in-memory model of a SpatialStore
// (std::map of entities, every query answered by looking at every entity).
//
// Seeds: a randomised test calls TestSeed() once and puts SeedTrace(seed) in a SCOPED_TRACE,
// so every failure message carries the seed. ZWORLD_TEST_SEED=<n> makes every TestSeed() of
// the process return n (replay one test with --gtest_filter).
//
// Thread safety: Random and ReferenceWorld are not thread-safe (one per thread); the free
// functions are.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <glm/vec3.hpp>

#include "common/test_common.h"
#include "zworld/zorder/spatial_store.h"

namespace zworld::zorder::test {

using zworld::test::Random;
using zworld::test::SeedTrace;
using zworld::test::TempDir;
using zworld::test::TestSeed;
using zworld::test::UnderSanitizer;
using zworld::test::UniqueMemPath;

// The world of a store's options: bounds and cell size per axis.
struct WorldShape {
  int dims = 2;
  glm::dvec3 lo{0.0}, hi{0.0};
  glm::dvec3 extent() const { return hi - lo; }
  // Width of one cell on each axis.
  glm::dvec3 cell{0.0};

  explicit WorldShape(const SpatialOptions& o);
  // True if p is a position the store accepts (finite and inside on every used axis).
  bool Accepts(const glm::vec3& p) const;
  // The float nearest to v that lies in [lo[axis], hi[axis]) (v is first clamped into the
  // world).
  float Clamp(int axis, double v) const;
  // A uniformly random accepted position (z = 0 in 2D).
  glm::vec3 RandomPosition(Random* rnd) const;
};

// Brute-force model of a SpatialStore's contents with the store's documented semantics:
// version 1 on first Put (also after a Remove), +1 on every Put or Move; a Move keeps kind
// and payload; z is stored as 0 in 2D.
class ReferenceWorld {
 public:
  explicit ReferenceWorld(const SpatialOptions& o) : shape_(o) {}

  const WorldShape& shape() const { return shape_; }
  const std::map<uint64_t, Entity>& entities() const { return entities_; }
  const Entity* Find(uint64_t id) const;
  size_t size() const { return entities_.size(); }

  // Apply one valid change. Move and Remove return false (changing nothing) if id is
  // missing.
  void Put(const Entity& e);
  bool Move(uint64_t id, glm::vec3 p);
  bool Remove(uint64_t id);

  // Ids (ascending) of the entities with min <= p < max on each used axis, of kind *kind
  // if given.
  std::vector<uint64_t> Box(const glm::dvec3& min, const glm::dvec3& max,
                            std::optional<uint32_t> kind) const;
  // Ids (ascending) of the entities at distance <= r of center.
  std::vector<uint64_t> Radius(const glm::dvec3& center, double r,
                               std::optional<uint32_t> kind) const;
  // Ids of the k nearest entities, nearest first, equal distances by ascending id. Distances
  // are computed in double precision on the float positions.
  std::vector<uint64_t> Nearest(const glm::dvec3& center, size_t k,
                                std::optional<uint32_t> kind) const;

  // Squared distance in double precision over the used axes.
  double Distance2(const glm::vec3& p, const glm::dvec3& center) const;

 private:
  WorldShape shape_;
  std::map<uint64_t, Entity> entities_;
};

// Success if s is OK; otherwise the failure message is s.ToString().
::testing::AssertionResult IsOk(const Status& s);

// The ids of hits, in order.
std::vector<uint64_t> Ids(const std::vector<Hit>& hits);

// Success if hits hold each id of expected_ids exactly once and nothing else, and every hit's
// position, kind and version equal the model's entity. The message lists the differences.
::testing::AssertionResult HitsMatch(const ReferenceWorld& model, const std::vector<Hit>& hits,
                                     const std::vector<uint64_t>& expected_ids);
// Success if hits (in order) are exactly expected_ids (in order), with the model's fields.
::testing::AssertionResult HitsMatchInOrder(const ReferenceWorld& model,
                                            const std::vector<Hit>& hits,
                                            const std::vector<uint64_t>& expected_ids);
// Success if *store's Get returns exactly the model's entity for every live id, and NotFound
// for each id of missing_ids.
::testing::AssertionResult StoreMatchesModel(SpatialStore* store, const ReferenceWorld& model,
                                             const std::vector<uint64_t>& missing_ids = {});

// "(x, y, z)" with full precision, for messages.
std::string ToString(const glm::dvec3& v);
std::string ToString(const glm::vec3& v);

}  // namespace zworld::zorder::test
