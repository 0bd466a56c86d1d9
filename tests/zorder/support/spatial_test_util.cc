#include "zorder/support/spatial_test_util.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>
#include <sstream>

namespace zworld::zorder::test {

WorldShape::WorldShape(const SpatialOptions& o)
    : dims(o.dimensions), lo(o.world_min), hi(o.world_max) {
  cell = (hi - lo) / std::ldexp(1.0, o.cell_bits);
}

bool WorldShape::Accepts(const glm::vec3& p) const {
  for (int a = 0; a < dims; a++) {
    const double v = p[a];
    if (!std::isfinite(v) || v < lo[a] || v >= hi[a]) return false;
  }
  return true;
}

float WorldShape::Clamp(int axis, double v) const {
  v = std::clamp(v, lo[axis], hi[axis]);
  float f = static_cast<float>(v);
  while (static_cast<double>(f) >= hi[axis]) f = std::nextafter(f, -HUGE_VALF);
  while (static_cast<double>(f) < lo[axis]) f = std::nextafter(f, HUGE_VALF);
  return f;
}

glm::vec3 WorldShape::RandomPosition(Random* rnd) const {
  glm::vec3 p{0.0f};
  for (int a = 0; a < dims; a++) p[a] = Clamp(a, rnd->Between(lo[a], hi[a]));
  return p;
}

// ---- ReferenceWorld ------------------------------------------------------------------------

const Entity* ReferenceWorld::Find(uint64_t id) const {
  auto it = entities_.find(id);
  return it == entities_.end() ? nullptr : &it->second;
}

void ReferenceWorld::Put(const Entity& e) {
  Entity stored = e;
  if (shape_.dims == 2) stored.position.z = 0.0f;
  auto it = entities_.find(e.id);
  stored.version = it == entities_.end() ? 1 : it->second.version + 1;
  entities_[e.id] = std::move(stored);
}

bool ReferenceWorld::Move(uint64_t id, glm::vec3 p) {
  auto it = entities_.find(id);
  if (it == entities_.end()) return false;
  if (shape_.dims == 2) p.z = 0.0f;
  it->second.position = p;
  it->second.version++;
  return true;
}

bool ReferenceWorld::Remove(uint64_t id) { return entities_.erase(id) == 1; }

double ReferenceWorld::Distance2(const glm::vec3& p, const glm::dvec3& center) const {
  double d2 = 0.0;
  for (int a = 0; a < shape_.dims; a++) {
    const double d = static_cast<double>(p[a]) - center[a];
    d2 += d * d;
  }
  return d2;
}

std::vector<uint64_t> ReferenceWorld::Box(const glm::dvec3& min, const glm::dvec3& max,
                                          std::optional<uint32_t> kind) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, e] : entities_) {
    if (kind && e.kind != *kind) continue;
    bool in = true;
    for (int a = 0; a < shape_.dims && in; a++) {
      const double v = e.position[a];
      in = min[a] <= v && v < max[a];
    }
    if (in) ids.push_back(id);
  }
  return ids;
}

std::vector<uint64_t> ReferenceWorld::Radius(const glm::dvec3& center, double r,
                                             std::optional<uint32_t> kind) const {
  std::vector<uint64_t> ids;
  for (const auto& [id, e] : entities_) {
    if (kind && e.kind != *kind) continue;
    if (Distance2(e.position, center) <= r * r) ids.push_back(id);
  }
  return ids;
}

std::vector<uint64_t> ReferenceWorld::Nearest(const glm::dvec3& center, size_t k,
                                              std::optional<uint32_t> kind) const {
  std::vector<std::pair<double, uint64_t>> all;
  for (const auto& [id, e] : entities_) {
    if (kind && e.kind != *kind) continue;
    all.emplace_back(Distance2(e.position, center), id);
  }
  std::sort(all.begin(), all.end());
  std::vector<uint64_t> ids;
  for (size_t i = 0; i < std::min(k, all.size()); i++) ids.push_back(all[i].second);
  return ids;
}

// ---- comparisons ---------------------------------------------------------------------------

std::string ToString(const glm::dvec3& v) {
  char buf[128];
  std::snprintf(buf, sizeof(buf), "(%.17g, %.17g, %.17g)", v.x, v.y, v.z);
  return buf;
}

std::string ToString(const glm::vec3& v) { return ToString(glm::dvec3(v)); }

namespace {

// Appends to *msg the differences between a hit and the model's entity; false if any.
bool HitFieldsMatch(const ReferenceWorld& model, const Hit& h, std::string* msg) {
  const Entity* e = model.Find(h.id);
  if (e == nullptr) {
    *msg += "\n  hit " + std::to_string(h.id) + " is not in the model";
    return false;
  }
  if (h.position != e->position || h.kind != e->kind || h.version != e->version) {
    *msg += "\n  hit " + std::to_string(h.id) + " at " + ToString(h.position) + " kind " +
            std::to_string(h.kind) + " version " + std::to_string(h.version) + ", model has " +
            ToString(e->position) + " kind " + std::to_string(e->kind) + " version " +
            std::to_string(e->version);
    return false;
  }
  return true;
}

const size_t kMaxListed = 12;

}  // namespace

