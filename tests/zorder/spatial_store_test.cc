// SpatialStore against a brute-force reference (ReferenceWorld, a std::map of entities).
//
// The property test runs random worlds (uniform, clustered and lattice layouts; 2D and 3D;
// coarse and fine cell grids; a world box with negative minimum) through random box, radius
// and nearest queries with both planners, after random puts, moves, removes and batches, and
// across Flush, CompactRange and close/reopen on a tiny memtable (so queries merge a memtable
// with several SSTables and levels). Smaller tests pin the contracts of spatial_store.h one
// by one: versions, NotFound and InvalidArgument cases, batch atomicity, the world record
// checked on reopen, z-order of results and limits, snapshots, block skipping.
//
// Every randomised test prints its seed; replay with ZWORLD_TEST_SEED=<seed>
// --gtest_filter=<test>.
#include "zworld/zorder/spatial_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <glm/common.hpp>
#include <glm/vec2.hpp>

#include "block_bounds.h"
#include "keys.h"
#include "support/spatial_test_util.h"
#include "zworld/engine/env.h"
#include "zworld/zorder/morton.h"

namespace zworld::zorder {
namespace {

using test::HitsMatch;
using test::HitsMatchInOrder;
using test::Ids;
using test::IsOk;
using test::Random;
using test::ReferenceWorld;
using test::StoreMatchesModel;
using test::ToString;
using test::WorldShape;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr float kInfF = std::numeric_limits<float>::infinity();
constexpr float kNaNF = std::numeric_limits<float>::quiet_NaN();
constexpr uint32_t kKinds = 4;

// Engine options that make a small data set span several SSTables and levels.
engine::Options TinyEngine(engine::Env* env, size_t block_size = 4096) {
  engine::Options o;
  o.env = env;
  o.write_buffer_size = 16u << 10;
  o.block_size = block_size;
  o.block_cache_bytes = 1u << 20;
  o.target_file_size = 32u << 10;
  o.max_bytes_for_level_base = 64u << 10;
  o.level_size_multiplier = 4;
  return o;
}

uint64_t TotalFiles(engine::DB* db) {
  engine::DBStats st = db->GetStats();
  uint64_t n = 0;
  for (uint64_t f : st.files_per_level) n += f;
  return n;
}

// "L0:2 L1:3 ..." for messages.
std::string FilesPerLevel(engine::DB* db) {
  engine::DBStats st = db->GetStats();
  std::string out;
  for (int l = 0; l < 8; l++) {
    if (st.files_per_level[l] != 0) {
      out += "L" + std::to_string(l) + ":" + std::to_string(st.files_per_level[l]) + " ";
    }
  }
  return out;
}

std::string PlannerName(std::optional<Planner> p) {
  if (!p) return "default";
  return *p == Planner::kBigmin ? "bigmin" : "ranges";
}

// A store in a MemEnv (or a real folder), reopened at will. The store is destroyed before
// the Env.
class SpatialStoreTest : public ::testing::Test {
 protected:
  SpatialStoreTest() : env_(engine::NewMemEnv(engine::Env::Default())) {}

  SpatialOptions MemOptions(int dims = 2, int cell_bits = 12) {
    SpatialOptions o;
    o.db = TinyEngine(env_.get());
    o.dimensions = dims;
    o.cell_bits = cell_bits;
    return o;
  }

  void Open(const SpatialOptions& o) {
    options_ = o;
    store_.reset();
    ASSERT_TRUE(IsOk(SpatialStore::Open(options_, path_, &store_)));
    ASSERT_NE(store_, nullptr);
  }
  void Reopen() {
    ASSERT_TRUE(IsOk(store_->Close()));
    store_.reset();
    ASSERT_TRUE(IsOk(SpatialStore::Open(options_, path_, &store_)));
  }
  uint64_t Writes() { return store_->db()->GetStats().writes; }

  std::unique_ptr<engine::MemEnv> env_;
  std::string path_ = test::UniqueMemPath();
  SpatialOptions options_;
  std::unique_ptr<SpatialStore> store_;
};

Entity MakeEntity(uint64_t id, glm::vec3 p, uint32_t kind = 0, std::string payload = "") {
  Entity e;
  e.id = id;
  e.position = p;
  e.kind = kind;
  e.payload = std::move(payload);
  return e;
}

// ---- the property test -----------------------------------------------------------------------

enum class Layout { kUniform, kClustered, kLattice };

struct WorldCase {
  const char* name;
  int dims;
  int cell_bits;
  glm::dvec3 world_min;
  glm::dvec3 world_max;
  Layout layout;
  size_t entities;  // scaled down under sanitizers
  Planner planner;
  size_t max_ranges;  // the first of the values cycled through on reopen
  size_t block_size;
};

void PrintTo(const WorldCase& c, std::ostream* os) { *os << c.name; }

const glm::dvec3 kDefaultMin{0.0, 0.0, 0.0};
const glm::dvec3 kDefaultMax{65536.0, 65536.0, 4096.0};

const WorldCase kWorldCases[] = {
    {"Uniform2D_Bits12", 2, 12, kDefaultMin, kDefaultMax, Layout::kUniform, 3000, Planner::kBigmin,
     32, 4096},
    {"Clustered2D_Bits4", 2, 4, kDefaultMin, kDefaultMax, Layout::kClustered, 3000,
     Planner::kRanges, 4, 1024},
    {"Clustered2D_Bits20", 2, 20, kDefaultMin, kDefaultMax, Layout::kClustered, 3000,
     Planner::kBigmin, 1, 2048},
    {"Uniform2D_Bits32", 2, 32, kDefaultMin, kDefaultMax, Layout::kUniform, 2000, Planner::kRanges,
     64, 4096},
    {"Lattice2D_NegativeWorld_Bits10",
     2,
     10,
     {-1000.0, -500.5, 0.0},
     {3000.0, 1547.25, 1.0},
     Layout::kLattice,
     2500,
     Planner::kBigmin,
     4,
     1024},
    {"Clustered2D_NegativeWorld_Bits32",
     2,
     32,
     {-3.0e6, -1.0e-3, 0.0},
     {-1.0e6, 7.5, 1.0},
     Layout::kClustered,
     2000,
     Planner::kRanges,
     1,
     4096},
    {"Uniform3D_Bits10", 3, 10, kDefaultMin, kDefaultMax, Layout::kUniform, 3000, Planner::kRanges,
     32, 4096},
    {"Clustered3D_NegativeWorld_Bits21",
     3,
     21,
     {-2048.0, -100.0, -64.0},
     {2048.0, 924.0, 64.0},
     Layout::kClustered,
     2500,
     Planner::kBigmin,
     1,
     2048},
    {"Lattice3D_Bits4", 3, 4, kDefaultMin, kDefaultMax, Layout::kLattice, 2000, Planner::kRanges, 4,
     1024},
};

const size_t kMaxRangesCycle[] = {1, 4, 32, 1000};

class PropertyTest : public SpatialStoreTest, public ::testing::WithParamInterface<WorldCase> {
 protected:
  void SetUp() override {
    const WorldCase& c = GetParam();
    seed_ = test::TestSeed();
    rnd_ = std::make_unique<Random>(seed_);
    options_.db = TinyEngine(env_.get(), c.block_size);
    options_.dimensions = c.dims;
    options_.cell_bits = c.cell_bits;
    options_.world_min = c.world_min;
    options_.world_max = c.world_max;
    options_.planner = c.planner;
    options_.max_ranges = c.max_ranges;
    model_ = std::make_unique<ReferenceWorld>(options_);
    n_ = test::UnderSanitizer() ? c.entities / 3 : c.entities;

    const WorldShape& w = model_->shape();
    // Clusters: some random, one at the world's centre (where the z-curve's biggest jumps
    // are), one at each extreme corner.
    for (int i = 0; i < 5; i++) centres_.push_back(glm::dvec3(w.RandomPosition(rnd_.get())));
    centres_.push_back(w.lo + w.extent() * 0.5);
    centres_.push_back(w.lo);
    centres_.push_back(w.hi);
    const double spreads[] = {0.0005, 0.005, 0.03};
    for (size_t i = 0; i < centres_.size(); i++) {
      sigmas_.push_back(w.extent() * spreads[rnd_->Uniform(3)]);
    }
    // Lattice: a power-of-two step no larger than a cell, on up to 48 points per axis.
    for (int a = 0; a < 3; a++) {
      step_[a] = std::ldexp(1.0, static_cast<int>(std::floor(std::log2(w.cell[a]))));
      const uint64_t fit = static_cast<uint64_t>(std::floor(w.extent()[a] / step_[a]));
      lattice_n_[a] = std::min<uint64_t>(48, fit);
      lattice_origin_[a] =
          w.lo[a] + step_[a] * static_cast<double>(rnd_->Uniform(fit - lattice_n_[a] + 1));
    }
  }

  const WorldShape& shape() const { return model_->shape(); }
  int dims() const { return options_.dimensions; }

  uint64_t RandomLiveId() {
    auto it = model_->entities().begin();
    std::advance(it, static_cast<long>(rnd_->Uniform(model_->size())));
    return it->first;
  }

  // A position on an edge of the world on some axes: exactly world_min or the largest float
  // below world_max.
  glm::vec3 EdgePosition() {
    glm::vec3 p = shape().RandomPosition(rnd_.get());
    for (int a = 0; a < dims(); a++) {
      switch (rnd_->Uniform(3)) {
        case 0:
          p[a] = shape().Clamp(a, shape().lo[a]);
          break;
        case 1:
          p[a] = shape().Clamp(a, shape().hi[a]);
          break;
        default:
          break;
      }
    }
    return p;
  }

  glm::vec3 NewPosition() {
    const uint64_t r = rnd_->Uniform(100);
    if (r < 3) return EdgePosition();
    if (r < 10 && model_->size() > 0) return model_->Find(RandomLiveId())->position;
    glm::vec3 p{0.0f};
    switch (GetParam().layout) {
      case Layout::kUniform:
        return shape().RandomPosition(rnd_.get());
      case Layout::kClustered: {
        const size_t c = rnd_->Uniform(centres_.size());
        for (int a = 0; a < dims(); a++) {
          p[a] = shape().Clamp(a, centres_[c][a] + rnd_->Gaussian() * sigmas_[c][a]);
        }
        return p;
      }
      case Layout::kLattice:
        for (int a = 0; a < dims(); a++) {
          p[a] = shape().Clamp(
              a, lattice_origin_[a] + step_[a] * static_cast<double>(rnd_->Uniform(lattice_n_[a])));
        }
        return p;
    }
    return p;
  }

