// SpatialStore under concurrent moves: writer threads move entities (single moves, batches of
// moves, and atomic remove + put replacements) while reader threads query the world, and a
// flusher thread turns memtables into SSTables and compacts them. A move is one WriteBatch,
// so every query, with the snapshot the store takes per scan or with an explicit one, must
// see each entity exactly once: never twice (old and new cell) and never not at all.
//
// With an explicit snapshot the readers also check that box, radius, nearest queries and Get
// at that snapshot agree with a full-world query at the same snapshot.
//
// Prints its seed; replay the random choices with ZWORLD_TEST_SEED=<seed> (thread timing
// differs from run to run, of course).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "support/spatial_test_util.h"
#include "zworld/engine/env.h"
#include "zworld/zorder/spatial_store.h"

namespace zworld::zorder {
namespace {

using test::Random;
using test::ToString;
using test::WorldShape;
using Clock = std::chrono::steady_clock;

// The first problems any thread met; the threads stop at the first one.
class Failures {
 public:
  // Records msg; returns false so that a check can `return failures_.Add(...)`.
  bool Add(const std::string& msg) {
    std::lock_guard<std::mutex> l(mu_);
    if (msgs_.size() < 10) msgs_.push_back(msg);
    failed_.store(true);
    return false;
  }
  bool failed() const { return failed_.load(); }
  std::string Text() {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (const std::string& m : msgs_) out += "\n  " + m;
    return out;
  }

 private:
  std::mutex mu_;
  std::vector<std::string> msgs_;
  std::atomic<bool> failed_{false};
};

struct Params {
  int dims;
  int cell_bits;
  size_t entities;
  double seconds;
};

void PrintTo(const Params& p, std::ostream* os) {
  *os << p.dims << "D, " << p.cell_bits << " cell bits, " << p.entities << " entities, "
      << p.seconds << " s";
}

class ConcurrencyTest : public ::testing::TestWithParam<Params> {
 protected:
  ConcurrencyTest() : env_(engine::NewMemEnv(engine::Env::Default())) {}

  void SetUp() override {
    const Params& p = GetParam();
    options_.db.env = env_.get();
    options_.db.write_buffer_size = 32u << 10;
    options_.db.block_size = 1024;
    options_.dimensions = p.dims;
    options_.cell_bits = p.cell_bits;
    n_ = test::UnderSanitizer() ? p.entities / 2 : p.entities;
    seed_ = test::TestSeed();
  }

  // Writer w of kWriters owns the ids with id % kWriters == w and keeps their state.
  void Writer(int w, uint64_t seed, Clock::time_point deadline) {
    Random rnd(seed);
    const WorldShape shape(options_);
    std::map<uint64_t, Entity> mine;  // id -> position, kind, version as written
    for (uint64_t id = 1; id <= n_; id++) {
      if (static_cast<int>(id % kWriters) == w) mine[id] = initial_.at(id);
    }
    std::vector<uint64_t> ids;
    for (const auto& [id, e] : mine) ids.push_back(id);
    auto moved = [&](const glm::vec3& p) {
      glm::vec3 q = p;
      if (rnd.OneIn(4)) return shape.RandomPosition(&rnd);
      const double scale = rnd.OneIn(2) ? 0.3 : 3.0;  // within a cell, or across a few
      for (int a = 0; a < shape.dims; a++) {
        q[a] = shape.Clamp(a, p[a] + rnd.Gaussian() * shape.cell[a] * scale);
      }
      return q;
    };
    while (Clock::now() < deadline && !failures_.failed()) {
      const uint64_t r = rnd.Uniform(100);
      Status s;
      std::string what;
      if (r < 60) {
        Entity& e = mine[ids[rnd.Uniform(ids.size())]];
        const glm::vec3 p = moved(e.position);
        s = store_->Move(e.id, p);
        e.position = p;
        e.version++;
        what = "Move " + std::to_string(e.id) + " to " + ToString(p);
      } else if (r < 85) {
        SpatialBatch b;
        const size_t n = 2 + rnd.Uniform(7);
        for (size_t i = 0; i < n; i++) {
          Entity& e = mine[ids[rnd.Uniform(ids.size())]];
          e.position = moved(e.position);
          e.version++;
          b.Move(e.id, e.position);
        }
        s = store_->Write(b);
        what = "a batch of moves";
      } else {  // replace: remove and put again, atomically
        Entity& e = mine[ids[rnd.Uniform(ids.size())]];
        e.position = shape.RandomPosition(&rnd);
        e.kind = static_cast<uint32_t>(rnd.Uniform(3));
        e.version = 1;
        SpatialBatch b;
        b.Remove(e.id);
        b.Put(e);
        s = store_->Write(b);
        what = "remove + put of " + std::to_string(e.id);
      }
      if (!s.ok()) {
        failures_.Add("writer " + std::to_string(w) + ": " + what + ": " + s.ToString());
        return;
      }
      writes_.fetch_add(1, std::memory_order_relaxed);
    }
    std::lock_guard<std::mutex> l(final_mu_);
    for (const auto& [id, e] : mine) final_[id] = e;
  }

