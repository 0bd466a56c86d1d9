#include "zworld/zorder/spatial_store.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <shared_mutex>

#include "block_bounds.h"
#include "keys.h"
#include "zworld/engine/extension.h"
#include "zworld/zorder/morton.h"
#include "zworld/zorder/planner.h"

namespace zworld::zorder {

using engine::ReadOptions;
using engine::ScanEntry;
using engine::ScanVisitor;
using engine::Slice;
using engine::WriteBatch;

// ---- the cell grid -----------------------------------------------------------------------

// Maps world positions to cells: cell = floor((v - world_min) * 2^bits / (world_max -
// world_min)) per axis. The map is monotone in v, which is what makes box -> cell box exact:
// every position in [min, max) lands in a cell between CellOf(min) and CellOf(max).
struct SpatialStore::Grid {
  int dims;
  int bits;
  glm::dvec3 lo, hi, scale;
  uint32_t max_cell;

  explicit Grid(const SpatialOptions& o)
      : dims(o.dimensions), bits(o.cell_bits), lo(o.world_min), hi(o.world_max) {
    const double cells = std::ldexp(1.0, bits);
    scale = cells / (hi - lo);
    max_cell = static_cast<uint32_t>(cells - 1.0);
  }

  uint32_t CellOf(int axis, double v) const {
    double c = std::floor((v - lo[axis]) * scale[axis]);
    if (!(c >= 0.0)) return 0;
    if (c >= static_cast<double>(max_cell)) return max_cell;
    return static_cast<uint32_t>(c);
  }

  Status CheckPosition(const glm::vec3& p) const {
    for (int a = 0; a < dims; a++) {
      const double v = p[a];
      if (!std::isfinite(v)) {
        return Status::InvalidArgument("position is not finite");
      }
      if (v < lo[a] || v >= hi[a]) {
        return Status::InvalidArgument("position outside the world",
                                       "axis " + std::to_string(a) + " value " + std::to_string(v));
      }
    }
    return Status::OK();
  }

  uint64_t Code(const glm::vec3& p) const {
    if (dims == 2) return Encode2D(CellOf(0, p.x), CellOf(1, p.y));
    return Encode3D(CellOf(0, p.x), CellOf(1, p.y), CellOf(2, p.z));
  }

  // The cells that positions in [min, max) can fall in, or false if the box misses the world.
  bool CellBox(const glm::dvec3& min, const glm::dvec3& max, CellBounds* box) const {
    box->dims = dims;
    for (int a = 0; a < dims; a++) {
      if (!(min[a] < max[a]) || max[a] <= lo[a] || min[a] >= hi[a]) return false;
      box->min[a] = CellOf(a, std::max(min[a], lo[a]));
      box->max[a] = CellOf(a, max[a]);
    }
    return true;
  }
};

// ---- per-entity write locks ------------------------------------------------------------------

// Writes to one entity read its current cell and then write; two such writers must not
// interleave. Ids hash onto 64 stripes. A write touching a few stripes holds `all` shared and
// locks its stripes in index order; a large batch (a game tick) takes `all` exclusively
// instead of dozens of stripe locks.
struct SpatialStore::Stripes {
  static constexpr int kCount = 64;
  // Above this many stripes a write takes `all` exclusively.
  static constexpr int kMaxStripeLocks = 8;
  std::shared_mutex all;
  std::array<std::mutex, kCount> mu;

  static int Of(uint64_t id) { return static_cast<int>((id * 0x9E3779B97F4A7C15ull) >> 58); }

  class Guard {
   public:
    Guard(Stripes* s, uint64_t mask)
        : s_(s), mask_(std::popcount(mask) > kMaxStripeLocks ? 0 : mask) {
      if (mask_ == 0) {
        s_->all.lock();
        return;
      }
      s_->all.lock_shared();
      for (int i = 0; i < kCount; i++) {
        if (mask_ & (uint64_t{1} << i)) s_->mu[i].lock();
      }
    }
    ~Guard() {
      if (mask_ == 0) {
        s_->all.unlock();
        return;
      }
      for (int i = kCount - 1; i >= 0; i--) {
        if (mask_ & (uint64_t{1} << i)) s_->mu[i].unlock();
      }
      s_->all.unlock_shared();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Stripes* s_;
    const uint64_t mask_;  // 0: `all` is held exclusively
  };
};

namespace {

// The state of the entities a batch touches: id -> the record as it stands after the
// operations so far (exists == false: no such entity). Open addressing with linear probing,
// sized for the batch up front: a game tick touches 10^5 entities, and a node-based map's
// allocations were a visible share of a MOVE.
class EntityStates {
 public:
  struct Slot {
    uint64_t id = 0;
    bool used = false;
    bool exists = false;
    keys::EntityRecord rec;
  };

