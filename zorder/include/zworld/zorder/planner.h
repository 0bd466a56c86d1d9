// Planning z-curve scans for an axis-aligned box of cells. See zorder/ZORDER.md for worked
// examples.
//
// Two planners, for two ways of reading a sorted run of Morton-keyed entries:
//   - BIGMIN/LITMAX skipping (Tropf & Herzog, 1981): scan the interval [zmin, zmax] of the box;
//     whenever the scan meets a code outside the box, Bigmin gives the next code inside the box
//     to seek to (Litmax does the same for a backward scan). Computed with a few word
//     operations per axis, no loop over the code bits.
//   - Decomposition: split the box up front into at most `max_ranges` code ranges, each read
//     with one seek. A range flagged fully_contained holds only cells of the box, so its
//     entries need no per-entity filter; any other range is a superset that must be filtered.
//
// The box is given by its inclusive corner cells. In code space a box is the pair
// (zmin, zmax) = (code of min corner, code of max corner); the code-space functions below
// require that pair to come from a box whose min corner is <= its max corner on every axis
// (Box2::Valid / Box3::Valid); their results are unspecified otherwise.
// Thread safety: every function here may run concurrently with any other (Decompose* keeps
// its scratch buffers per thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "zworld/zorder/morton.h"

namespace zworld::zorder {

// The cells c with min.x <= c.x <= max.x and min.y <= c.y <= max.y (bounds inclusive).
struct Box2 {
  Cell2 min;
  Cell2 max;

  // True when min <= max on both axes (any such box is non-empty).
  constexpr bool Valid() const { return min.x <= max.x && min.y <= max.y; }
  constexpr bool Contains(const Cell2& c) const {
    return min.x <= c.x && c.x <= max.x && min.y <= c.y && c.y <= max.y;
  }
  // Smallest and largest code of any cell of a valid box.
  uint64_t ZMin() const { return Encode2D(min); }
  uint64_t ZMax() const { return Encode2D(max); }
  friend bool operator==(const Box2&, const Box2&) = default;
};

// The 3D analogue of Box2. Coordinates must be <= kMaxCoord3D.
struct Box3 {
  Cell3 min;
  Cell3 max;

  // True when min <= max on every axis and max is on the 21-bit grid.
  constexpr bool Valid() const {
    return min.x <= max.x && min.y <= max.y && min.z <= max.z && max.x <= kMaxCoord3D &&
           max.y <= kMaxCoord3D && max.z <= kMaxCoord3D;
  }
  constexpr bool Contains(const Cell3& c) const {
    return min.x <= c.x && c.x <= max.x && min.y <= c.y && c.y <= max.y && min.z <= c.z &&
           c.z <= max.z;
  }
  uint64_t ZMin() const { return Encode3D(min); }
  uint64_t ZMax() const { return Encode3D(max); }
  friend bool operator==(const Box3&, const Box3&) = default;
};

// An inclusive interval [lo, hi] of Morton codes.
struct ZRange {
  uint64_t lo = 0;
  uint64_t hi = 0;
  // True when every code in [lo, hi] is a cell of the box: entries found there need no
  // exact-position filter (beyond what the cell grid's quantisation implies).
  bool fully_contained = false;
  friend bool operator==(const ZRange&, const ZRange&) = default;
};

// ---- code-space tests and BIGMIN/LITMAX ------------------------------------------------------

// True when the cell with code `code` lies in the box (zmin, zmax). No decoding: each axis'
// bits are compared under its mask.
constexpr bool CodeInBox2D(uint64_t code, uint64_t zmin, uint64_t zmax) {
  const uint64_t cx = code & kAxisMask2DX, cy = code & kAxisMask2DY;
  return (zmin & kAxisMask2DX) <= cx && cx <= (zmax & kAxisMask2DX) &&
         (zmin & kAxisMask2DY) <= cy && cy <= (zmax & kAxisMask2DY);
}
constexpr bool CodeInBox3D(uint64_t code, uint64_t zmin, uint64_t zmax) {
  const uint64_t cx = code & kAxisMask3DX, cy = code & kAxisMask3DY, cz = code & kAxisMask3DZ;
  return (zmin & kAxisMask3DX) <= cx && cx <= (zmax & kAxisMask3DX) &&
         (zmin & kAxisMask3DY) <= cy && cy <= (zmax & kAxisMask3DY) &&
         (zmin & kAxisMask3DZ) <= cz && cz <= (zmax & kAxisMask3DZ);
}

// BIGMIN: stores in *bigmin the smallest code > z of a cell in the box (zmin, zmax) and
// returns true; returns false (leaving *bigmin alone) when no cell of the box has a code > z.
// z may be any u64, inside the box or not, below zmin or above zmax.
bool Bigmin2D(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* bigmin);
bool Bigmin3D(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* bigmin);

// LITMAX: stores in *litmax the largest code < z of a cell in the box and returns true;
// returns false (leaving *litmax alone) when no cell of the box has a code < z.
bool Litmax2D(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* litmax);
bool Litmax3D(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* litmax);

// The same for a box of cells (which must be Valid()).
inline bool Bigmin2D(uint64_t z, const Box2& box, uint64_t* bigmin) {
  return Bigmin2D(z, box.ZMin(), box.ZMax(), bigmin);
}
inline bool Litmax2D(uint64_t z, const Box2& box, uint64_t* litmax) {
  return Litmax2D(z, box.ZMin(), box.ZMax(), litmax);
}
inline bool Bigmin3D(uint64_t z, const Box3& box, uint64_t* bigmin) {
  return Bigmin3D(z, box.ZMin(), box.ZMax(), bigmin);
}
inline bool Litmax3D(uint64_t z, const Box3& box, uint64_t* litmax) {
  return Litmax3D(z, box.ZMin(), box.ZMax(), litmax);
}

// ---- decomposition ---------------------------------------------------------------------------

// Replaces *ranges with at most max(max_ranges, 1) ranges that together cover every cell of
// `box`, found by a quadtree (octree) descent from the smallest aligned block holding the box:
// blocks inside the box become fully_contained ranges; blocks that straddle its edge are split
// further while the budget allows, and the ones left unsplit are emitted as the tightest code
// range holding their part of the box (not fully_contained). Blocks are split level by level;
// when a whole level no longer fits the budget, the straddling blocks with the most codes
// outside the box are split first.
//
// The result is sorted by lo and its ranges are disjoint. Every range begins and ends on a
// cell of the box, so the first lo is the box's zmin and the last hi its zmax. Two ranges with the
// same fully_contained flag are never adjacent (r.hi + 1 == next.lo): they are merged. Adjacent
// ranges with different flags are both kept, so a reader may continue from one into the next
// without a seek. With max_ranges large enough the result is exact: every range is
// fully_contained and the union is exactly the box.
//
// An invalid box (see Valid()) yields an empty *ranges. Cost: roughly O(max_ranges * 2^dim *
// levels) block-box tests (a few microseconds for 64 ranges, ZORDER.md section 6). Scratch
// buffers are kept per thread and reused, so repeated calls do not allocate beyond *ranges.
void Decompose2D(const Box2& box, size_t max_ranges, std::vector<ZRange>* ranges);
void Decompose3D(const Box3& box, size_t max_ranges, std::vector<ZRange>* ranges);

}  // namespace zworld::zorder
