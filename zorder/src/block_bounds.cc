#include "block_bounds.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "keys.h"
#include "zworld/zorder/morton.h"

namespace zworld::zorder {
namespace {

constexpr uint8_t kBoundsVersion = 1;

class BlockBoundsCollector final : public engine::TableCollector {
 public:
  explicit BlockBoundsCollector(int dims) : dims_(dims) {}

  void Add(const engine::Slice& user_key, const engine::Slice&, bool) override {
    if (user_key.size() != keys::kSpatialKeySize || user_key[0] != keys::kSpatialPrefix) return;
    const uint64_t code = keys::SpatialKeyCode(user_key.data());
    std::array<uint32_t, 3> c{};
    if (dims_ == 2) {
      Cell2 cell = Decode2D(code);
      c = {cell.x, cell.y, 0};
    } else {
      Cell3 cell = Decode3D(code);
      c = {cell.x, cell.y, cell.z};
    }
    Extend(&block_, c);
    Extend(&table_, c);
  }

  void FinishBlock(std::string* out) override {
    Encode(block_, out);
    block_ = CellBounds{};
  }
  void FinishTable(std::string* out) override { Encode(table_, out); }

 private:
  void Extend(CellBounds* b, const std::array<uint32_t, 3>& c) const {
    if (b->dims == 0) {
      b->dims = dims_;
      b->min = c;
      b->max = c;
      return;
    }
    for (int a = 0; a < dims_; a++) {
      b->min[a] = std::min(b->min[a], c[a]);
      b->max[a] = std::max(b->max[a], c[a]);
    }
  }

  static void Encode(const CellBounds& b, std::string* out) {
    out->push_back(static_cast<char>(kBoundsVersion));
    out->push_back(static_cast<char>(b.dims));
    for (int a = 0; a < b.dims; a++) {
      keys::PutLE(out, b.min[a]);
      keys::PutLE(out, b.max[a]);
    }
  }

  const int dims_;
  CellBounds block_;
  CellBounds table_;
};

}  // namespace

std::unique_ptr<engine::TableCollector> BlockBoundsFactory::NewCollector() {
  return std::make_unique<BlockBoundsCollector>(dims_);
}

bool DecodeBlockBounds(const engine::Slice& s, CellBounds* out) {
  if (s.size() < 2 || static_cast<uint8_t>(s[0]) != kBoundsVersion) return false;
  const int dims = static_cast<uint8_t>(s[1]);
  if ((dims != 0 && dims != 2 && dims != 3) || s.size() != 2 + 8u * dims) return false;
  out->dims = dims;
  for (int a = 0; a < dims; a++) {
    out->min[a] = keys::GetLE<uint32_t>(s.data() + 2 + 8 * a);
    out->max[a] = keys::GetLE<uint32_t>(s.data() + 6 + 8 * a);
  }
  return true;
}

}  // namespace zworld::zorder