  explicit EntityStates(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n) cap <<= 1;
    slots_.resize(cap);
    mask_ = cap - 1;
  }

  // The slot of id, or null if there is no state for it yet.
  Slot* Find(uint64_t id) {
    for (size_t i = Hash(id);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used) return nullptr;
      if (s.id == id) return &s;
    }
  }
  // The slot of id, claimed if new. At most half the slots are ever used (one per operation).
  Slot* Insert(uint64_t id) {
    for (size_t i = Hash(id);; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (!s.used) {
        s.used = true;
        s.id = id;
        return &s;
      }
      if (s.id == id) return &s;
    }
  }

 private:
  size_t Hash(uint64_t id) const {
    return static_cast<size_t>((id * 0x9E3779B97F4A7C15ull) >> 32) & mask_;
  }

  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace

struct SpatialStore::Pending {
  explicit Pending(size_t n) : states(n) {}
  EntityStates states;
};

// ---- the world record ------------------------------------------------------------------------

namespace {

// 3: payloads under their own 'p' keys, varint kind and version, no version byte in entity
// records (zorder/ZORDER.md, "Keys and values").
constexpr uint8_t kWorldRecordVersion = 3;
const char kWorldKey[] = "mworld";

std::string EncodeWorld(const SpatialOptions& o) {
  std::string v;
  v.push_back(static_cast<char>(kWorldRecordVersion));
  v.push_back(static_cast<char>(o.dimensions));
  v.push_back(static_cast<char>(o.cell_bits));
  // Axes the store does not use (z in 2D) are recorded as 0 so they never cause a mismatch.
  for (int a = 0; a < 3; a++) keys::PutLE(&v, a < o.dimensions ? o.world_min[a] : 0.0);
  for (int a = 0; a < 3; a++) keys::PutLE(&v, a < o.dimensions ? o.world_max[a] : 0.0);
  return v;
}

std::string DescribeWorld(const Slice& v) {
  if (v.size() != 3 + 6 * 8) return "an unreadable world record";
  std::string s = std::to_string(static_cast<int>(v[1])) + "D, " +
                  std::to_string(static_cast<int>(v[2])) + " cell bits, world [";
  for (int a = 0; a < 3; a++) {
    s += std::to_string(keys::GetLE<double>(v.data() + 3 + 8 * a)) + (a < 2 ? ", " : "] to [");
  }
  for (int a = 0; a < 3; a++) {
    s += std::to_string(keys::GetLE<double>(v.data() + 27 + 8 * a)) + (a < 2 ? ", " : "]");
  }
  return s;
}

Status ValidateOptions(const SpatialOptions& o) {
  if (o.dimensions != 2 && o.dimensions != 3) {
    return Status::InvalidArgument("dimensions must be 2 or 3");
  }
  const int max_bits = o.dimensions == 2 ? kBitsPerAxis2D : kBitsPerAxis3D;
  if (o.cell_bits < 1 || o.cell_bits > max_bits) {
    return Status::InvalidArgument("cell_bits out of range",
                                   "1.." + std::to_string(max_bits) + " for this dimension");
  }
  for (int a = 0; a < o.dimensions; a++) {
    if (!std::isfinite(o.world_min[a]) || !std::isfinite(o.world_max[a]) ||
        !(o.world_min[a] < o.world_max[a])) {
      return Status::InvalidArgument("world bounds must be finite with min < max");
    }
  }
  if (o.max_ranges == 0) return Status::InvalidArgument("max_ranges must be at least 1");
  return Status::OK();
}

}  // namespace

// ---- the scan of one box -------------------------------------------------------------------

namespace {

// What a hit must satisfy beyond its cell: the exact box, optionally a sphere, the kind.
struct HitFilter {
  int dims = 2;
  glm::dvec3 min{0.0}, max{0.0};
  bool sphere = false;
  glm::dvec3 center{0.0};
  double r2 = 0.0;
  std::optional<uint32_t> kind;
  size_t limit = 0;  // 0: none
};

// Walks the spatial keys of a box through DB::Scan. The BIGMIN planner checks each key's
// cell against the box and, at the first key outside, jumps to BIGMIN; the ranges planner
// walks a precomputed list of z-ranges. Either way the jump stays inside the current run
// when the target is in it (binary search) and asks the engine to seek otherwise.
class BoxVisitor final : public ScanVisitor {
 public:
  BoxVisitor(const HitFilter& f, uint64_t zmin, uint64_t zmax, const std::vector<ZRange>* ranges,
             std::vector<Hit>* out)
      : f_(f), zmin_(zmin), zmax_(zmax), ranges_(ranges), out_(out) {}