  // A position near p: a fraction of a cell, a few cells, or a teleport.
  glm::vec3 MovedPosition(glm::vec3 p) {
    const uint64_t r = rnd_->Uniform(4);
    if (r == 3) return NewPosition();
    const double scale = r == 0 ? 0.2 : r == 1 ? 1.0 : 8.0;
    for (int a = 0; a < dims(); a++) {
      p[a] = shape().Clamp(a, p[a] + rnd_->Gaussian() * shape().cell[a] * scale);
    }
    return p;
  }

  // (Random draws are sequenced statement by statement, so a seed replays on any compiler.)
  Entity NewEntity(uint64_t id) {
    std::string payload = rnd_->OneIn(50) ? rnd_->Bytes(5000) : rnd_->Bytes(rnd_->Uniform(40));
    const glm::vec3 p = NewPosition();
    const auto kind = static_cast<uint32_t>(rnd_->Uniform(kKinds));
    return MakeEntity(id, p, kind, std::move(payload));
  }

  void Populate(size_t n) {
    size_t done = 0;
    while (done < n) {
      if (rnd_->OneIn(3)) {
        Entity e = NewEntity(next_id_++);
        ASSERT_TRUE(IsOk(store_->Put(e)));
        model_->Put(e);
        done++;
      } else {
        SpatialBatch b;
        std::vector<Entity> es;
        for (size_t i = 0; i < 32 && done < n; i++, done++) {
          es.push_back(NewEntity(next_id_++));
          b.Put(es.back());
        }
        ASSERT_TRUE(IsOk(store_->Write(b)));
        for (const Entity& e : es) model_->Put(e);
      }
    }
  }

  // An id no entity has ever had.
  uint64_t MissingId() { return (uint64_t{1} << 62) + rnd_->Uniform(1u << 20); }

  glm::vec3 BadPosition() {
    glm::vec3 p = shape().RandomPosition(rnd_.get());
    const int a = static_cast<int>(rnd_->Uniform(dims()));
    switch (rnd_->Uniform(5)) {
      case 0:
        p[a] = kNaNF;
        break;
      case 1:
        p[a] = kInfF;
        break;
      case 2:
        p[a] = -kInfF;
        break;
      case 3:
        p[a] = static_cast<float>(shape().hi[a] + shape().extent()[a] * rnd_->Unit());
        break;
      default:
        p[a] = std::nextafter(static_cast<float>(shape().lo[a]), -kInfF);
        break;
    }
    if (shape().Accepts(p)) p[a] = kNaNF;  // a float rounding brought it back into the world
    return p;
  }

  // Adds a random valid operation to *b and applies it to *after.
  void AddValidOp(SpatialBatch* b, ReferenceWorld* after) {
    const uint64_t r = rnd_->Uniform(10);
    if (after->size() == 0 || r < 2) {
      Entity e =
          NewEntity(!removed_.empty() && rnd_->OneIn(2) ? removed_[rnd_->Uniform(removed_.size())]
                                                        : next_id_++);
      b->Put(e);
      after->Put(e);
      return;
    }
    auto it = after->entities().begin();
    std::advance(it, static_cast<long>(rnd_->Uniform(after->size())));
    const uint64_t id = it->first;
    if (r < 7) {
      glm::vec3 p = MovedPosition(it->second.position);
      b->Move(id, p);
      after->Move(id, p);
    } else if (r < 8) {
      Entity e = NewEntity(id);
      b->Put(e);
      after->Put(e);
    } else {
      b->Remove(id);
      after->Remove(id);
      removed_.push_back(id);
    }
  }

  // One random change, checked against the model.
  void MutateOnce() {
    const uint64_t r = rnd_->Uniform(100);
    if (model_->size() == 0 || r < 8) {  // a new entity, or a removed one put again
      const bool again = !removed_.empty() && rnd_->OneIn(2);
      Entity e = NewEntity(again ? removed_[rnd_->Uniform(removed_.size())] : next_id_++);
      ASSERT_TRUE(IsOk(store_->Put(e)));
      model_->Put(e);
    } else if (r < 45) {
      const uint64_t id = RandomLiveId();
      const glm::vec3 p = MovedPosition(model_->Find(id)->position);
      ASSERT_TRUE(IsOk(store_->Move(id, p))) << "Move " << id << " to " << ToString(p);
      model_->Move(id, p);
    } else if (r < 55) {
      const uint64_t id = RandomLiveId();
      ASSERT_TRUE(IsOk(store_->Remove(id)));
      model_->Remove(id);
      removed_.push_back(id);
    } else if (r < 63) {
      Entity e = NewEntity(RandomLiveId());  // replaces kind, payload and position
      ASSERT_TRUE(IsOk(store_->Put(e)));
      model_->Put(e);
    } else if (r < 73) {  // Move or Remove of a missing id writes nothing
      const uint64_t writes = Writes();
      const uint64_t id = !removed_.empty() && rnd_->OneIn(2)
                              ? removed_[rnd_->Uniform(removed_.size())]
                              : MissingId();
      if (model_->Find(id) != nullptr) return;
      Status s = rnd_->OneIn(2) ? store_->Move(id, NewPosition()) : store_->Remove(id);
      ASSERT_TRUE(s.IsNotFound()) << id << ": " << s.ToString();
      ASSERT_EQ(Writes(), writes);
    } else if (r < 80) {  // a bad position writes nothing
      const uint64_t writes = Writes();
      const glm::vec3 p = BadPosition();
      Status s;
      if (rnd_->OneIn(2)) {
        Entity e = NewEntity(RandomLiveId());
        e.position = p;
        s = store_->Put(e);
      } else {
        s = store_->Move(RandomLiveId(), p);
      }
      ASSERT_TRUE(s.IsInvalidArgument()) << ToString(p) << ": " << s.ToString();
      ASSERT_EQ(Writes(), writes);
    } else if (r < 93) {  // a valid batch
      SpatialBatch b;
      ReferenceWorld after = *model_;
      // Sizes on both sides of the store's threshold for reading entities by one scan.
      const size_t n = 2 + rnd_->Uniform(40);
      for (size_t i = 0; i < n; i++) AddValidOp(&b, &after);
      ASSERT_TRUE(IsOk(store_->Write(b)));
      *model_ = std::move(after);
    } else {  // a batch with one invalid operation writes nothing
      SpatialBatch b;
      ReferenceWorld after = *model_;
      const size_t n = 1 + rnd_->Uniform(40);
      const size_t bad = rnd_->Uniform(n);
      bool want_not_found = false;
      for (size_t i = 0; i < n; i++) {
        if (i != bad) {
          AddValidOp(&b, &after);
          continue;
        }
        switch (rnd_->Uniform(3)) {
          case 0: {
            const uint64_t id = MissingId();
            b.Move(id, NewPosition());
            want_not_found = true;
            break;
          }
          case 1:
            b.Remove(MissingId());
            want_not_found = true;
            break;
          default:
            if (after.size() > 0 && rnd_->OneIn(2)) {
              b.Move(after.entities().begin()->first, BadPosition());
            } else {
              Entity e = NewEntity(next_id_++);
              e.position = BadPosition();
              b.Put(e);
            }
            break;
        }
      }
      const uint64_t writes = Writes();
      Status s = store_->Write(b);
      ASSERT_EQ(
          want_not_found ? engine::Status::Code::kNotFound : engine::Status::Code::kInvalidArgument,
          s.code())
          << s.ToString();
      EXPECT_NE(s.message().find("operation " + std::to_string(bad)), std::string::npos)
          << s.ToString();
      ASSERT_EQ(Writes(), writes);
    }
  }

  void Mutate(size_t n) {
    for (size_t i = 0; i < n; i++) {
      ASSERT_NO_FATAL_FAILURE(MutateOnce()) << "mutation " << i;
    }
  }

  // ---- queries ----

  // A point to build a query around: a random point of the world (sometimes a little
  // outside), or an entity's exact position.
  glm::dvec3 Anchor() {
    if (model_->size() > 0 && rnd_->OneIn(2))
      return glm::dvec3(model_->Find(RandomLiveId())->position);
    glm::dvec3 c{0.0};
    for (int a = 0; a < 3; a++) {
      c[a] = rnd_->Between(shape().lo[a] - 0.05 * shape().extent()[a],
                           shape().hi[a] + 0.05 * shape().extent()[a]);
    }
    if (dims() == 2) c.z = 0.0;
    return c;
  }