::testing::AssertionResult IsOk(const Status& s) {
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << s.ToString();
}

std::vector<uint64_t> Ids(const std::vector<Hit>& hits) {
  std::vector<uint64_t> ids;
  ids.reserve(hits.size());
  for (const Hit& h : hits) ids.push_back(h.id);
  return ids;
}

::testing::AssertionResult HitsMatch(const ReferenceWorld& model, const std::vector<Hit>& hits,
                                     const std::vector<uint64_t>& expected_ids) {
  std::string msg;
  size_t problems = 0;
  std::set<uint64_t> seen;
  for (const Hit& h : hits) {
    if (!seen.insert(h.id).second) {
      if (++problems <= kMaxListed) msg += "\n  id " + std::to_string(h.id) + " returned twice";
    }
    std::string diff;
    if (!HitFieldsMatch(model, h, &diff) && ++problems <= kMaxListed) msg += diff;
  }
  const std::set<uint64_t> expected(expected_ids.begin(), expected_ids.end());
  for (uint64_t id : expected) {
    if (seen.count(id) == 0 && ++problems <= kMaxListed) {
      const Entity* e = model.Find(id);
      msg += "\n  missing id " + std::to_string(id) +
             (e ? " at " + ToString(e->position) + " kind " + std::to_string(e->kind) : "");
    }
  }
  for (uint64_t id : seen) {
    if (expected.count(id) == 0 && ++problems <= kMaxListed) {
      msg += "\n  unexpected id " + std::to_string(id);
    }
  }
  if (problems == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << problems << " problem(s); " << hits.size() << " hits, "
                                       << expected.size() << " expected:" << msg;
}

::testing::AssertionResult HitsMatchInOrder(const ReferenceWorld& model,
                                            const std::vector<Hit>& hits,
                                            const std::vector<uint64_t>& expected_ids) {
  std::string msg;
  bool ok = hits.size() == expected_ids.size();
  for (size_t i = 0; i < std::min(hits.size(), expected_ids.size()); i++) {
    if (hits[i].id != expected_ids[i]) {
      ok = false;
      msg += "\n  position " + std::to_string(i) + ": got id " + std::to_string(hits[i].id) +
             " expected " + std::to_string(expected_ids[i]);
      break;
    }
    if (!HitFieldsMatch(model, hits[i], &msg)) ok = false;
  }
  if (ok) return ::testing::AssertionSuccess();
  std::ostringstream got, want;
  for (size_t i = 0; i < std::min<size_t>(hits.size(), kMaxListed); i++) got << hits[i].id << " ";
  for (size_t i = 0; i < std::min<size_t>(expected_ids.size(), kMaxListed); i++) {
    want << expected_ids[i] << " ";
  }
  return ::testing::AssertionFailure()
         << hits.size() << " hits, " << expected_ids.size() << " expected" << msg
         << "\n  got:      " << got.str() << "\n  expected: " << want.str();
}

::testing::AssertionResult StoreMatchesModel(SpatialStore* store, const ReferenceWorld& model,
                                             const std::vector<uint64_t>& missing_ids) {
  std::string msg;
  size_t problems = 0;
  for (const auto& [id, want] : model.entities()) {
    Entity got;
    Status s = store->Get(id, &got);
    std::string p;
    if (!s.ok()) {
      p = "Get(" + std::to_string(id) + "): " + s.ToString();
    } else if (got.id != id || got.position != want.position || got.kind != want.kind ||
               got.version != want.version || got.payload != want.payload) {
      p = "Get(" + std::to_string(id) + ") returned id " + std::to_string(got.id) + " at " +
          ToString(got.position) + " kind " + std::to_string(got.kind) + " version " +
          std::to_string(got.version) + " payload of " + std::to_string(got.payload.size()) +
          " bytes; model has " + ToString(want.position) + " kind " + std::to_string(want.kind) +
          " version " + std::to_string(want.version) + " payload of " +
          std::to_string(want.payload.size()) + " bytes" +
          (got.payload == want.payload ? "" : " (payloads differ)");
    }
    if (!p.empty() && ++problems <= kMaxListed) msg += "\n  " + p;
  }
  for (uint64_t id : missing_ids) {
    if (model.Find(id) != nullptr) continue;
    Entity got;
    Status s = store->Get(id, &got);
    if (!s.IsNotFound() && ++problems <= kMaxListed) {
      msg += "\n  Get(" + std::to_string(id) + ") of a removed entity: " + s.ToString();
    }
  }
  if (problems == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << problems << " problem(s):" << msg;
}

}  // namespace zworld::zorder::test