  Next Visit(std::span<const ScanEntry> run, std::string* seek_to) override {
    return f_.dims == 2 ? VisitDims<2>(run, seek_to) : VisitDims<3>(run, seek_to);
  }

  const Status& status() const { return status_; }
  uint64_t seeks = 1;  // the initial positioning
  uint64_t examined = 0;
  uint64_t filtered = 0;
  uint64_t hits = 0;

 private:
  template <int kDims>
  static bool InBox(uint64_t z, uint64_t zmin, uint64_t zmax) {
    return kDims == 2 ? CodeInBox2D(z, zmin, zmax) : CodeInBox3D(z, zmin, zmax);
  }

  // First index in [from, run.size()) whose code is >= code.
  static size_t LowerBound(std::span<const ScanEntry> run, size_t from, uint64_t code) {
    size_t lo = from, hi = run.size();
    while (lo < hi) {
      size_t mid = (lo + hi) / 2;
      if (keys::SpatialKeyCode(run[mid].key.data()) < code)
        lo = mid + 1;
      else
        hi = mid;
    }
    return lo;
  }

  template <int kDims>
  Next VisitDims(std::span<const ScanEntry> run, std::string* seek_to) {
    const size_t n = run.size();
    size_t i = 0;
    while (i < n) {
      const ScanEntry& e = run[i];
      if (e.key.size() != keys::kSpatialKeySize) {
        status_ =
            Status::Corruption("malformed spatial key of size " + std::to_string(e.key.size()));
        return Next::kStop;
      }
      const uint64_t z = keys::SpatialKeyCode(e.key.data());
      uint64_t target;
      bool jump = false;
      bool check_cell = true;
      if (ranges_ == nullptr) {
        if (!InBox<kDims>(z, zmin_, zmax_)) {
          examined++;
          filtered++;
          bool found =
              kDims == 2 ? Bigmin2D(z, zmin_, zmax_, &target) : Bigmin3D(z, zmin_, zmax_, &target);
          if (!found) return Next::kStop;
          jump = true;
        }
      } else {
        while (range_ < ranges_->size() && z > (*ranges_)[range_].hi) range_++;
        if (range_ == ranges_->size()) return Next::kStop;
        const ZRange& r = (*ranges_)[range_];
        if (z < r.lo) {
          target = r.lo;
          jump = true;
        } else {
          check_cell = !r.fully_contained;
        }
      }
      if (jump) {
        size_t j = LowerBound(run, i + 1, target);
        if (j == n) {
          *seek_to = keys::SpatialSeekKey(target);
          seeks++;
          return Next::kSeek;
        }
        i = j;
        continue;
      }
      i++;
      examined++;
      if (check_cell && ranges_ != nullptr && !InBox<kDims>(z, zmin_, zmax_)) {
        filtered++;
        continue;
      }
      if (!Accept<kDims>(e)) {
        if (!status_.ok()) return Next::kStop;
        filtered++;
        continue;
      }
      if (f_.limit != 0 && hits >= f_.limit) return Next::kStop;
    }
    return Next::kContinue;
  }

  // Decodes the value, applies the exact filters and appends the hit.
  template <int kDims>
  bool Accept(const ScanEntry& e) {
    const char* v = e.value.data();
    if (e.value.size() < keys::SpatialPositionSize(kDims) + 2) return Malformed(e);
    glm::vec3 p{keys::GetLE<float>(v), keys::GetLE<float>(v + 4), 0.0f};
    if (kDims == 3) p.z = keys::GetLE<float>(v + 8);
    for (int a = 0; a < kDims; a++) {
      const double c = p[a];
      if (!(f_.min[a] <= c && c < f_.max[a])) return false;
    }
    uint32_t kind;
    uint64_t version;
    if (!keys::DecodeSpatialTail(e.value, kDims, &kind, &version)) return Malformed(e);
    if (f_.kind && *f_.kind != kind) return false;
    if (f_.sphere) {
      double d2 = 0.0;
      for (int a = 0; a < kDims; a++) {
        const double d = static_cast<double>(p[a]) - f_.center[a];
        d2 += d * d;
      }
      if (d2 > f_.r2) return false;
    }
    out_->push_back(Hit{
        .id = keys::SpatialKeyId(e.key.data()), .position = p, .kind = kind, .version = version});
    hits++;
    return true;
  }

