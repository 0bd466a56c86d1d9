// BlockBounds: the TableCollector that stores, with every SSTable data block, the bounding
// box of the cells of the spatial keys in it, so that box queries skip blocks that cannot
// meet the box (engine ScanOptions::block_filter).
//
// Summary layout (zorder/ZORDER.md, "Block bounds"): u8 version (1), u8 dims, then for each
// axis u32 min, u32 max (little-endian), cell coordinates. dims == 0 means the block holds
// no spatial key. Deleted keys count too, so a box never hides a tombstone's cell.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "zworld/engine/extension.h"

namespace zworld::zorder {

class BlockBoundsFactory final : public engine::TableCollectorFactory {
 public:
  explicit BlockBoundsFactory(int dims) : dims_(dims) {}
  const char* Name() const override { return "zworld.block-bounds.v1"; }
  std::unique_ptr<engine::TableCollector> NewCollector() override;

 private:
  const int dims_;
};

// Cell bounds of one block (or of a query), inclusive.
struct CellBounds {
  int dims = 0;  // 0: empty
  std::array<uint32_t, 3> min{};
  std::array<uint32_t, 3> max{};

  bool Intersects(const CellBounds& o) const {
    if (dims == 0 || o.dims == 0) return false;
    for (int a = 0; a < dims; a++) {
      if (max[a] < o.min[a] || o.max[a] < min[a]) return false;
    }
    return true;
  }
};

// False if summary is not a block-bounds summary (then the block must be read).
bool DecodeBlockBounds(const engine::Slice& summary, CellBounds* out);

}  // namespace zworld::zorder