  std::pair<glm::dvec3, glm::dvec3> RandomBox() {
    const glm::dvec3 lo = shape().lo, hi = shape().hi, ext = shape().extent(), cell = shape().cell;
    glm::dvec3 min{0.0}, max{0.0};
    auto around = [&](const glm::dvec3& half) {
      const glm::dvec3 c = Anchor();
      min = c - half;
      max = c + half;
    };
    switch (rnd_->Uniform(12)) {
      case 0:  // tiny: about a cell or less
        around(cell * rnd_->Between(0.0, 1.5));
        break;
      case 1:
      case 2:  // small
        around(ext * rnd_->Between(0.001, 0.03));
        break;
      case 3:  // medium
        around(ext * rnd_->Between(0.03, 0.3));
        break;
      case 4:  // more than the whole world
        min = lo - ext * rnd_->Unit();
        max = hi + ext * rnd_->Unit();
        break;
      case 5: {  // across an edge of the world
        around(ext * rnd_->Between(0.001, 0.1));
        const int a = static_cast<int>(rnd_->Uniform(dims()));
        const double edge = rnd_->OneIn(2) ? lo[a] : hi[a];
        min[a] = edge - ext[a] * rnd_->Between(0.0, 0.1);
        max[a] = edge + ext[a] * rnd_->Between(0.0, 0.1);
        break;
      }
      case 6: {  // zero area: finds nothing
        around(ext * rnd_->Between(0.001, 0.3));
        const int a = static_cast<int>(rnd_->Uniform(dims()));
        max[a] = min[a];
        break;
      }
      case 7: {  // bounds on entity coordinates: min inclusive, max exclusive
        const glm::dvec3 p = Anchor(), q = Anchor();
        min = glm::min(p, q);
        max = glm::max(p, q);
        break;
      }
      case 8: {  // entirely outside the world
        around(ext * rnd_->Between(0.001, 0.3));
        const int a = static_cast<int>(rnd_->Uniform(dims()));
        const double gap = rnd_->OneIn(3) ? 0.0 : ext[a] * rnd_->Unit();  // 0: touching
        if (rnd_->OneIn(2)) {
          min[a] = hi[a] + gap;
          max[a] = min[a] + ext[a];
        } else {
          max[a] = lo[a] - gap;
          min[a] = max[a] - ext[a];
        }
        break;
      }
      case 9:  // infinite bounds on some axes
        around(ext * rnd_->Between(0.001, 0.2));
        for (int a = 0; a < 3; a++) {
          if (rnd_->OneIn(2)) min[a] = -kInf;
          if (rnd_->OneIn(2)) max[a] = kInf;
        }
        break;
      case 10:  // the world itself
        min = lo;
        max = hi;
        break;
      default:  // bounds on cell boundaries
        for (int a = 0; a < 3; a++) {
          const double cells = ext[a] / cell[a];
          double i = std::floor(rnd_->Between(0.0, cells));
          double j = std::min(cells, i + std::floor(rnd_->Between(0.0, std::min(cells, 64.0))));
          min[a] = lo[a] + i * cell[a];
          max[a] = lo[a] + j * cell[a];
        }
        break;
    }
    if (dims() == 2 && rnd_->OneIn(2)) {  // z is ignored in 2D
      min.z = 0.0;
      max.z = 0.0;
    }
    return {min, max};
  }

  QueryOptions RandomQueryOptions() {
    QueryOptions qo;
    if (rnd_->OneIn(4)) qo.kind = static_cast<uint32_t>(rnd_->Uniform(kKinds));
    return qo;
  }

  static std::string Describe(const char* what, const glm::dvec3& a, const glm::dvec3& b,
                              const QueryOptions& qo) {
    return std::string(what) + " " + ToString(a) + " " + ToString(b) + " planner " +
           PlannerName(qo.planner) + " kind " + (qo.kind ? std::to_string(*qo.kind) : "any") +
           " limit " + std::to_string(qo.limit);
  }

  void CheckBox(const glm::dvec3& min, const glm::dvec3& max) {
    QueryOptions qo = RandomQueryOptions();
    const std::vector<uint64_t> expected = model_->Box(min, max, qo.kind);
    std::vector<Hit> got[2];
    for (int p = 0; p < 2; p++) {
      qo.planner = p == 0 ? Planner::kBigmin : Planner::kRanges;
      ASSERT_TRUE(IsOk(store_->QueryBox(min, max, qo, &got[p]))) << Describe("box", min, max, qo);
      ASSERT_TRUE(HitsMatch(*model_, got[p], expected)) << Describe("box", min, max, qo);
    }
    // Both planners return z-order, so the same sequence.
    ASSERT_EQ(Ids(got[0]), Ids(got[1])) << Describe("box", min, max, qo);
    if (rnd_->OneIn(4)) {
      qo.planner.reset();
      std::vector<Hit> hits;
      ASSERT_TRUE(IsOk(store_->QueryBox(min, max, qo, &hits)));
      ASSERT_EQ(Ids(hits), Ids(got[0])) << Describe("box", min, max, qo);
    }
    if (rnd_->OneIn(3)) {  // a limit stops early in z-order: a prefix of the full answer
      qo.limit = 1 + rnd_->Uniform(std::min<size_t>(expected.size() + 2, 20));
      for (int p = 0; p < 2; p++) {
        qo.planner = p == 0 ? Planner::kBigmin : Planner::kRanges;
        std::vector<Hit> hits;
        ASSERT_TRUE(IsOk(store_->QueryBox(min, max, qo, &hits)));
        std::vector<uint64_t> prefix = Ids(got[p]);
        prefix.resize(std::min(prefix.size(), qo.limit));
        ASSERT_EQ(Ids(hits), prefix) << Describe("box", min, max, qo);
      }
    }
  }

  void CheckRadius() {
    const glm::dvec3 c = Anchor();
    const WorldShape& w = shape();
    double r = 0.0;
    switch (rnd_->Uniform(6)) {
      case 0:
        r = 0.0;
        break;
      case 1:
        r = w.cell.x * rnd_->Between(0.0, 2.0);
        break;
      case 2:
        r = w.extent().x * rnd_->Between(0.001, 0.05);
        break;
      case 3:
        r = w.extent().x * rnd_->Between(0.05, 0.5);
        break;
      case 4:
        r = w.extent().x * 3.0;
        break;
      default:  // a whole number of lattice steps: lattice points exactly on the sphere
        r = step_[0] * static_cast<double>(rnd_->Uniform(6));
        break;
    }
    QueryOptions qo = RandomQueryOptions();
    const std::vector<uint64_t> expected = model_->Radius(c, r, qo.kind);
    std::vector<Hit> got[2];
    for (int p = 0; p < 2; p++) {
      qo.planner = p == 0 ? Planner::kBigmin : Planner::kRanges;
      const std::string what = Describe("radius", c, glm::dvec3(r), qo);
      ASSERT_TRUE(IsOk(store_->QueryRadius(c, r, qo, &got[p]))) << what;
      ASSERT_TRUE(HitsMatch(*model_, got[p], expected)) << what;
    }
    ASSERT_EQ(Ids(got[0]), Ids(got[1])) << Describe("radius", c, glm::dvec3(r), qo);
    if (rnd_->OneIn(4)) {  // a limit stops early in z-order: a prefix of the full answer
      qo.limit = 1 + rnd_->Uniform(10);
      for (int p = 0; p < 2; p++) {
        qo.planner = p == 0 ? Planner::kBigmin : Planner::kRanges;
        std::vector<Hit> hits;
        ASSERT_TRUE(IsOk(store_->QueryRadius(c, r, qo, &hits)));
        std::vector<uint64_t> prefix = Ids(got[p]);
        prefix.resize(std::min(prefix.size(), qo.limit));
        ASSERT_EQ(Ids(hits), prefix) << Describe("radius", c, glm::dvec3(r), qo);
      }
    }
  }

  void CheckNearest() {
    glm::dvec3 c = Anchor();
    if (rnd_->OneIn(8)) c = shape().lo - shape().extent() * rnd_->Between(0.1, 2.0);
    const size_t ks[] = {1, 2, 3, 10, 50, model_->size() + 3};
    const size_t k = ks[rnd_->Uniform(6)];
    QueryOptions qo = RandomQueryOptions();
    if (rnd_->OneIn(4)) qo.limit = 1;  // ignored by nearest queries
    const std::vector<uint64_t> expected = model_->Nearest(c, k, qo.kind);
    for (int p = 0; p < 2; p++) {
      qo.planner = p == 0 ? Planner::kBigmin : Planner::kRanges;
      std::vector<Hit> hits;
      ASSERT_TRUE(IsOk(store_->QueryNearest(c, k, qo, &hits)));
      ASSERT_TRUE(HitsMatchInOrder(*model_, hits, expected))
          << Describe("nearest", c, glm::dvec3(static_cast<double>(k)), qo);
    }
  }

  void CheckQueries(const char* phase) {
    SCOPED_TRACE(std::string("phase: ") + phase + ", " + std::to_string(model_->size()) +
                 " entities, max_ranges " + std::to_string(options_.max_ranges));
    const int boxes = test::UnderSanitizer() ? 25 : 50;
    for (int i = 0; i < boxes; i++) {
      auto [min, max] = RandomBox();
      ASSERT_NO_FATAL_FAILURE(CheckBox(min, max)) << "box " << i;
    }
    for (int i = 0; i < boxes / 3; i++) ASSERT_NO_FATAL_FAILURE(CheckRadius()) << "radius " << i;
    for (int i = 0; i < boxes / 3; i++) ASSERT_NO_FATAL_FAILURE(CheckNearest()) << "nearest " << i;
  }

  void ReopenWithNextBudget() {
    options_.max_ranges = kMaxRangesCycle[reopens_++ % std::size(kMaxRangesCycle)];
    ASSERT_NO_FATAL_FAILURE(Reopen());
  }

  uint64_t seed_ = 0;
  std::unique_ptr<Random> rnd_;
  std::unique_ptr<ReferenceWorld> model_;
  size_t n_ = 0;
  uint64_t next_id_ = 1;
  std::vector<uint64_t> removed_;  // may hold ids that were put again since
  std::vector<glm::dvec3> centres_, sigmas_;
  glm::dvec3 step_{1.0}, lattice_origin_{0.0};
  uint64_t lattice_n_[3] = {1, 1, 1};
  size_t reopens_ = 0;
};

TEST_P(PropertyTest, QueriesMatchBruteForce) {
  SCOPED_TRACE(test::SeedTrace(seed_));
  ASSERT_NO_FATAL_FAILURE(Open(options_));
  ASSERT_NO_FATAL_FAILURE(CheckQueries("empty store"));

  ASSERT_NO_FATAL_FAILURE(Populate(n_));
  ASSERT_NO_FATAL_FAILURE(CheckQueries("populated"));

  ASSERT_TRUE(IsOk(store_->db()->Flush()));
  ASSERT_GE(TotalFiles(store_->db()), 2u) << FilesPerLevel(store_->db());
  std::printf("flushed: %s\n", FilesPerLevel(store_->db()).c_str());
  ASSERT_NO_FATAL_FAILURE(CheckQueries("flushed"));

  ASSERT_NO_FATAL_FAILURE(Mutate(n_ / 3));
  ASSERT_NO_FATAL_FAILURE(CheckQueries("mutated over SSTables"));

  ASSERT_TRUE(IsOk(store_->db()->CompactRange(nullptr, nullptr)));
  ASSERT_GE(TotalFiles(store_->db()), 2u) << FilesPerLevel(store_->db());
  std::printf("compacted: %s\n", FilesPerLevel(store_->db()).c_str());
  ASSERT_NO_FATAL_FAILURE(CheckQueries("compacted"));

  ASSERT_NO_FATAL_FAILURE(Mutate(n_ / 4));  // partly in the memtable and the WAL only
  ASSERT_NO_FATAL_FAILURE(ReopenWithNextBudget());
  ASSERT_NO_FATAL_FAILURE(CheckQueries("reopened"));
  ASSERT_TRUE(StoreMatchesModel(store_.get(), *model_, removed_));

  ASSERT_NO_FATAL_FAILURE(Mutate(n_ / 6));
  ASSERT_TRUE(IsOk(store_->db()->Flush()));
  ASSERT_NO_FATAL_FAILURE(Mutate(n_ / 20));
  ASSERT_NO_FATAL_FAILURE(ReopenWithNextBudget());
  ASSERT_NO_FATAL_FAILURE(CheckQueries("reopened again"));
  ASSERT_TRUE(StoreMatchesModel(store_.get(), *model_, removed_));
}

INSTANTIATE_TEST_SUITE_P(Worlds, PropertyTest, ::testing::ValuesIn(kWorldCases),
                         [](const ::testing::TestParamInfo<WorldCase>& info) {
                           return std::string(info.param.name);
                         });

// ---- Get, versions, payloads -----------------------------------------------------------------

TEST_F(SpatialStoreTest, GetReturnsPayloadKindAndVersion) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  Entity e;
  ASSERT_TRUE(store_->Get(1, &e).IsNotFound());