  bool Malformed(const ScanEntry& e) {
    status_ = Status::Corruption(
        "malformed spatial value of entity " + std::to_string(keys::SpatialKeyId(e.key.data())),
        "size " + std::to_string(e.value.size()));
    return false;
  }

  const HitFilter& f_;
  const uint64_t zmin_, zmax_;
  const std::vector<ZRange>* ranges_;  // null: BIGMIN planner
  size_t range_ = 0;
  std::vector<Hit>* out_;
  Status status_;
};

Status CheckBounds(const glm::dvec3& min, const glm::dvec3& max, int dims) {
  for (int a = 0; a < dims; a++) {
    if (std::isnan(min[a]) || std::isnan(max[a])) {
      return Status::InvalidArgument("query bound is NaN");
    }
    if (min[a] > max[a]) {
      return Status::InvalidArgument("inverted query box",
                                     "min > max on axis " + std::to_string(a));
    }
  }
  return Status::OK();
}

}  // namespace

// ---- batch lookups -------------------------------------------------------------------------

namespace {

// Reads the entity records of many ids with one merge-join scan over the 'e' keyspace
// instead of one point lookup each: ids are visited in key order, jumping with kSeek over
// gaps that leave the current run. A large batch (a game tick moving a tenth of the world)
// then reads each table block at most once, sequentially. Ids without a record map to
// no state of an existing entity.
class EntityLookup final : public ScanVisitor {
 public:
  EntityLookup(const std::vector<uint64_t>& ids, EntityStates* out) : ids_(ids), out_(out) {}

  Next Visit(std::span<const ScanEntry> run, std::string* seek_to) override {
    size_t i = 0;
    while (i < run.size() && next_ < ids_.size()) {
      const ScanEntry& e = run[i];
      if (e.key.size() != keys::kEntityKeySize) {
        status_ =
            Status::Corruption("malformed entity key of size " + std::to_string(e.key.size()));
        return Next::kStop;
      }
      const uint64_t id = keys::GetBE64(e.key.data() + 1);
      const uint64_t want = ids_[next_];
      if (id < want) {
        // Binary search the rest of the run for the wanted id, or seek past it.
        size_t lo = i + 1, hi = run.size();
        while (lo < hi) {
          size_t mid = (lo + hi) / 2;
          if (keys::GetBE64(run[mid].key.data() + 1) < want)
            lo = mid + 1;
          else
            hi = mid;
        }
        if (lo == run.size()) {
          *seek_to = keys::EntityKey(want).slice().ToString();
          return Next::kSeek;
        }
        i = lo;
        continue;
      }
      if (id > want) {
        out_->Insert(want)->exists = false;
        next_++;
        continue;
      }
      EntityStates::Slot* slot = out_->Insert(id);
      if (!keys::DecodeEntityValue(e.value, &slot->rec)) {
        status_ = Status::Corruption("malformed entity record of entity " + std::to_string(id));
        return Next::kStop;
      }
      slot->exists = true;
      next_++;
      i++;
    }
    return next_ == ids_.size() ? Next::kStop : Next::kContinue;
  }

  // Ids the scan did not reach (past the last key) have no record.
  void Finish() {
    for (; next_ < ids_.size(); next_++) out_->Insert(ids_[next_])->exists = false;
  }
  const Status& status() const { return status_; }

