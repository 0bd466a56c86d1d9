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

namespace {

std::string CurrentTestName() {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  if (info == nullptr) return "notest";
  return std::string(info->test_suite_name()) + "." + info->name();
}

// The test name reduced to characters that are safe in a file name.
std::string FileTag() {
  std::string tag = CurrentTestName();
  for (char& c : tag) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') c = '_';
  }
  if (tag.size() > 80) tag.resize(80);
  return tag;
}

uint64_t SplitMix64(uint64_t* x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

}  // namespace

// ---- folders, seeds ------------------------------------------------------------------------

TempDir::TempDir() {
  const char* env = std::getenv("ZWORLD_TEST_TMPDIR");
  const std::string root = (env != nullptr && env[0] != '\0') ? env : "/tmp";
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  std::string templ = root + "/" + FileTag() + ".XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (mkdtemp(buf.data()) == nullptr) {
    std::fprintf(stderr, "TempDir: cannot create %s: %s\n", templ.c_str(), std::strerror(errno));
    std::abort();
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::string UniqueMemPath() {
  static std::atomic<uint64_t> counter{0};
  return "/mem/" + FileTag() + "-" + std::to_string(counter.fetch_add(1));
}

uint64_t TestSeed() {
  uint64_t seed;
  const char* env = std::getenv("ZWORLD_TEST_SEED");
  if (env != nullptr && env[0] != '\0') {
    seed = std::strtoull(env, nullptr, 0);
  } else {
    uint64_t x =
        static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count()) ^
        (static_cast<uint64_t>(getpid()) << 32) ^ std::hash<std::string>()(CurrentTestName());
    seed = SplitMix64(&x) % 1000000000000ull;  // short enough to type
  }
  std::fprintf(stderr, "[seed] %s: ZWORLD_TEST_SEED=%llu\n", CurrentTestName().c_str(),
               static_cast<unsigned long long>(seed));
  return seed;
}

std::string SeedTrace(uint64_t seed) {
  return "seed=" + std::to_string(seed) + " (replay: ZWORLD_TEST_SEED=" + std::to_string(seed) +
         " <test binary> --gtest_filter=" + CurrentTestName() + ")";
}

bool UnderSanitizer() {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  return true;
#else
  return false;
#endif
}

// ---- Random --------------------------------------------------------------------------------

Random::Random(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) s = SplitMix64(&x);
}

uint64_t Random::Next() {
  auto rotl = [](uint64_t v, int k) { return (v << k) | (v >> (64 - k)); };
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Random::Gaussian() {
  double sum = 0.0;
  for (int i = 0; i < 6; i++) sum += Unit();
  return (sum - 3.0) * std::sqrt(2.0);  // variance of 6 uniforms is 1/2
}

std::string Random::Bytes(size_t len) {
  std::string s(len, '\0');
  for (char& c : s) c = static_cast<char>(Next() & 0xff);
  return s;
}

// ---- WorldShape ----------------------------------------------------------------------------

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