  // Checks the structure every query must have: distinct ids, all known, positions inside
  // [min, max) on the used axes. Returns false (after recording a failure) otherwise.
  bool CheckHits(const std::vector<Hit>& hits, const glm::dvec3& min, const glm::dvec3& max,
                 const std::string& what) {
    std::vector<uint64_t> ids;
    for (const Hit& h : hits) {
      if (h.id < 1 || h.id > n_) {
        failures_.Add(what + ": unknown id " + std::to_string(h.id));
        return false;
      }
      for (int a = 0; a < options_.dimensions; a++) {
        const double v = h.position[a];
        if (!(min[a] <= v && v < max[a])) {
          failures_.Add(what + ": id " + std::to_string(h.id) + " at " + ToString(h.position) +
                        " is outside the box");
          return false;
        }
      }
      ids.push_back(h.id);
    }
    std::sort(ids.begin(), ids.end());
    auto dup = std::adjacent_find(ids.begin(), ids.end());
    if (dup != ids.end()) {
      failures_.Add(what + ": id " + std::to_string(*dup) + " appears twice");
      return false;
    }
    return true;
  }

  bool CheckFullWorld(const std::vector<Hit>& hits, const std::string& what) {
    if (!CheckHits(hits, options_.world_min, options_.world_max, what)) return false;
    if (hits.size() != n_) {
      failures_.Add(what + ": " + std::to_string(hits.size()) + " entities instead of " +
                    std::to_string(n_));
      return false;
    }
    return true;
  }

  std::pair<glm::dvec3, glm::dvec3> RandomBox(Random* rnd, const WorldShape& shape) {
    glm::dvec3 min{0.0}, max{0.0};
    const double size = rnd->OneIn(3) ? 0.4 : 0.05;
    for (int a = 0; a < 3; a++) {
      min[a] = rnd->Between(shape.lo[a] - 0.1 * shape.extent()[a], shape.hi[a]);
      max[a] = min[a] + rnd->Between(0.0, size) * shape.extent()[a];
    }
    return {min, max};
  }

  // Queries without a snapshot (the store takes one per scan) and at explicit snapshots.
  void Reader(int r, uint64_t seed, Clock::time_point deadline) {
    Random rnd(seed);
    const WorldShape shape(options_);
    const std::string who = "reader " + std::to_string(r) + ": ";
    while (Clock::now() < deadline && !failures_.failed()) {
      QueryOptions qo;
      qo.planner = rnd.OneIn(2) ? Planner::kBigmin : Planner::kRanges;
      const std::string planner = *qo.planner == Planner::kBigmin ? "bigmin" : "ranges";
      std::vector<Hit> full;
      Status s = store_->QueryBox(options_.world_min, options_.world_max, qo, &full);
      if (!s.ok()) {
        failures_.Add(who + "full query: " + s.ToString());
        return;
      }
      if (!CheckFullWorld(full, who + "full query (" + planner + ")")) return;

      auto [min, max] = RandomBox(&rnd, shape);
      std::vector<Hit> part;
      s = store_->QueryBox(min, max, qo, &part);
      if (!s.ok()) {
        failures_.Add(who + "box query: " + s.ToString());
        return;
      }
      if (!CheckHits(part, min, max, who + "box " + ToString(min) + " " + ToString(max))) return;
      queries_.fetch_add(2, std::memory_order_relaxed);

      if (rnd.OneIn(3) && !CheckAtSnapshot(&rnd, shape, who)) return;
    }
  }

  // A full-world query at a snapshot, then other queries at the same snapshot, which must
  // agree with it exactly.
  bool CheckAtSnapshot(Random* rnd, const WorldShape& shape, const std::string& who) {
    const engine::Snapshot* snap = store_->GetSnapshot();
    bool ok = CheckAtSnapshot(rnd, shape, who + "at snapshot: ", snap);
    store_->ReleaseSnapshot(snap);
    return ok;
  }