 private:
  const std::vector<uint64_t>& ids_;  // sorted, unique
  size_t next_ = 0;
  EntityStates* out_;
  Status status_;
};

// Below this many distinct ids a batch uses point lookups.
constexpr size_t kScanLookupThreshold = 16;

Status LookupEntities(engine::DB* db, std::vector<uint64_t> ids, EntityStates* out) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  if (ids.size() < kScanLookupThreshold) return Status::OK();  // Apply uses Get
  EntityLookup visitor(ids, out);
  std::string start = keys::EntityKey(ids.front()).slice().ToString();
  std::string limit = ids.back() == UINT64_MAX ? std::string(1, keys::kEntityPrefix + 1)
                                               : keys::EntityKey(ids.back() + 1).slice().ToString();
  Status s = db->Scan(ReadOptions(), start, limit, engine::ScanOptions(), &visitor);
  if (!s.ok()) return s;
  if (!visitor.status().ok()) return visitor.status();
  visitor.Finish();
  return Status::OK();
}

}  // namespace

// ---- table layout -----------------------------------------------------------------------------

namespace {

// One keyspace per SSTable: payloads (written once) and entity records never share a table
// with the spatial keys that every move rewrites, so compaction merges only what churns.
// Only entity tables get a bloom filter: spatial and payload keys are read by scans, or by
// Get for keys the entity record says exist, where a filter never saves a read.
class KeyspacePartitioner final : public engine::TablePartitioner {
 public:
  bool ShouldCut(const Slice& prev_user_key, const Slice& user_key) const override {
    return prev_user_key.empty() || user_key.empty() || prev_user_key[0] != user_key[0];
  }
  bool WantsFilter(const Slice& first_user_key) const override {
    if (first_user_key.empty()) return true;
    const char keyspace = first_user_key[0];
    return keyspace != keys::kSpatialPrefix && keyspace != keys::kPayloadPrefix;
  }
};

}  // namespace

// ---- SpatialStore ----------------------------------------------------------------------------

SpatialStore::SpatialStore(const SpatialOptions& options, std::unique_ptr<engine::DB> db)
    : options_(options),
      db_(std::move(db)),
      grid_(std::make_unique<Grid>(options)),
      stripes_(std::make_unique<Stripes>()) {}

SpatialStore::~SpatialStore() { Close(); }

Status SpatialStore::Open(const SpatialOptions& options, const std::string& path,
                          std::unique_ptr<SpatialStore>* store) {
  store->reset();
  Status s = ValidateOptions(options);
  if (!s.ok()) return s;
  engine::Options db_options = options.db;
  db_options.table_collector = std::make_shared<BlockBoundsFactory>(options.dimensions);
  if (db_options.table_partitioner == nullptr) {
    db_options.table_partitioner = std::make_shared<KeyspacePartitioner>();
  }
  std::unique_ptr<engine::DB> db;
  s = engine::DB::Open(db_options, path, &db);
  if (!s.ok()) return s;

  const std::string want = EncodeWorld(options);
  std::string have;
  s = db->Get(ReadOptions(), kWorldKey, &have);
  if (s.IsNotFound()) {
    engine::WriteOptions wo;
    wo.sync = true;
    s = db->Put(wo, kWorldKey, want);
  } else if (s.ok() && (have.empty() || static_cast<uint8_t>(have[0]) != kWorldRecordVersion)) {
    s = Status::InvalidArgument(
        path + ": the store has key layout version " +
            (have.empty() ? std::string("(none)") : std::to_string(static_cast<uint8_t>(have[0]))),
        "this build reads version " + std::to_string(kWorldRecordVersion));
  } else if (s.ok() && have != want) {
    s = Status::InvalidArgument(path + ": the store was created as " + DescribeWorld(have),
                                "options ask for " + DescribeWorld(want));
  }
  if (!s.ok()) {
    db->Close();
    return s;
  }
  store->reset(new SpatialStore(options, std::move(db)));
  return Status::OK();
}

Status SpatialStore::Close() {
  if (closed_) return Status::OK();
  closed_ = true;
  return db_->Close();
}

// ---- writes ------------------------------------------------------------------------------

Status SpatialStore::Apply(const SpatialBatch::Op& op, size_t index, WriteBatch* wb,
                           Pending* pending) {
  const uint64_t id = op.entity.id;
  auto where = [&](const char* what) {
    return std::string(what) + " of entity " + std::to_string(id) + " (operation " +
           std::to_string(index) + ")";
  };

  // The entity's current state: changed earlier in this batch, or as stored.
  EntityStates::Slot* state = pending->states.Find(id);
  if (state == nullptr) {
    state = pending->states.Insert(id);
    std::string value;
    Status s = db_->Get(ReadOptions(), keys::EntityKey(id).slice(), &value);
    if (s.ok()) {
      if (!keys::DecodeEntityValue(value, &state->rec)) {
        return Status::Corruption(where("malformed entity record"));
      }
      state->exists = true;
    } else if (s.IsNotFound()) {
      state->exists = false;
    } else {
      return s;
    }
  }
  keys::EntityRecord& rec = state->rec;

  if (op.type == SpatialBatch::Op::kRemove) {
    if (!state->exists) return Status::NotFound(where("Remove"), "no such entity");
    wb->Delete(keys::SpatialKey(rec.code, id).slice());
    wb->Delete(keys::EntityKey(id).slice());
    if (rec.has_payload) wb->Delete(keys::PayloadKey(id).slice());
    state->exists = false;
    return Status::OK();
  }

  Status s = grid_->CheckPosition(op.entity.position);
  if (!s.ok())
    return Status::InvalidArgument(where(op.type == SpatialBatch::Op::kPut ? "Put" : "Move"),
                                   s.message());
  if (op.type == SpatialBatch::Op::kMove && !state->exists) {
    return Status::NotFound(where("Move"), "no such entity");
  }

  const uint64_t code = grid_->Code(op.entity.position);
  if (state->exists && rec.code != code) wb->Delete(keys::SpatialKey(rec.code, id).slice());
  rec.version = state->exists ? rec.version + 1 : 1;
  rec.code = code;
  if (op.type == SpatialBatch::Op::kPut) {
    // A Put replaces the whole entity, payload included; a Move leaves the payload alone.
    rec.kind = op.entity.kind;
    const bool had_payload = state->exists && rec.has_payload;
    rec.has_payload = !op.entity.payload.empty();
    if (rec.has_payload) {
      wb->Put(keys::PayloadKey(id).slice(), op.entity.payload);
    } else if (had_payload) {
      wb->Delete(keys::PayloadKey(id).slice());
    }
  }
  state->exists = true;
  glm::vec3 p = op.entity.position;
  if (options_.dimensions == 2) p.z = 0.0f;

  char buf[keys::kMaxSmallValueSize];
  size_t n = keys::EncodeSpatialValue(buf, options_.dimensions, p, rec.kind, rec.version);
  wb->Put(keys::SpatialKey(code, id).slice(), Slice(buf, n));
  n = keys::EncodeEntityValue(buf, rec);
  wb->Put(keys::EntityKey(id).slice(), Slice(buf, n));
  return Status::OK();
}

Status SpatialStore::Write(const SpatialBatch& batch, const engine::WriteOptions& wo) {
  if (batch.ops_.empty()) return Status::OK();
  uint64_t mask = 0;
  for (const auto& op : batch.ops_) mask |= uint64_t{1} << Stripes::Of(op.entity.id);
  Stripes::Guard guard(stripes_.get(), mask);

  // The current state of every entity the batch touches: read in one scan for a large
  // batch, else by a point lookup per entity in Apply.
  Pending pending(batch.ops_.size());
  if (batch.ops_.size() >= kScanLookupThreshold) {
    std::vector<uint64_t> ids;
    ids.reserve(batch.ops_.size());
    for (const auto& op : batch.ops_) ids.push_back(op.entity.id);
    Status ls = LookupEntities(db_.get(), std::move(ids), &pending.states);
    if (!ls.ok()) return ls;
  }

  WriteBatch wb;
  for (size_t i = 0; i < batch.ops_.size(); i++) {
    Status s = Apply(batch.ops_[i], i, &wb, &pending);
    if (!s.ok()) return s;
  }
  return db_->Write(wo, wb);
}

Status SpatialStore::Put(const Entity& entity, const engine::WriteOptions& wo) {
  SpatialBatch b;
  b.Put(entity);
  return Write(b, wo);
}

Status SpatialStore::Move(uint64_t id, glm::vec3 position, const engine::WriteOptions& wo) {
  SpatialBatch b;
  b.Move(id, position);
  return Write(b, wo);
}

Status SpatialStore::Remove(uint64_t id, const engine::WriteOptions& wo) {
  SpatialBatch b;
  b.Remove(id);
  return Write(b, wo);
}

// ---- reads -------------------------------------------------------------------------------

Status SpatialStore::Get(uint64_t id, Entity* entity, const engine::Snapshot* snapshot) {
  ReadOptions ro;
  ro.snapshot = snapshot;
  const engine::Snapshot* own = nullptr;
  if (snapshot == nullptr) ro.snapshot = own = db_->GetSnapshot();  // all keys from one view
  const int d = options_.dimensions;
  std::string value;
  keys::EntityRecord rec;
  glm::vec3 position{0.0f};
  uint32_t kind = 0;
  uint64_t version = 0;
  std::string payload;
  Status s = db_->Get(ro, keys::EntityKey(id).slice(), &value);
  if (s.ok() && !keys::DecodeEntityValue(value, &rec)) {
    s = Status::Corruption("malformed entity record of entity " + std::to_string(id));
  }
  if (s.ok()) {
    s = db_->Get(ro, keys::SpatialKey(rec.code, id).slice(), &value);
    if (s.IsNotFound() || (s.ok() && !keys::DecodeSpatialTail(value, d, &kind, &version))) {
      s = Status::Corruption("spatial key of entity " + std::to_string(id) +
                             " is missing or malformed");
    }
  }
  if (s.ok()) {
    for (int a = 0; a < d; a++) position[a] = keys::GetLE<float>(value.data() + 4 * a);
    if (rec.has_payload) {
      s = db_->Get(ro, keys::PayloadKey(id).slice(), &payload);
      if (s.IsNotFound()) {
        s = Status::Corruption("payload of entity " + std::to_string(id) + " is missing");
      }
    }
  }
  if (own != nullptr) db_->ReleaseSnapshot(own);
  if (!s.ok()) return s;
  entity->id = id;
  entity->position = position;
  entity->kind = kind;
  entity->version = version;
  entity->payload = std::move(payload);
  return Status::OK();
}

Status SpatialStore::ScanBox(const glm::dvec3& min, const glm::dvec3& max, const QueryOptions& qo,
                             const engine::Snapshot* snapshot, const HitFilterArgs& extra,
                             std::vector<Hit>* hits) {
  queries_.fetch_add(1, std::memory_order_relaxed);
  CellBounds cells;
  if (!grid_->CellBox(min, max, &cells)) return Status::OK();
  const int dims = options_.dimensions;

  HitFilter f;
  f.dims = dims;
  f.min = min;
  f.max = max;
  f.sphere = extra.sphere;
  f.center = extra.center;
  f.r2 = extra.r2;
  f.kind = qo.kind;
  f.limit = qo.limit;

  uint64_t zmin, zmax;
  std::vector<ZRange> ranges;
  if (dims == 2) {
    Box2 b{{cells.min[0], cells.min[1]}, {cells.max[0], cells.max[1]}};
    zmin = b.ZMin();
    zmax = b.ZMax();
    if (qo.planner.value_or(options_.planner) == Planner::kRanges) {
      Decompose2D(b, options_.max_ranges, &ranges);
    }
  } else {
    Box3 b{{cells.min[0], cells.min[1], cells.min[2]}, {cells.max[0], cells.max[1], cells.max[2]}};
    zmin = b.ZMin();
    zmax = b.ZMax();
    if (qo.planner.value_or(options_.planner) == Planner::kRanges) {
      Decompose3D(b, options_.max_ranges, &ranges);
    }
  }
  const bool use_ranges = qo.planner.value_or(options_.planner) == Planner::kRanges;
  const uint64_t first = use_ranges && !ranges.empty() ? ranges.front().lo : zmin;
  const uint64_t last = use_ranges && !ranges.empty() ? ranges.back().hi : zmax;

  BoxVisitor visitor(f, zmin, zmax, use_ranges ? &ranges : nullptr, hits);
  engine::ScanOptions so;
  so.block_filter = [&cells](const Slice& summary) {
    CellBounds b;
    return !DecodeBlockBounds(summary, &b) || b.Intersects(cells);
  };
  ReadOptions ro;
  ro.snapshot = snapshot;
  Status s = db_->Scan(ro, keys::SpatialSeekKey(first), keys::SpatialLimitKey(last), so, &visitor);
  seeks_.fetch_add(visitor.seeks, std::memory_order_relaxed);
  examined_.fetch_add(visitor.examined, std::memory_order_relaxed);
  filtered_.fetch_add(visitor.filtered, std::memory_order_relaxed);
  hits_.fetch_add(visitor.hits, std::memory_order_relaxed);
  if (qo.stats != nullptr) {
    qo.stats->seeks += visitor.seeks;
    qo.stats->entries_examined += visitor.examined;
    qo.stats->entities_filtered += visitor.filtered;
    qo.stats->hits += visitor.hits;
  }
  if (s.ok()) s = visitor.status();
  return s;
}

Status SpatialStore::QueryBox(glm::dvec3 min, glm::dvec3 max, const QueryOptions& qo,
                              std::vector<Hit>* hits) {
  Status s = CheckBounds(min, max, options_.dimensions);
  if (!s.ok()) return s;
  return ScanBox(min, max, qo, qo.snapshot, HitFilterArgs{}, hits);
}

Status SpatialStore::QueryRadius(glm::dvec3 center, double r, const QueryOptions& qo,
                                 std::vector<Hit>* hits) {
  for (int a = 0; a < options_.dimensions; a++) {
    if (!std::isfinite(center[a])) return Status::InvalidArgument("radius centre is not finite");
  }
  if (!(r >= 0.0) || !std::isfinite(r)) {
    return Status::InvalidArgument("radius must be finite and >= 0");
  }
  glm::dvec3 min = center - r;
  glm::dvec3 max = center + r;
  // The box is half-open; the sphere includes its surface.
  for (int a = 0; a < 3; a++) max[a] = std::nextafter(max[a], HUGE_VAL);
  HitFilterArgs extra;
  extra.sphere = true;
  extra.center = center;
  extra.r2 = r * r;
  return ScanBox(min, max, qo, qo.snapshot, extra, hits);
}

Status SpatialStore::QueryNearest(glm::dvec3 center, size_t k, const QueryOptions& qo,
                                  std::vector<Hit>* hits) {
  const int dims = options_.dimensions;
  for (int a = 0; a < dims; a++) {
    if (!std::isfinite(center[a])) return Status::InvalidArgument("nearest centre is not finite");
  }
  if (k == 0) return Status::OK();

  // Expanding boxes around the centre, all read at one snapshot. A box of half-side h holds
  // every entity closer than h, so once the k-th nearest found is closer than h the answer
  // is exact; otherwise h doubles until the box covers the whole world.
  const engine::Snapshot* snap = qo.snapshot ? qo.snapshot : db_->GetSnapshot();
  QueryOptions inner = qo;
  inner.limit = 0;
  double cell = 0.0;
  for (int a = 0; a < dims; a++) cell = std::max(cell, 1.0 / grid_->scale[a]);
  double h = 4.0 * cell;
  std::vector<Hit> found;
  std::vector<std::pair<double, uint64_t>> order;  // (distance^2, index into found)
  Status s;
  while (true) {
    found.clear();
    s = ScanBox(center - h, center + h, inner, snap, HitFilterArgs{}, &found);
    if (!s.ok()) break;
    order.clear();
    for (size_t i = 0; i < found.size(); i++) {
      double d2 = 0.0;
      for (int a = 0; a < dims; a++) {
        const double d = static_cast<double>(found[i].position[a]) - center[a];
        d2 += d * d;
      }
      order.emplace_back(d2, i);
    }
    bool covers_world = true;
    for (int a = 0; a < dims; a++) {
      covers_world = covers_world && center[a] - h <= grid_->lo[a] && center[a] + h >= grid_->hi[a];
    }
    if (order.size() >= k) {
      std::nth_element(order.begin(), order.begin() + (k - 1), order.end());
      if (std::sqrt(order[k - 1].first) < h || covers_world) break;
    } else if (covers_world) {
      break;
    }
    h *= 2.0;
  }
  if (snap != qo.snapshot) db_->ReleaseSnapshot(snap);
  if (!s.ok()) return s;
  std::sort(order.begin(), order.end(), [&](const auto& x, const auto& y) {
    return x.first != y.first ? x.first < y.first : found[x.second].id < found[y.second].id;
  });
  const size_t n = std::min(k, order.size());
  for (size_t i = 0; i < n; i++) hits->push_back(found[order[i].second]);
  return Status::OK();
}

SpatialStats SpatialStore::GetStats() const {
  SpatialStats st;
  st.queries = queries_.load(std::memory_order_relaxed);
  st.seeks = seeks_.load(std::memory_order_relaxed);
  st.entries_examined = examined_.load(std::memory_order_relaxed);
  st.entities_filtered = filtered_.load(std::memory_order_relaxed);
  st.hits = hits_.load(std::memory_order_relaxed);
  engine::DBStats db = db_->GetStats();
  st.blocks_read = db.scan_blocks_read;
  st.blocks_skipped = db.scan_blocks_skipped;
  return st;
}

}  // namespace zworld::zorder