  const std::string binary = std::string("\0\xff", 2) + " payload" + std::string(1, '\0');
  Entity in = MakeEntity(1, {10.5f, 20.25f, 99.0f}, 7, binary);
  in.version = 77;  // ignored on input
  ASSERT_TRUE(IsOk(store_->Put(in)));
  ASSERT_TRUE(IsOk(store_->Get(1, &e)));
  EXPECT_EQ(e.id, 1u);
  EXPECT_EQ(e.position, glm::vec3(10.5f, 20.25f, 0.0f));  // z is stored as 0 in 2D
  EXPECT_EQ(e.kind, 7u);
  EXPECT_EQ(e.version, 1u);
  EXPECT_EQ(e.payload, binary);

  // Put replaces kind, payload and position; the version counts on.
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {30000.0f, 1.0f, 0.0f}, 8, "second"))));
  ASSERT_TRUE(IsOk(store_->Get(1, &e)));
  EXPECT_EQ(e.position, glm::vec3(30000.0f, 1.0f, 0.0f));
  EXPECT_EQ(e.kind, 8u);
  EXPECT_EQ(e.version, 2u);
  EXPECT_EQ(e.payload, "second");

  // Move keeps kind and payload; a move to the same place is still a version.
  ASSERT_TRUE(IsOk(store_->Move(1, {30000.5f, 2.0f, 0.0f})));
  ASSERT_TRUE(IsOk(store_->Move(1, {30000.5f, 2.0f, 0.0f})));
  ASSERT_TRUE(IsOk(store_->Get(1, &e)));
  EXPECT_EQ(e.position, glm::vec3(30000.5f, 2.0f, 0.0f));
  EXPECT_EQ(e.kind, 8u);
  EXPECT_EQ(e.version, 4u);
  EXPECT_EQ(e.payload, "second");

  // The query hit carries the same kind and version.
  std::vector<Hit> hits;
  ASSERT_TRUE(IsOk(store_->QueryBox({30000, 0, 0}, {30001, 3, 0}, {}, &hits)));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].id, 1u);
  EXPECT_EQ(hits[0].kind, 8u);
  EXPECT_EQ(hits[0].version, 4u);

  // A big payload, across a flush and a reopen.
  std::string big(100000, 'x');
  for (size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>(i);
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(2, {5.0f, 5.0f, 0.0f}, 1, big))));
  ASSERT_TRUE(IsOk(store_->db()->Flush()));
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_TRUE(IsOk(store_->Get(2, &e)));
  EXPECT_EQ(e.payload, big);
  EXPECT_EQ(e.version, 1u);

  // Remove, then put again: version 1 again, nothing left of the old entity.
  ASSERT_TRUE(IsOk(store_->Remove(1)));
  ASSERT_TRUE(store_->Get(1, &e).IsNotFound());
  hits.clear();
  ASSERT_TRUE(IsOk(store_->QueryBox({0, 0, 0}, {65536, 65536, 0}, {}, &hits)));
  ASSERT_EQ(Ids(hits), std::vector<uint64_t>{2});
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {1.0f, 1.0f, 0.0f}, 3, ""))));
  ASSERT_TRUE(IsOk(store_->Get(1, &e)));
  EXPECT_EQ(e.version, 1u);
  EXPECT_EQ(e.kind, 3u);
  EXPECT_EQ(e.payload, "");
}

// The raw keys of the store, counted by their one-byte prefix ('e', 'm', 'p', 's').
std::map<char, int> KeysByPrefix(engine::DB* db) {
  std::map<char, int> n;
  std::unique_ptr<engine::Iterator> it(db->NewIterator(engine::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) n[it->key()[0]]++;
  EXPECT_TRUE(it->status().ok()) << it->status().ToString();
  return n;
}

TEST_F(SpatialStoreTest, PayloadHasItsOwnKeyThatOnlyPutAndRemoveTouch) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {1.0f, 1.0f, 0.0f}, 1, "one"))));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(2, {2.0f, 2.0f, 0.0f}, 1, ""))));  // no payload key
  EXPECT_EQ(KeysByPrefix(store_->db()),
            (std::map<char, int>{{'e', 2}, {'m', 1}, {'p', 1}, {'s', 2}}));

  // A move writes the spatial and entity keys only, never the (here 1000-byte) payload.
  const std::string big(1000, 'b');
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {1.0f, 1.0f, 0.0f}, 1, big))));
  for (glm::vec3 to : {glm::vec3(40000.0f, 40000.0f, 0.0f), glm::vec3(40000.5f, 40000.0f, 0.0f)}) {
    const uint64_t bytes = store_->db()->GetStats().bytes_written;
    ASSERT_TRUE(IsOk(store_->Move(1, to)));
    EXPECT_LT(store_->db()->GetStats().bytes_written - bytes, 100u);
  }
  Entity moved;
  ASSERT_TRUE(IsOk(store_->Get(1, &moved)));
  EXPECT_EQ(moved.payload, big);
  EXPECT_EQ(moved.version, 4u);

  // Put without a payload deletes the old one; Remove leaves no key behind.
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {3.0f, 3.0f, 0.0f}, 4, ""))));
  EXPECT_EQ(KeysByPrefix(store_->db()), (std::map<char, int>{{'e', 2}, {'m', 1}, {'s', 2}}));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {3.0f, 3.0f, 0.0f}, 4, "again"))));
  ASSERT_TRUE(IsOk(store_->Remove(1)));
  ASSERT_TRUE(IsOk(store_->Remove(2)));
  EXPECT_EQ(KeysByPrefix(store_->db()), (std::map<char, int>{{'m', 1}}));

  // Kinds and versions use the full range of their types.
  Entity e = MakeEntity(9, {5.0f, 5.0f, 0.0f}, UINT32_MAX, "k");
  ASSERT_TRUE(IsOk(store_->Put(e)));
  Entity got;
  ASSERT_TRUE(IsOk(store_->Get(9, &got)));
  EXPECT_EQ(got.kind, UINT32_MAX);
  std::vector<Hit> hits;
  ASSERT_TRUE(IsOk(store_->QueryBox({0, 0, 0}, {10, 10, 0}, {}, &hits)));
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0].kind, UINT32_MAX);
}

TEST_F(SpatialStoreTest, QueryStatsCountWhatTheQueryDid) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  for (uint64_t id = 0; id < 2000; id++) {
    const float x = static_cast<float>((id * 7919) % 4096) * 16.0f;
    const float y = static_cast<float>((id * 104729) % 4096) * 16.0f;
    ASSERT_TRUE(IsOk(store_->Put(MakeEntity(id, {x, y, 0.0f}))));
  }
  ASSERT_TRUE(IsOk(store_->db()->Flush()));
  for (Planner planner : {Planner::kBigmin, Planner::kRanges}) {
    const SpatialStats before = store_->GetStats();
    QueryStats qs;
    QueryOptions qo;
    qo.planner = planner;
    qo.stats = &qs;
    std::vector<Hit> hits;
    ASSERT_TRUE(IsOk(store_->QueryBox({1000, 2000, 0}, {30000, 41000, 0}, qo, &hits)));
    ASSERT_TRUE(IsOk(store_->QueryRadius({50000, 9000, 0}, 7000, qo, &hits)));
    const SpatialStats after = store_->GetStats();
    EXPECT_EQ(qs.hits, hits.size());
    EXPECT_GT(qs.hits, 0u);
    EXPECT_EQ(qs.seeks, after.seeks - before.seeks);
    EXPECT_EQ(qs.entries_examined, after.entries_examined - before.entries_examined);
    EXPECT_EQ(qs.entities_filtered, after.entities_filtered - before.entities_filtered);
    EXPECT_EQ(qs.hits, after.hits - before.hits);
    EXPECT_EQ(qs.entries_examined, qs.hits + qs.entities_filtered);
  }
}