  bool CheckAtSnapshot(Random* rnd, const WorldShape& shape, const std::string& who,
                       const engine::Snapshot* snap) {
    QueryOptions qo;
    qo.snapshot = snap;
    qo.planner = rnd->OneIn(2) ? Planner::kBigmin : Planner::kRanges;
    std::vector<Hit> full;
    Status s = store_->QueryBox(options_.world_min, options_.world_max, qo, &full);
    if (!s.ok()) return failures_.Add(who + "full query: " + s.ToString());
    if (!CheckFullWorld(full, who + "full query")) return false;
    std::map<uint64_t, Hit> world;
    for (const Hit& h : full) world[h.id] = h;
    test::ReferenceWorld model(options_);
    for (const Hit& h : full) {
      Entity e;
      e.id = h.id;
      e.position = h.position;
      e.kind = h.kind;
      model.Put(e);
    }
    // The model numbers versions itself; compare ids and positions, versions against `world`.
    auto same = [&](const std::vector<Hit>& hits, std::vector<uint64_t> want,
                    const std::string& what) {
      std::vector<uint64_t> got;
      for (const Hit& h : hits) {
        auto it = world.find(h.id);
        if (it == world.end()) {
          return failures_.Add(who + what + ": id " + std::to_string(h.id) +
                               " is missing from the full query at the same snapshot");
        }
        const Hit& w = it->second;
        if (h.position != w.position || h.version != w.version || h.kind != w.kind) {
          return failures_.Add(who + what + ": id " + std::to_string(h.id) +
                               " differs from the full query at the same snapshot");
        }
        got.push_back(h.id);
      }
      std::sort(got.begin(), got.end());
      if (got != want) {
        return failures_.Add(who + what + ": " + std::to_string(got.size()) +
                             " hits, the full query at the same snapshot has " +
                             std::to_string(want.size()));
      }
      return true;
    };

    auto [min, max] = RandomBox(rnd, shape);
    std::vector<Hit> hits;
    s = store_->QueryBox(min, max, qo, &hits);
    if (!s.ok()) return failures_.Add(who + "box: " + s.ToString());
    if (!same(hits, model.Box(min, max, std::nullopt),
              "box " + ToString(min) + " " + ToString(max))) {
      return false;
    }

    const glm::dvec3 c = glm::dvec3(shape.RandomPosition(rnd));
    const double r = rnd->Between(0.0, 0.1) * shape.extent().x;
    hits.clear();
    s = store_->QueryRadius(c, r, qo, &hits);
    if (!s.ok()) return failures_.Add(who + "radius: " + s.ToString());
    if (!same(hits, model.Radius(c, r, std::nullopt), "radius")) return false;

    const size_t k = 1 + rnd->Uniform(20);
    hits.clear();
    s = store_->QueryNearest(c, k, qo, &hits);
    if (!s.ok()) return failures_.Add(who + "nearest: " + s.ToString());
    const std::vector<uint64_t> want = model.Nearest(c, k, std::nullopt);
    std::vector<uint64_t> got;
    for (const Hit& h : hits) got.push_back(h.id);
    if (got != want) {
      return failures_.Add(who + "nearest " + std::to_string(k) + " of " + ToString(c) +
                           " differ from brute force over the full query");
    }

    for (int i = 0; i < 5; i++) {
      const uint64_t id = 1 + rnd->Uniform(n_);
      Entity e;
      s = store_->Get(id, &e, snap);
      if (!s.ok()) return failures_.Add(who + "Get " + std::to_string(id) + ": " + s.ToString());
      const Hit& w = world[id];
      if (e.position != w.position || e.version != w.version || e.kind != w.kind) {
        return failures_.Add(who + "Get " + std::to_string(id) + " returned " +
                             ToString(e.position) + " version " + std::to_string(e.version) +
                             ", the full query " + ToString(w.position) + " version " +
                             std::to_string(w.version));
      }
    }
    queries_.fetch_add(4, std::memory_order_relaxed);
    return true;
  }

  void Flusher(Clock::time_point deadline, Clock::time_point compact_at) {
    bool compacted = false;
    while (Clock::now() < deadline && !failures_.failed()) {
      Status s = store_->db()->Flush();
      if (s.ok() && !compacted && Clock::now() >= compact_at) {
        s = store_->db()->CompactRange(nullptr, nullptr);
        compacted = true;
      }
      if (!s.ok()) {
        failures_.Add("flusher: " + s.ToString());
        return;
      }
      flushes_.fetch_add(1, std::memory_order_relaxed);
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
    }
  }