TEST_F(SpatialStoreTest, EachTableHoldsOneKeyspace) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  for (uint64_t id = 0; id < 3000; id++) {
    const float x = static_cast<float>((id * 7919) % 4096) * 16.0f;
    ASSERT_TRUE(IsOk(store_->Put(MakeEntity(id, {x, x / 2.0f, 0.0f}, 0, "payload"))));
  }
  // Entity and payload keys come in id order: their tables overlap nothing and move down
  // levels without rewrites.
  // (Compactions run in the background: give them a moment under slow sanitizers.)
  for (int i = 0; i < 1000 && store_->db()->GetStats().tables_moved == 0; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_GT(store_->db()->GetStats().tables_moved, 0u);
  for (uint64_t id = 0; id < 3000; id += 3) {
    ASSERT_TRUE(IsOk(store_->Move(id, {100.0f, 100.0f + static_cast<float>(id), 0.0f})));
  }
  ASSERT_TRUE(IsOk(store_->db()->Flush()));
  for (bool compacted : {false, true}) {
    if (compacted) {
      ASSERT_TRUE(IsOk(store_->db()->CompactRange(nullptr, nullptr)));
    }
    std::string tables;
    ASSERT_TRUE(store_->db()->GetProperty("zworld.sstables", &tables));
    std::set<char> keyspaces;
    for (const auto& [smallest, largest] : zworld::test::TableKeyRanges(tables)) {
      EXPECT_EQ(smallest[0], largest[0]) << tables;
      keyspaces.insert(smallest[0]);
    }
    EXPECT_EQ(keyspaces, (std::set<char>{'e', 'm', 'p', 's'})) << tables;
  }
}

TEST_F(SpatialStoreTest, StoreOfAnotherLayoutVersionIsRefused) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  std::string world;
  ASSERT_TRUE(IsOk(store_->db()->Get({}, "mworld", &world)));
  world[0] = 1;  // the layout before payload keys
  ASSERT_TRUE(IsOk(store_->db()->Put({}, "mworld", world)));
  ASSERT_TRUE(IsOk(store_->Close()));
  store_.reset();
  std::unique_ptr<SpatialStore> store;
  Status s = SpatialStore::Open(MemOptions(), path_, &store);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.ToString().find("layout version 1"), std::string::npos) << s.ToString();
  EXPECT_EQ(store, nullptr);
}

TEST_F(SpatialStoreTest, ThreeDimensionalGetKeepsZ) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions(3, 10)));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(5, {1.0f, 2.0f, 4095.5f}, 2, "p"))));
  Entity e;
  ASSERT_TRUE(IsOk(store_->Get(5, &e)));
  EXPECT_EQ(e.position, glm::vec3(1.0f, 2.0f, 4095.5f));
  std::vector<Hit> hits;
  ASSERT_TRUE(IsOk(store_->QueryBox({0, 0, 4095}, {2, 3, 4096}, {}, &hits)));
  ASSERT_EQ(Ids(hits), std::vector<uint64_t>{5});
  hits.clear();
  ASSERT_TRUE(IsOk(store_->QueryBox({0, 0, 0}, {2, 3, 4095}, {}, &hits)));
  EXPECT_TRUE(hits.empty());
}

TEST_F(SpatialStoreTest, QueriesAppendToHits) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(3, {100.0f, 100.0f, 0.0f}))));
  std::vector<Hit> hits(1);
  hits[0].id = 999;
  ASSERT_TRUE(IsOk(store_->QueryBox({0, 0, 0}, {200, 200, 0}, {}, &hits)));
  ASSERT_TRUE(IsOk(store_->QueryRadius({100, 100, 0}, 1.0, {}, &hits)));
  ASSERT_TRUE(IsOk(store_->QueryNearest({0, 0, 0}, 5, {}, &hits)));
  EXPECT_EQ(Ids(hits), (std::vector<uint64_t>{999, 3, 3, 3}));
}

// ---- NotFound, InvalidArgument, batches ------------------------------------------------------

// Every live key of the DB, to prove that a refused write left no trace.
std::map<std::string, std::string> DumpDB(engine::DB* db) {
  std::map<std::string, std::string> out;
  std::unique_ptr<engine::Iterator> it = db->NewIterator(engine::ReadOptions());
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    out.emplace(it->key().ToString(), it->value().ToString());
  }
  EXPECT_TRUE(IsOk(it->status()));
  return out;
}

TEST_F(SpatialStoreTest, MoveOrRemoveOfMissingIdIsNotFoundAndWritesNothing) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {1.0f, 1.0f, 0.0f}))));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(2, {2.0f, 2.0f, 0.0f}))));
  ASSERT_TRUE(IsOk(store_->Remove(2)));
  const auto before = DumpDB(store_->db());
  const uint64_t writes = Writes();

  EXPECT_TRUE(store_->Move(3, {5.0f, 5.0f, 0.0f}).IsNotFound());
  EXPECT_TRUE(store_->Remove(3).IsNotFound());
  EXPECT_TRUE(store_->Move(2, {5.0f, 5.0f, 0.0f}).IsNotFound());  // removed
  EXPECT_TRUE(store_->Remove(2).IsNotFound());
  EXPECT_TRUE(store_->Remove(0).IsNotFound());
  EXPECT_TRUE(store_->Remove(UINT64_MAX).IsNotFound());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(DumpDB(store_->db()), before);

  // Also after the data went to SSTables.
  ASSERT_TRUE(IsOk(store_->db()->CompactRange(nullptr, nullptr)));
  EXPECT_TRUE(store_->Move(2, {5.0f, 5.0f, 0.0f}).IsNotFound());
  EXPECT_TRUE(store_->Remove(2).IsNotFound());
  EXPECT_EQ(Writes(), writes);
  EXPECT_EQ(DumpDB(store_->db()), before);
}

TEST_F(SpatialStoreTest, BadPositionsAreInvalidArgument) {
  for (int dims : {2, 3}) {
    SCOPED_TRACE(std::to_string(dims) + "D");
    path_ = test::UniqueMemPath();
    SpatialOptions o = MemOptions(dims, 10);
    o.world_min = {-100.0, 50.0, -8.0};
    o.world_max = {100.0, 60.0, 8.0};
    ASSERT_NO_FATAL_FAILURE(Open(o));
    const glm::vec3 good{0.0f, 55.0f, 0.0f};
    ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, good, 4, "keep"))));
    const uint64_t writes = Writes();

    std::vector<glm::vec3> bad;
    for (int a = 0; a < dims; a++) {
      const float lo = static_cast<float>(o.world_min[a]), hi = static_cast<float>(o.world_max[a]);
      for (float v : {kNaNF, kInfF, -kInfF, hi, std::nextafter(hi, kInfF), hi * 4.0f,
                      std::nextafter(lo, -kInfF), lo - 1000.0f}) {
        glm::vec3 p = good;
        p[a] = v;
        bad.push_back(p);
      }
    }
    for (const glm::vec3& p : bad) {
      SCOPED_TRACE(ToString(p));
      EXPECT_TRUE(store_->Put(MakeEntity(2, p)).IsInvalidArgument());
      EXPECT_TRUE(store_->Put(MakeEntity(1, p)).IsInvalidArgument());
      EXPECT_TRUE(store_->Move(1, p).IsInvalidArgument());
      SpatialBatch b;
      b.Put(MakeEntity(3, good));
      b.Move(1, p);
      EXPECT_TRUE(store_->Write(b).IsInvalidArgument());
    }
    EXPECT_EQ(Writes(), writes);
    Entity e;
    EXPECT_TRUE(store_->Get(2, &e).IsNotFound());
    EXPECT_TRUE(store_->Get(3, &e).IsNotFound());
    ASSERT_TRUE(IsOk(store_->Get(1, &e)));
    EXPECT_EQ(e.position, good);
    EXPECT_EQ(e.version, 1u);

    // The edges: world_min is in, the largest float below world_max is in.
    glm::vec3 lo_corner{-100.0f, 50.0f, -8.0f};
    glm::vec3 hi_corner{std::nextafter(100.0f, 0.0f), std::nextafter(60.0f, 0.0f),
                        std::nextafter(8.0f, 0.0f)};
    ASSERT_TRUE(IsOk(store_->Put(MakeEntity(10, lo_corner))));
    ASSERT_TRUE(IsOk(store_->Put(MakeEntity(11, hi_corner))));
    std::vector<Hit> hits;
    ASSERT_TRUE(IsOk(store_->QueryBox(o.world_min, o.world_max, {}, &hits)));
    std::vector<uint64_t> ids = Ids(hits);
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<uint64_t>{1, 10, 11}));
    store_.reset();
  }
}

TEST_F(SpatialStoreTest, ZIsIgnoredIn2D) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {7.0f, 8.0f, kNaNF}))));
  ASSERT_TRUE(IsOk(store_->Move(1, {7.0f, 9.0f, -1e30f})));
  Entity e;
  ASSERT_TRUE(IsOk(store_->Get(1, &e)));
  EXPECT_EQ(e.position, glm::vec3(7.0f, 9.0f, 0.0f));
  std::vector<Hit> hits;
  ASSERT_TRUE(IsOk(store_->QueryBox({0, 0, 5}, {10, 10, 6}, {}, &hits)));
  EXPECT_EQ(Ids(hits), std::vector<uint64_t>{1});
  hits.clear();
  ASSERT_TRUE(IsOk(store_->QueryRadius({7, 9, 1000}, 0.0, {}, &hits)));
  EXPECT_EQ(Ids(hits), std::vector<uint64_t>{1});
}

TEST_F(SpatialStoreTest, BatchIsAtomic) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions()));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {1.0f, 1.0f, 0.0f}, 1, "one"))));
  const auto before = DumpDB(store_->db());
  const uint64_t writes = Writes();

  struct Case {
    const char* name;
    SpatialBatch batch;
    engine::Status::Code code;
    const char* names;  // the failing operation, as the message gives it
  };
  std::vector<Case> cases;
  {
    Case c{"move of a missing id last", {}, engine::Status::Code::kNotFound, "operation 2"};
    c.batch.Put(MakeEntity(2, {2.0f, 2.0f, 0.0f}));
    c.batch.Move(1, {3.0f, 3.0f, 0.0f});
    c.batch.Move(9, {3.0f, 3.0f, 0.0f});
    cases.push_back(std::move(c));
  }
  {
    Case c{"remove twice", {}, engine::Status::Code::kNotFound, "operation 1"};
    c.batch.Remove(1);
    c.batch.Remove(1);
    cases.push_back(std::move(c));
  }
  {
    Case c{"move after remove", {}, engine::Status::Code::kNotFound, "operation 2"};
    c.batch.Put(MakeEntity(4, {4.0f, 4.0f, 0.0f}));
    c.batch.Remove(4);
    c.batch.Move(4, {5.0f, 5.0f, 0.0f});
    cases.push_back(std::move(c));
  }
  {
    Case c{"bad position first", {}, engine::Status::Code::kInvalidArgument, "operation 0"};
    c.batch.Put(MakeEntity(5, {kNaNF, 1.0f, 0.0f}));
    c.batch.Put(MakeEntity(6, {1.0f, 1.0f, 0.0f}));
    cases.push_back(std::move(c));
  }
  {
    Case c{"bad move in the middle", {}, engine::Status::Code::kInvalidArgument, "operation 1"};
    c.batch.Move(1, {10.0f, 10.0f, 0.0f});
    c.batch.Move(1, {70000.0f, 10.0f, 0.0f});
    c.batch.Remove(1);
    cases.push_back(std::move(c));
  }
  for (Case& c : cases) {
    SCOPED_TRACE(c.name);
    Status s = store_->Write(c.batch);
    EXPECT_EQ(s.code(), c.code) << s.ToString();
    EXPECT_NE(s.message().find(c.names), std::string::npos) << s.ToString();
    EXPECT_EQ(Writes(), writes);
    EXPECT_EQ(DumpDB(store_->db()), before);
  }

  // Operations of one batch see each other, in order.
  SpatialBatch b;
  b.Put(MakeEntity(7, {7.0f, 7.0f, 0.0f}, 2, "seven"));
  b.Move(7, {8.0f, 8.0f, 0.0f});
  b.Move(7, {9000.0f, 9.0f, 0.0f});  // another cell
  b.Move(1, {20000.0f, 20000.0f, 0.0f});
  b.Move(1, {1.0f, 1.0f, 0.0f});  // back to the first cell
  b.Remove(1);
  b.Put(MakeEntity(1, {2.0f, 2.0f, 0.0f}, 5, "again"));
  b.Put(MakeEntity(8, {3.0f, 3.0f, 0.0f}));
  b.Remove(8);
  EXPECT_EQ(b.size(), 9u);
  ASSERT_TRUE(IsOk(store_->Write(b)));
  EXPECT_EQ(Writes(), writes + 1);  // one engine write
  Entity e;
  ASSERT_TRUE(IsOk(store_->Get(7, &e)));
  EXPECT_EQ(e.position, glm::vec3(9000.0f, 9.0f, 0.0f));
  EXPECT_EQ(e.version, 3u);
  EXPECT_EQ(e.payload, "seven");
  ASSERT_TRUE(IsOk(store_->Get(1, &e)));
  EXPECT_EQ(e.position, glm::vec3(2.0f, 2.0f, 0.0f));
  EXPECT_EQ(e.version, 1u);
  EXPECT_EQ(e.kind, 5u);
  EXPECT_TRUE(store_->Get(8, &e).IsNotFound());
  std::vector<Hit> hits;
  ASSERT_TRUE(IsOk(store_->QueryBox({0, 0, 0}, {65536, 65536, 0}, {}, &hits)));
  std::vector<uint64_t> ids = Ids(hits);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<uint64_t>{1, 7}));  // no stale spatial key of any step

  SpatialBatch empty;
  EXPECT_TRUE(IsOk(store_->Write(empty)));
}

TEST_F(SpatialStoreTest, BadQueriesAreInvalidArgument) {
  for (int dims : {2, 3}) {
    SCOPED_TRACE(std::to_string(dims) + "D");
    path_ = test::UniqueMemPath();
    ASSERT_NO_FATAL_FAILURE(Open(MemOptions(dims, 8)));
    ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {100.0f, 100.0f, 100.0f}))));
    std::vector<Hit> hits;
    const glm::dvec3 lo{0, 0, 0}, hi{200, 200, 200};
    for (int a = 0; a < dims; a++) {
      glm::dvec3 min = lo, max = hi;
      std::swap(min[a], max[a]);
      EXPECT_TRUE(store_->QueryBox(min, max, {}, &hits).IsInvalidArgument()) << a;
      min = lo;
      min[a] = kNaN;
      EXPECT_TRUE(store_->QueryBox(min, hi, {}, &hits).IsInvalidArgument()) << a;
      max = hi;
      max[a] = kNaN;
      EXPECT_TRUE(store_->QueryBox(lo, max, {}, &hits).IsInvalidArgument()) << a;
      glm::dvec3 c{100, 100, 100};
      for (double v : {kNaN, kInf, -kInf}) {
        c[a] = v;
        EXPECT_TRUE(store_->QueryRadius(c, 1.0, {}, &hits).IsInvalidArgument()) << a;
        EXPECT_TRUE(store_->QueryNearest(c, 1, {}, &hits).IsInvalidArgument()) << a;
      }
    }
    for (double r : {-1.0, -1e-300, kNaN, kInf}) {
      EXPECT_TRUE(store_->QueryRadius({100, 100, 100}, r, {}, &hits).IsInvalidArgument()) << r;
    }
    EXPECT_TRUE(hits.empty());

    // Valid corner cases: empty boxes, infinite bounds, k = 0, radius 0.
    EXPECT_TRUE(IsOk(store_->QueryBox({100, 100, 100}, {100, 100, 100}, {}, &hits)));
    EXPECT_TRUE(IsOk(store_->QueryBox({100, 0, 0}, {100, 200, 200}, {}, &hits)));
    EXPECT_TRUE(IsOk(store_->QueryNearest({1, 1, 1}, 0, {}, &hits)));
    EXPECT_TRUE(hits.empty());
    EXPECT_TRUE(IsOk(store_->QueryBox({-kInf, -kInf, -kInf}, {kInf, kInf, kInf}, {}, &hits)));
    EXPECT_EQ(Ids(hits), std::vector<uint64_t>{1});
    hits.clear();
    EXPECT_TRUE(IsOk(store_->QueryBox({kInf, kInf, kInf}, {kInf, kInf, kInf}, {}, &hits)));
    EXPECT_TRUE(IsOk(store_->QueryBox({-kInf, -kInf, -kInf}, {-kInf, -kInf, -kInf}, {}, &hits)));
    EXPECT_TRUE(hits.empty());
    EXPECT_TRUE(IsOk(store_->QueryRadius({100, 100, 100}, 0.0, {}, &hits)));
    EXPECT_EQ(Ids(hits), std::vector<uint64_t>{1});
    hits.clear();
    EXPECT_TRUE(IsOk(store_->QueryNearest({1e300, -1e300, 1e300}, 3, {}, &hits)));
    EXPECT_EQ(Ids(hits), std::vector<uint64_t>{1});
    store_.reset();
  }
}

// ---- options and the world record --------------------------------------------------------------

TEST_F(SpatialStoreTest, BadOptionsAreInvalidArgument) {
  std::vector<std::pair<const char*, SpatialOptions>> bad;
  auto add = [&](const char* name, auto change) {
    SpatialOptions o = MemOptions();
    change(&o);
    bad.emplace_back(name, o);
  };
  add("dimensions 1", [](SpatialOptions* o) { o->dimensions = 1; });
  add("dimensions 4", [](SpatialOptions* o) { o->dimensions = 4; });
  add("cell_bits 0", [](SpatialOptions* o) { o->cell_bits = 0; });
  add("cell_bits 33 in 2D", [](SpatialOptions* o) { o->cell_bits = 33; });
  add("cell_bits 22 in 3D", [](SpatialOptions* o) {
    o->dimensions = 3;
    o->cell_bits = 22;
  });
  add("min == max", [](SpatialOptions* o) { o->world_max.x = o->world_min.x; });
  add("min > max", [](SpatialOptions* o) { o->world_min.y = 1e9; });
  add("NaN bound", [](SpatialOptions* o) { o->world_min.x = kNaN; });
  add("infinite bound", [](SpatialOptions* o) { o->world_max.y = kInf; });
  add("3D z min == max", [](SpatialOptions* o) {
    o->dimensions = 3;
    o->world_max.z = 0.0;
  });
  add("max_ranges 0", [](SpatialOptions* o) { o->max_ranges = 0; });
  for (auto& [name, o] : bad) {
    std::unique_ptr<SpatialStore> store;
    EXPECT_TRUE(SpatialStore::Open(o, test::UniqueMemPath(), &store).IsInvalidArgument()) << name;
    EXPECT_EQ(store, nullptr) << name;
  }
  // The largest grids are accepted.
  for (int dims : {2, 3}) {
    SpatialOptions o = MemOptions(dims, dims == 2 ? 32 : 21);
    std::unique_ptr<SpatialStore> store;
    EXPECT_TRUE(IsOk(SpatialStore::Open(o, test::UniqueMemPath(), &store))) << dims;
  }
}

TEST_F(SpatialStoreTest, ReopenWithOtherWorldIsInvalidArgument) {
  SpatialOptions o = MemOptions(2, 12);
  o.world_min = {-500.0, -500.0, 0.0};
  o.world_max = {1500.0, 2500.0, 10.0};
  ASSERT_NO_FATAL_FAILURE(Open(o));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {-499.0f, 2499.0f, 0.0f}, 3, "x"))));
  ASSERT_TRUE(IsOk(store_->Close()));
  store_.reset();

  std::vector<std::pair<const char*, SpatialOptions>> other;
  auto add = [&](const char* name, auto change) {
    SpatialOptions x = o;
    change(&x);
    other.emplace_back(name, x);
  };
  add("dimensions", [](SpatialOptions* x) { x->dimensions = 3; });
  add("cell_bits", [](SpatialOptions* x) { x->cell_bits = 13; });
  add("world_min.x", [](SpatialOptions* x) { x->world_min.x = -501.0; });
  add("world_max.y", [](SpatialOptions* x) { x->world_max.y = 2500.5; });
  add("default world", [](SpatialOptions* x) {
    x->world_min = SpatialOptions().world_min;
    x->world_max = SpatialOptions().world_max;
  });
  for (auto& [name, x] : other) {
    std::unique_ptr<SpatialStore> store;
    Status s = SpatialStore::Open(x, path_, &store);
    EXPECT_TRUE(s.IsInvalidArgument()) << name << ": " << s.ToString();
    EXPECT_EQ(store, nullptr) << name;
  }

  // Planner and range budget are not part of the world; the data is intact.
  o.planner = Planner::kRanges;
  o.max_ranges = 3;
  ASSERT_NO_FATAL_FAILURE(Open(o));
  Entity e;
  ASSERT_TRUE(IsOk(store_->Get(1, &e)));
  EXPECT_EQ(e.position, glm::vec3(-499.0f, 2499.0f, 0.0f));
  EXPECT_EQ(e.payload, "x");
  std::vector<Hit> hits;
  ASSERT_TRUE(IsOk(store_->QueryBox({-500, 2000, 0}, {0, 2500, 0}, {}, &hits)));
  EXPECT_EQ(Ids(hits), std::vector<uint64_t>{1});
}