  static constexpr int kWriters = 2;
  static constexpr int kReaders = 2;

  std::unique_ptr<engine::MemEnv> env_;
  SpatialOptions options_;
  std::unique_ptr<SpatialStore> store_;
  size_t n_ = 0;
  uint64_t seed_ = 0;
  std::map<uint64_t, Entity> initial_;
  Failures failures_;
  std::atomic<uint64_t> writes_{0}, queries_{0}, flushes_{0};
  std::mutex final_mu_;
  std::map<uint64_t, Entity> final_;  // guarded by final_mu_
};

TEST_P(ConcurrencyTest, EveryEntityExactlyOnceDuringMoves) {
  SCOPED_TRACE(test::SeedTrace(seed_));
  Random rnd(seed_);
  const std::string path = test::UniqueMemPath();
  ASSERT_TRUE(test::IsOk(SpatialStore::Open(options_, path, &store_)));
  const WorldShape shape(options_);
  SpatialBatch batch;
  for (uint64_t id = 1; id <= n_; id++) {
    Entity e;
    e.id = id;
    e.position = shape.RandomPosition(&rnd);
    e.kind = static_cast<uint32_t>(id % 3);
    e.payload = "entity " + std::to_string(id);
    batch.Put(e);
    e.version = 1;
    initial_[id] = e;
    if (batch.size() == 100 || id == n_) {
      ASSERT_TRUE(test::IsOk(store_->Write(batch)));
      batch.Clear();
    }
  }
  ASSERT_TRUE(test::IsOk(store_->db()->Flush()));

  const auto start = Clock::now();
  const auto deadline =
      start + std::chrono::milliseconds(static_cast<int64_t>(GetParam().seconds * 1000));
  const auto compact_at = start + (deadline - start) / 2;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; w++) {
    threads.emplace_back([this, w, s = rnd.Next(), deadline] { Writer(w, s, deadline); });
  }
  for (int r = 0; r < kReaders; r++) {
    threads.emplace_back([this, r, s = rnd.Next(), deadline] { Reader(r, s, deadline); });
  }
  threads.emplace_back([this, deadline, compact_at] { Flusher(deadline, compact_at); });
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(failures_.failed()) << failures_.Text();

  std::printf("%llu writes, %llu queries, %llu flushes in %.1f s\n",
              static_cast<unsigned long long>(writes_.load()),
              static_cast<unsigned long long>(queries_.load()),
              static_cast<unsigned long long>(flushes_.load()),
              std::chrono::duration<double>(Clock::now() - start).count());
  EXPECT_GT(writes_.load(), 100u);
  EXPECT_GT(queries_.load(), 10u);
  EXPECT_GT(flushes_.load(), 1u);

  // The end state is exactly what the writers wrote, before and after a reopen.
  ASSERT_EQ(final_.size(), n_);
  for (int round = 0; round < 2; round++) {
    SCOPED_TRACE(round == 0 ? "end state" : "after reopen");
    std::vector<Hit> full;
    ASSERT_TRUE(test::IsOk(store_->QueryBox(options_.world_min, options_.world_max, {}, &full)));
    ASSERT_EQ(full.size(), n_);
    for (const Hit& h : full) {
      const Entity& want = final_.at(h.id);
      ASSERT_EQ(h.position, want.position) << h.id;
      ASSERT_EQ(h.version, want.version) << h.id;
      ASSERT_EQ(h.kind, want.kind) << h.id;
      Entity e;
      ASSERT_TRUE(test::IsOk(store_->Get(h.id, &e)));
      ASSERT_EQ(e.position, want.position) << h.id;
      ASSERT_EQ(e.payload, "entity " + std::to_string(h.id)) << h.id;
    }
    ASSERT_TRUE(test::IsOk(store_->Close()));
    store_.reset();
    if (round == 0) {
      ASSERT_TRUE(test::IsOk(SpatialStore::Open(options_, path, &store_)));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Worlds, ConcurrencyTest,
                         ::testing::Values(Params{2, 10, 1500, 3.0}, Params{3, 8, 1000, 1.5}),
                         [](const ::testing::TestParamInfo<Params>& info) {
                           return std::to_string(info.param.dims) + "D_Bits" +
                                  std::to_string(info.param.cell_bits);
                         });

}  // namespace
}  // namespace zworld::zorder