// ---- order, limits, snapshots
// --------------------------------------------------------------------

// In the default worlds the grid is a power of two, so a test can compute cells exactly and
// check that results come in z-order (code, then id) and that a limit takes a prefix.
TEST_F(SpatialStoreTest, ResultsComeInZOrderAndLimitTakesAPrefix) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  Random rnd(seed);
  for (int dims : {2, 3}) {
    SCOPED_TRACE(std::to_string(dims) + "D");
    path_ = test::UniqueMemPath();
    ASSERT_NO_FATAL_FAILURE(Open(MemOptions(dims, 8)));
    ReferenceWorld model(options_);
    const WorldShape& w = model.shape();
    SpatialBatch b;
    for (uint64_t id = 1; id <= 1500; id++) {
      // Some entities share a cell or a position so ids must break the ties.
      Entity e = MakeEntity(id * 7919 % 100003, w.RandomPosition(&rnd));
      if (id % 5 == 0) e.position = model.entities().begin()->second.position;
      b.Put(e);
      model.Put(e);
      if (b.size() == 100) {
        ASSERT_TRUE(IsOk(store_->Write(b)));
        b.Clear();
      }
    }
    ASSERT_TRUE(IsOk(store_->Write(b)));
    ASSERT_TRUE(IsOk(store_->db()->Flush()));

    auto code_of = [&](const Hit& h) {
      uint32_t c[3] = {0, 0, 0};
      for (int a = 0; a < dims; a++)
        c[a] = static_cast<uint32_t>(std::floor(h.position[a] / w.cell[a]));
      return dims == 2 ? Encode2D(c[0], c[1]) : Encode3D(c[0], c[1], c[2]);
    };
    for (int q = 0; q < 40; q++) {
      glm::dvec3 min{0.0}, max{0.0};
      for (int a = 0; a < dims; a++) {
        min[a] = rnd.Between(w.lo[a], w.hi[a]);
        max[a] = q == 0 ? w.hi[a] : min[a] + rnd.Between(0.0, 0.6) * w.extent()[a];
        if (q == 0) min[a] = w.lo[a];
      }
      for (Planner p : {Planner::kBigmin, Planner::kRanges}) {
        QueryOptions qo;
        qo.planner = p;
        std::vector<Hit> all;
        ASSERT_TRUE(IsOk(store_->QueryBox(min, max, qo, &all)));
        ASSERT_TRUE(HitsMatch(model, all, model.Box(min, max, std::nullopt)));
        for (size_t i = 1; i < all.size(); i++) {
          const auto prev = std::make_pair(code_of(all[i - 1]), all[i - 1].id);
          const auto cur = std::make_pair(code_of(all[i]), all[i].id);
          ASSERT_LT(prev, cur) << "hit " << i << " of box " << ToString(min) << " "
                               << ToString(max);
        }
        for (size_t limit :
             {size_t{1}, size_t{2}, all.size() / 2 + 1, all.size(), all.size() + 1}) {
          if (limit == 0) continue;
          qo.limit = limit;
          std::vector<Hit> some;
          ASSERT_TRUE(IsOk(store_->QueryBox(min, max, qo, &some)));
          std::vector<uint64_t> prefix = Ids(all);
          prefix.resize(std::min(prefix.size(), limit));
          ASSERT_EQ(Ids(some), prefix) << "limit " << limit;
          qo.limit = 0;
        }
      }
    }
    store_.reset();
  }
}

TEST_F(SpatialStoreTest, NearestTiesAreBrokenById) {
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions(2, 6)));  // cells of 1024 units
  const glm::vec3 c{30000.0f, 30000.0f, 0.0f};
  // Twelve entities at exactly distance 80 (a 3-4-5 ring: (+-80, 0), (0, +-80), (+-48, +-64),
  // (+-64, +-48)), inserted in an order unrelated to their ids.
  std::vector<glm::vec2> offsets = {{80, 0},  {-80, 0},  {0, 80},   {0, -80},
                                    {48, 64}, {-48, 64}, {48, -64}, {-48, -64},
                                    {64, 48}, {-64, 48}, {64, -48}, {-64, -48}};
  uint64_t id = 1000;
  std::vector<uint64_t> ring;
  for (const glm::vec2& d : offsets) {
    id -= 37;
    ASSERT_TRUE(IsOk(store_->Put(MakeEntity(id, {c.x + d.x, c.y + d.y, 0.0f}))));
    ring.push_back(id);
  }
  // Three entities at the centre itself, and one just outside the ring.
  for (uint64_t i : {5000u, 4000u, 6000u}) ASSERT_TRUE(IsOk(store_->Put(MakeEntity(i, c))));
  ASSERT_TRUE(IsOk(store_->Put(MakeEntity(1, {c.x + 80.01f, c.y, 0.0f}))));
  std::sort(ring.begin(), ring.end());

  for (Planner p : {Planner::kBigmin, Planner::kRanges}) {
    QueryOptions qo;
    qo.planner = p;
    for (size_t k = 1; k <= 17; k++) {
      std::vector<uint64_t> want = {4000, 5000, 6000};
      want.insert(want.end(), ring.begin(), ring.end());
      want.push_back(1);
      want.resize(std::min(k, want.size()));
      std::vector<Hit> hits;
      ASSERT_TRUE(IsOk(store_->QueryNearest(c, k, qo, &hits)));
      EXPECT_EQ(Ids(hits), want) << "k " << k << " planner " << PlannerName(p);
    }
    // The radius includes the sphere's surface.
    std::vector<Hit> hits;
    ASSERT_TRUE(IsOk(store_->QueryRadius(c, 80.0, qo, &hits)));
    EXPECT_EQ(hits.size(), 15u);
  }
}

TEST_F(SpatialStoreTest, SnapshotsSeeOneState) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  Random rnd(seed);
  ASSERT_NO_FATAL_FAILURE(Open(MemOptions(2, 10)));
  ReferenceWorld model(options_);
  for (uint64_t id = 1; id <= 800; id++) {
    Entity e = MakeEntity(id, model.shape().RandomPosition(&rnd), id % 3, "p" + std::to_string(id));
    ASSERT_TRUE(IsOk(store_->Put(e)));
    model.Put(e);
  }
  const ReferenceWorld then = model;
  const engine::Snapshot* snap = store_->GetSnapshot();
  for (int i = 0; i < 1500; i++) {
    const uint64_t id = 1 + rnd.Uniform(900);
    if (rnd.OneIn(10)) {
      if (model.Remove(id)) {
        ASSERT_TRUE(IsOk(store_->Remove(id)));
      }
    } else if (model.Find(id) != nullptr) {
      const glm::vec3 p = model.shape().RandomPosition(&rnd);
      ASSERT_TRUE(IsOk(store_->Move(id, p)));
      model.Move(id, p);
    } else {
      Entity e = MakeEntity(id, model.shape().RandomPosition(&rnd), 9, "new");
      ASSERT_TRUE(IsOk(store_->Put(e)));
      model.Put(e);
    }
    if (i == 700) {
      ASSERT_TRUE(IsOk(store_->db()->Flush()));
    }
  }
  for (int round = 0; round < 2; round++) {
    SCOPED_TRACE(round == 0 ? "memtable and L0" : "compacted");
    for (int q = 0; q < 20; q++) {
      glm::dvec3 min{rnd.Between(0, 60000), rnd.Between(0, 60000), 0};
      glm::dvec3 max = min + glm::dvec3{rnd.Between(0, 20000), rnd.Between(0, 20000), 0};
      QueryOptions at;
      at.snapshot = snap;
      at.planner = q % 2 ? Planner::kBigmin : Planner::kRanges;
      std::vector<Hit> old_hits, new_hits;
      ASSERT_TRUE(IsOk(store_->QueryBox(min, max, at, &old_hits)));
      ASSERT_TRUE(HitsMatch(then, old_hits, then.Box(min, max, std::nullopt)));
      ASSERT_TRUE(IsOk(store_->QueryBox(min, max, {}, &new_hits)));
      ASSERT_TRUE(HitsMatch(model, new_hits, model.Box(min, max, std::nullopt)));
      old_hits.clear();
      ASSERT_TRUE(IsOk(store_->QueryRadius(min, 5000.0, at, &old_hits)));
      ASSERT_TRUE(HitsMatch(then, old_hits, then.Radius(min, 5000.0, std::nullopt)));
      old_hits.clear();
      ASSERT_TRUE(IsOk(store_->QueryNearest(min, 7, at, &old_hits)));
      ASSERT_TRUE(HitsMatchInOrder(then, old_hits, then.Nearest(min, 7, std::nullopt)));
    }
    for (uint64_t id = 1; id <= 900; id++) {
      Entity e;
      Status s = store_->Get(id, &e, snap);
      const Entity* want = then.Find(id);
      if (want == nullptr) {
        ASSERT_TRUE(s.IsNotFound()) << id;
        continue;
      }
      ASSERT_TRUE(IsOk(s)) << id;
      ASSERT_EQ(e.position, want->position) << id;
      ASSERT_EQ(e.version, want->version) << id;
      ASSERT_EQ(e.payload, want->payload) << id;
    }
    ASSERT_TRUE(IsOk(store_->db()->CompactRange(nullptr, nullptr)));
  }
  store_->ReleaseSnapshot(snap);
  ASSERT_TRUE(StoreMatchesModel(store_.get(), model));
}

// ---- block skipping --------------------------------------------------------------------------

// In a big compacted world, a small box reads a few blocks and skips the others of its z-range
// by their per-block bounding boxes (BlockBounds).
TEST_F(SpatialStoreTest, BlockBoundsSkipBlocks) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  Random rnd(seed);
  SpatialOptions o = MemOptions(2, 16);
  o.max_ranges = 1;  // one range per box: only the block filter avoids reading its z-span
  ASSERT_NO_FATAL_FAILURE(Open(o));
  ReferenceWorld model(options_);
  const size_t n = test::UnderSanitizer() ? 10000 : 20000;
  SpatialBatch b;
  for (uint64_t id = 1; id <= n; id++) {
    Entity e = MakeEntity(id, model.shape().RandomPosition(&rnd), id % 2);
    b.Put(e);
    model.Put(e);
    if (b.size() == 200) {
      ASSERT_TRUE(IsOk(store_->Write(b)));
      b.Clear();
    }
  }
  ASSERT_TRUE(IsOk(store_->Write(b)));

  // Small boxes astride the world's centre lines: their z-range spans a large part of the
  // world, of which they touch a few blocks only. Returns the blocks skipped.
  auto run = [&](Planner p, const char* state) -> uint64_t {
    const SpatialStats before = store_->GetStats();
    QueryOptions qo;
    qo.planner = p;
    size_t found = 0;
    const int queries = 50;
    for (int q = 0; q < queries; q++) {
      glm::dvec3 min{rnd.Between(0, 65000), rnd.Between(0, 65000), 0};
      if (q % 2 == 0) {
        min.x = 32768 - rnd.Between(0, 500);
      } else {
        min.y = 32768 - rnd.Between(0, 500);
      }
      const glm::dvec3 max = min + glm::dvec3(512, 512, 0);
      std::vector<Hit> hits;
      EXPECT_TRUE(IsOk(store_->QueryBox(min, max, qo, &hits)));
      EXPECT_TRUE(HitsMatch(model, hits, model.Box(min, max, std::nullopt)))
          << state << " " << PlannerName(p) << " " << ToString(min);
      found += hits.size();
    }
    const SpatialStats after = store_->GetStats();
    const uint64_t read = after.blocks_read - before.blocks_read;
    const uint64_t skipped = after.blocks_skipped - before.blocks_skipped;
    std::printf(
        "%s, %s: %d queries, %zu hits, %llu blocks read, %llu skipped, %llu seeks, "
        "%llu examined\n",
        state, PlannerName(p).c_str(), queries, found, static_cast<unsigned long long>(read),
        static_cast<unsigned long long>(skipped),
        static_cast<unsigned long long>(after.seeks - before.seeks),
        static_cast<unsigned long long>(after.entries_examined - before.entries_examined));
    EXPECT_EQ(after.queries - before.queries, static_cast<uint64_t>(queries));
    EXPECT_EQ(after.hits - before.hits, found);
    EXPECT_GT(read, 0u);
    return skipped;
  };

  // Flushed: a memtable, L0 files and several levels overlap, so fewer blocks may be skipped
  // (never one that could hide a newer version), but the answers stay exact.
  ASSERT_TRUE(IsOk(store_->db()->Flush()));
  run(Planner::kRanges, "flushed");
  run(Planner::kBigmin, "flushed");

  // Compacted: one sorted run. A single range per box crosses hundreds of blocks; their
  // bounding boxes rule out most of them. (BIGMIN seeks over the same blocks instead.)
  ASSERT_TRUE(IsOk(store_->db()->CompactRange(nullptr, nullptr)));
  const SpatialStats before = store_->GetStats();
  const uint64_t skipped = run(Planner::kRanges, "compacted");
  const uint64_t read = store_->GetStats().blocks_read - before.blocks_read;
  EXPECT_GT(skipped, 0u);
  EXPECT_GT(skipped, read) << "most blocks of a box's z-range cannot meet the box";
  run(Planner::kBigmin, "compacted");
}

// The collector itself: spatial keys (deletions included) widen a block's box, other keys do
// not; the table summary is the union of its blocks.
TEST(BlockBoundsTest, CollectorBoxesSpatialKeysOfEachBlock) {
  for (int dims : {2, 3}) {
    SCOPED_TRACE(std::to_string(dims) + "D");
    auto code = [dims](uint32_t x, uint32_t y, uint32_t z) {
      return dims == 2 ? Encode2D(x, y) : Encode3D(x, y, z);
    };
    const uint32_t top = dims == 2 ? UINT32_MAX : kMaxCoord3D;
    BlockBoundsFactory factory(dims);
    std::unique_ptr<engine::TableCollector> c = factory.NewCollector();

    c->Add(keys::EntityKey(5).slice(), "entity value", false);
    c->Add(keys::SpatialKey(code(10, 20, 1), 1).slice(), "v", false);
    c->Add(keys::SpatialKey(code(3, 40, 9), 2).slice(), "", true);  // a deletion counts
    c->Add(keys::SpatialKey(code(7, 7, 5), 3).slice(), "v", false);
    std::string summary;
    c->FinishBlock(&summary);
    CellBounds b;
    ASSERT_TRUE(DecodeBlockBounds(summary, &b));
    EXPECT_EQ(b.dims, dims);
    EXPECT_EQ(b.min[0], 3u);
    EXPECT_EQ(b.min[1], 7u);
    EXPECT_EQ(b.max[0], 10u);
    EXPECT_EQ(b.max[1], 40u);
    if (dims == 3) {
      EXPECT_EQ(b.min[2], 1u);
      EXPECT_EQ(b.max[2], 9u);
    }
    CellBounds q;
    q.dims = dims;
    q.min = {10, 40, 9};  // touches the corner
    q.max = {50, 50, 9};
    EXPECT_TRUE(b.Intersects(q));
    q.min = {11, 0, 0};  // just right of it
    EXPECT_FALSE(b.Intersects(q));
    q.min = {0, 41, 0};  // just above it
    EXPECT_FALSE(b.Intersects(q));

    // A block without spatial keys meets no box.
    c->Add(keys::EntityKey(9).slice(), "x", false);
    c->Add(engine::Slice("mworld"), "x", false);
    summary.clear();
    c->FinishBlock(&summary);
    ASSERT_TRUE(DecodeBlockBounds(summary, &b));
    EXPECT_EQ(b.dims, 0);
    q.min = {0, 0, 0};
    q.max = {top, top, top};
    EXPECT_FALSE(b.Intersects(q));

    // The far corner of the grid; the table summary spans every block.
    c->Add(keys::SpatialKey(code(top, top, top), 4).slice(), "v", false);
    summary.clear();
    c->FinishBlock(&summary);
    ASSERT_TRUE(DecodeBlockBounds(summary, &b));
    EXPECT_EQ(b.min[0], top);
    EXPECT_EQ(b.max[1], top);
    summary.clear();
    c->FinishTable(&summary);
    ASSERT_TRUE(DecodeBlockBounds(summary, &b));
    EXPECT_EQ(b.min[0], 3u);
    EXPECT_EQ(b.min[1], 7u);
    EXPECT_EQ(b.max[0], top);
    EXPECT_EQ(b.max[1], top);
  }
  // Not a summary of ours: the block must be read.
  CellBounds b;
  EXPECT_FALSE(DecodeBlockBounds(engine::Slice(), &b));
  EXPECT_FALSE(DecodeBlockBounds(engine::Slice("\x02\x00", 2), &b));          // version 2
  EXPECT_FALSE(DecodeBlockBounds(engine::Slice("\x01\x01", 2), &b));          // 1 dimension
  EXPECT_FALSE(DecodeBlockBounds(engine::Slice("\x01\x02\x00\x00", 4), &b));  // short
}

// ---- a real folder
// -------------------------------------------------------------------------------

TEST(SpatialStoreDiskTest, RoundTripOnRealDisk) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  Random rnd(seed);
  test::TempDir dir;
  SpatialOptions o;
  o.db.write_buffer_size = 32u << 10;
  o.dimensions = 3;
  o.cell_bits = 11;
  o.world_min = {-1000.0, -1000.0, -50.0};
  o.world_max = {1000.0, 1000.0, 50.0};
  const std::string path = dir.Sub("store");
  ReferenceWorld model(o);
  {
    std::unique_ptr<SpatialStore> store;
    ASSERT_TRUE(IsOk(SpatialStore::Open(o, path, &store)));
    for (uint64_t id = 1; id <= 2000; id++) {
      const glm::vec3 p = model.shape().RandomPosition(&rnd);
      Entity e = MakeEntity(id, p, id % 4, rnd.Bytes(id % 50));
      ASSERT_TRUE(IsOk(store->Put(e)));
      model.Put(e);
    }
    for (uint64_t id = 1; id <= 2000; id += 3) {
      const glm::vec3 p = model.shape().RandomPosition(&rnd);
      ASSERT_TRUE(IsOk(store->Move(id, p)));
      model.Move(id, p);
    }
    for (uint64_t id = 2; id <= 2000; id += 10) {
      ASSERT_TRUE(IsOk(store->Remove(id)));
      model.Remove(id);
    }
    ASSERT_TRUE(IsOk(store->Close()));
  }
  std::unique_ptr<SpatialStore> store;
  ASSERT_TRUE(IsOk(SpatialStore::Open(o, path, &store)));
  ASSERT_TRUE(StoreMatchesModel(store.get(), model));
  for (int q = 0; q < 30; q++) {
    glm::dvec3 min = glm::dvec3(model.shape().RandomPosition(&rnd));
    glm::dvec3 max = min + glm::dvec3{rnd.Between(0, 800), rnd.Between(0, 800), rnd.Between(0, 60)};
    std::vector<Hit> hits;
    ASSERT_TRUE(IsOk(store->QueryBox(min, max, {}, &hits)));
    ASSERT_TRUE(HitsMatch(model, hits, model.Box(min, max, std::nullopt)));
    hits.clear();
    ASSERT_TRUE(IsOk(store->QueryNearest(min, 5, {}, &hits)));
    ASSERT_TRUE(HitsMatchInOrder(model, hits, model.Nearest(min, 5, std::nullopt)));
  }
  SpatialOptions other = o;
  other.cell_bits = 12;
  std::unique_ptr<SpatialStore> second;
  ASSERT_TRUE(IsOk(store->Close()));
  EXPECT_TRUE(SpatialStore::Open(other, path, &second).IsInvalidArgument());
}

}  // namespace
}  // namespace zworld::zorder
