// BIGMIN/LITMAX and box decomposition for 2D and 3D Morton codes (see planner.h, ZORDER.md).
#include "zworld/zorder/planner.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <utility>

namespace zworld::zorder {

namespace {

using u128 = unsigned __int128;

// ---- per-dimension geometry ------------------------------------------------------------------

template <int D>
struct Grid;

template <>
struct Grid<2> {
  static constexpr std::array<uint64_t, 2> kAxisMask = {kAxisMask2DX, kAxisMask2DY};
  static constexpr int kBitsPerAxis = kBitsPerAxis2D;
  using Box = Box2;
  static uint64_t Encode(const std::array<uint64_t, 2>& c) {
    return Encode2D(static_cast<uint32_t>(c[0]), static_cast<uint32_t>(c[1]));
  }
  static std::array<uint64_t, 2> Min(const Box2& b) { return {b.min.x, b.min.y}; }
  static std::array<uint64_t, 2> Max(const Box2& b) { return {b.max.x, b.max.y}; }
};

template <>
struct Grid<3> {
  static constexpr std::array<uint64_t, 3> kAxisMask = {kAxisMask3DX, kAxisMask3DY, kAxisMask3DZ};
  static constexpr int kBitsPerAxis = kBitsPerAxis3D;
  using Box = Box3;
  static uint64_t Encode(const std::array<uint64_t, 3>& c) {
    return Encode3D(static_cast<uint32_t>(c[0]), static_cast<uint32_t>(c[1]),
                    static_cast<uint32_t>(c[2]));
  }
  static std::array<uint64_t, 3> Min(const Box3& b) { return {b.min.x, b.min.y, b.min.z}; }
  static std::array<uint64_t, 3> Max(const Box3& b) { return {b.max.x, b.max.y, b.max.z}; }
};

// ---- BIGMIN / LITMAX -------------------------------------------------------------------------
//
// Bit-parallel, in code space (ZORDER.md works an example). Write V, L, H for the bits of one
// axis of w, zmin and zmax (the code masked by that axis' mask): masked codes of one axis
// compare like that axis' coordinates, and "the prefix of V above bit p" is V >> (p + 1).
//
// Ceil(w), the smallest box code >= w, is w when w is in the box. Otherwise it shares a prefix
// with w down to some bit p where w has 0 and the answer has 1; below p the answer is the
// smallest completion inside the box, which per axis is max(prefix followed by zeros, L).
// The answer uses the lowest p (the longest shared prefix) for which such a completion exists:
//   - every axis' prefix above p must lie within the prefixes of L and H: that holds for all p
//     from the highest bit where V differs from an out-of-range L or H upwards (AllowedFrom);
//   - for the axis owning p, setting bit p must keep V's prefix within [L, H]: p must be at or
//     below the highest bit where V differs from a larger H, and at or above the highest bit
//     where V differs from a larger L.
// Floor(w) mirrors this with a bit where w has 1, max/min swapped and L/H swapped.

inline int HighestBit(uint64_t v) { return 63 - __builtin_clzll(v); }
// Bits h..63 and bits 0..h.
inline uint64_t BitsFrom(int h) { return ~((uint64_t{1} << h) - 1); }
inline uint64_t BitsUpTo(int h) { return (uint64_t{2} << h) - 1; }

template <int D>
constexpr uint64_t kCodeBits = D == 2 ? ~uint64_t{0} : kMaxCode3D;

template <int D>
bool InBox(uint64_t code, uint64_t zmin, uint64_t zmax) {
  for (int a = 0; a < D; ++a) {
    const uint64_t m = Grid<D>::kAxisMask[a], v = code & m;
    if (v < (zmin & m) || v > (zmax & m)) return false;
  }
  return true;
}

// Bits p at or above which V's prefix above p lies within the prefixes of L and H.
inline uint64_t AllowedFrom(uint64_t v, uint64_t l, uint64_t h) {
  uint64_t allowed = ~uint64_t{0};
  if (v < l) allowed &= BitsFrom(HighestBit(v ^ l));
  if (v > h) allowed &= BitsFrom(HighestBit(v ^ h));
  return allowed;
}

// Smallest code >= w in the box; w must be a code of the grid.
template <int D>
bool Ceil(uint64_t w, uint64_t zmin, uint64_t zmax, uint64_t* out) {
  if (InBox<D>(w, zmin, zmax)) {
    *out = w;
    return true;
  }
  uint64_t allowed = ~uint64_t{0}, raise = 0;
  for (int a = 0; a < D; ++a) {
    const uint64_t m = Grid<D>::kAxisMask[a];
    const uint64_t v = w & m, l = zmin & m, h = zmax & m;
    allowed &= AllowedFrom(v, l, h);
    if (v < h) {  // bits of this axis where w has 0 and setting it stays within [l, h]
      uint64_t r = m & ~w & BitsUpTo(HighestBit(v ^ h));
      if (v < l) r &= BitsFrom(HighestBit(v ^ l));
      raise |= r;
    }
  }
  const uint64_t ok = allowed & raise;
  if (ok == 0) return false;
  const uint64_t bit = ok & (~ok + 1);  // the lowest usable bit p
  const uint64_t prefix = (w & ~(bit - 1)) | bit;
  uint64_t result = 0;
  for (int a = 0; a < D; ++a) {
    const uint64_t m = Grid<D>::kAxisMask[a];
    result |= std::max(prefix & m, zmin & m);
  }
  *out = result;
  return true;
}

// Largest code <= w in the box; w must be a code of the grid.
template <int D>
bool Floor(uint64_t w, uint64_t zmin, uint64_t zmax, uint64_t* out) {
  if (InBox<D>(w, zmin, zmax)) {
    *out = w;
    return true;
  }
  uint64_t allowed = ~uint64_t{0}, lower = 0;
  for (int a = 0; a < D; ++a) {
    const uint64_t m = Grid<D>::kAxisMask[a];
    const uint64_t v = w & m, l = zmin & m, h = zmax & m;
    allowed &= AllowedFrom(v, l, h);
    if (v > l) {  // bits of this axis where w has 1 and clearing it stays within [l, h]
      uint64_t r = m & w & BitsUpTo(HighestBit(v ^ l));
      if (v > h) r &= BitsFrom(HighestBit(v ^ h));
      lower |= r;
    }
  }
  const uint64_t ok = allowed & lower;
  if (ok == 0) return false;
  const uint64_t bit = ok & (~ok + 1);
  const uint64_t prefix = (w & ~bit) | (bit - 1);
  uint64_t result = 0;
  for (int a = 0; a < D; ++a) {
    const uint64_t m = Grid<D>::kAxisMask[a];
    result |= std::min(prefix & m, zmax & m);
  }
  *out = result;
  return true;
}

template <int D>
bool Bigmin(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* out) {
  if (z >= kCodeBits<D>) return false;  // no grid code above z
  return Ceil<D>(z + 1, zmin, zmax, out);
}

template <int D>
bool Litmax(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* out) {
  if (z == 0) return false;
  return Floor<D>(std::min(z - 1, kCodeBits<D>), zmin, zmax, out);
}

// ---- decomposition ---------------------------------------------------------------------------

// A piece of the plan: the part of the box inside one aligned block of side 2^level, as the
// tightest code range holding it. `contained` when every code of [lo, hi] is in the box.
template <int D>
struct Piece {
  std::array<uint64_t, D> corner;  // the block's min corner cell
  uint64_t block;                  // its code (the low D*level bits are 0)
  uint64_t lo;
  uint64_t hi;
  u128 waste;  // codes in [lo, hi] outside the box
  int level;
  bool contained;
};

// Buffers reused by every decomposition on one thread, so a plan allocates nothing once the
// thread has planned a box of similar complexity.
template <int D>
struct Scratch {
  std::vector<Piece<D>> pieces;  // the current plan, in code order
  std::vector<Piece<D>> next;    // pieces with partial pieces split one level down
  std::vector<Piece<D>> result;
  std::vector<std::pair<size_t, size_t>> split;  // pieces[k] became next[first, second)
  std::vector<size_t> order;
  std::vector<char> taken;
};

template <int D>
class Decomposer {
 public:
  using Box = typename Grid<D>::Box;
  using Coords = std::array<uint64_t, D>;

  Decomposer(const Box& box, size_t max_ranges, Scratch<D>* scratch)
      : min_(Grid<D>::Min(box)),
        max_(Grid<D>::Max(box)),
        budget_(std::max<size_t>(max_ranges, 1)),
        pieces_(scratch->pieces),
        next_(scratch->next),
        result_(scratch->result),
        split_(scratch->split),
        order_(scratch->order),
        taken_(scratch->taken) {}

  void Run(std::vector<ZRange>* ranges) {
    ranges->clear();
    const uint64_t zmin = Grid<D>::Encode(min_), zmax = Grid<D>::Encode(max_);
    // Root: the smallest aligned block holding both corners.
    int level = 0;
    if (zmin != zmax) level = (63 - __builtin_clzll(zmin ^ zmax)) / D + 1;
    uint64_t root = 0;
    Coords corner{};
    if (level < Grid<D>::kBitsPerAxis) {
      root = zmin & ~((uint64_t{1} << (D * level)) - 1);
      for (int a = 0; a < D; ++a) corner[a] = min_[a] & ~((uint64_t{1} << level) - 1);
    }
    pieces_.clear();
    [[maybe_unused]] const bool hit = Classify(root, corner, level, &pieces_);
    assert(hit);

    while (Refine()) {
    }
    Emit(ranges);
  }

 private:
  // Appends to *out the piece of the box inside the block at `corner` (code `block`) of side
  // 2^level; returns false (appending nothing) when the block and the box do not meet.
  bool Classify(uint64_t block, const Coords& corner, int level, std::vector<Piece<D>>* out) const {
    const uint64_t side_minus_1 = (uint64_t{1} << level) - 1;
    Coords lo, hi;
    bool inside = true;
    for (int a = 0; a < D; ++a) {
      const uint64_t end = corner[a] + side_minus_1;
      if (end < min_[a] || corner[a] > max_[a]) return false;
      lo[a] = std::max(corner[a], min_[a]);
      hi[a] = std::min(end, max_[a]);
      inside = inside && lo[a] == corner[a] && hi[a] == end;
    }
    Piece<D>& p = out->emplace_back();
    p.corner = corner;
    p.block = block;
    p.level = level;
    if (inside) {
      p.lo = block;
      p.hi = D * level == 64 ? ~uint64_t{0} : block + ((uint64_t{1} << (D * level)) - 1);
      p.waste = 0;
      p.contained = true;
      return true;
    }
    u128 cells = 1;
    for (int a = 0; a < D; ++a) cells *= hi[a] - lo[a] + 1;
    p.lo = Grid<D>::Encode(lo);
    p.hi = Grid<D>::Encode(hi);
    p.waste = static_cast<u128>(p.hi - p.lo) + 1 - cells;
    // A block cut by the box may still hold its part of the box as one run of codes.
    p.contained = p.waste == 0;
    return true;
  }

  // Appends the pieces of the children of partial piece p (in code order).
  void Split(const Piece<D>& p, std::vector<Piece<D>>* out) const {
    const int child_level = p.level - 1;
    const int shift = D * child_level;
    const uint64_t half = uint64_t{1} << child_level;
    for (uint64_t c = 0; c < (uint64_t{1} << D); ++c) {
      Coords corner = p.corner;
      for (int a = 0; a < D; ++a) corner[a] += ((c >> a) & 1) * half;
      Classify(p.block | (c << shift), corner, child_level, out);
    }
  }

  static bool Joins(const Piece<D>& a, const Piece<D>& b) {
    return a.contained == b.contained && a.hi + 1 == b.lo;
  }

  // Number of output ranges the pieces [begin, end) make once same-flag neighbours merge.
  static size_t RangeCount(const Piece<D>* begin, const Piece<D>* end) {
    if (begin == end) return 0;
    size_t n = 1;
    for (const Piece<D>* p = begin + 1; p != end; ++p) n += Joins(p[-1], *p) ? 0 : 1;
    return n;
  }

  // Splits partial pieces one level down within the budget. Returns true when every partial
  // piece was split (another level may follow), false when done.
  bool Refine() {
    next_.clear();
    split_.clear();
    bool any_partial = false;
    for (const Piece<D>& p : pieces_) {
      const size_t first = next_.size();
      if (p.contained) {
        next_.push_back(p);
      } else {
        any_partial = true;
        Split(p, &next_);
      }
      split_.emplace_back(first, next_.size());
    }
    if (!any_partial) return false;
    if (RangeCount(next_.data(), next_.data() + next_.size()) <= budget_) {
      // Contained pieces are final: merging neighbours keeps pieces_ short.
      pieces_.clear();
      for (const Piece<D>& p : next_) {
        if (p.contained && !pieces_.empty() && pieces_.back().contained &&
            pieces_.back().hi + 1 == p.lo) {
          pieces_.back().hi = p.hi;
        } else {
          pieces_.push_back(p);
        }
      }
      return true;
    }
    RefineWithinBudget();
    return false;
  }

  // The whole level does not fit: split partial pieces, most waste first, while each split
  // keeps the range count within the budget. split_[k] locates piece k's children in next_
  // (never empty: a partial piece meets the box, so at least one child does).
  void RefineWithinBudget() {
    order_.clear();
    for (size_t k = 0; k < pieces_.size(); ++k) {
      if (!pieces_[k].contained) order_.push_back(k);
    }
    std::stable_sort(order_.begin(), order_.end(),
                     [this](size_t a, size_t b) { return pieces_[a].waste > pieces_[b].waste; });
    taken_.assign(pieces_.size(), 0);
    // The pieces that currently end / start slot k.
    auto last_of = [&](size_t k) -> const Piece<D>& {
      return taken_[k] ? next_[split_[k].second - 1] : pieces_[k];
    };
    auto first_of = [&](size_t k) -> const Piece<D>& {
      return taken_[k] ? next_[split_[k].first] : pieces_[k];
    };
    long count = static_cast<long>(RangeCount(pieces_.data(), pieces_.data() + pieces_.size()));
    for (size_t k : order_) {
      const Piece<D>* kids = next_.data() + split_[k].first;
      const Piece<D>* kids_end = next_.data() + split_[k].second;
      const Piece<D>& p = pieces_[k];
      long delta = static_cast<long>(RangeCount(kids, kids_end)) - 1;
      if (k > 0) {
        delta += (Joins(last_of(k - 1), p) ? 1 : 0) - (Joins(last_of(k - 1), *kids) ? 1 : 0);
      }
      if (k + 1 < pieces_.size()) {
        delta +=
            (Joins(p, first_of(k + 1)) ? 1 : 0) - (Joins(kids_end[-1], first_of(k + 1)) ? 1 : 0);
      }
      if (count + delta > static_cast<long>(budget_)) continue;
      count += delta;
      taken_[k] = 1;
    }
    result_.clear();
    for (size_t k = 0; k < pieces_.size(); ++k) {
      if (taken_[k]) {
        result_.insert(result_.end(), next_.begin() + split_[k].first,
                       next_.begin() + split_[k].second);
      } else {
        result_.push_back(pieces_[k]);
      }
    }
    pieces_.swap(result_);
  }

  void Emit(std::vector<ZRange>* ranges) const {
    for (const Piece<D>& p : pieces_) {
      if (!ranges->empty() && ranges->back().fully_contained == p.contained &&
          ranges->back().hi + 1 == p.lo) {
        ranges->back().hi = p.hi;
      } else {
        ranges->push_back(ZRange{p.lo, p.hi, p.contained});
      }
    }
  }

  const Coords min_, max_;
  const size_t budget_;
  std::vector<Piece<D>>& pieces_;
  std::vector<Piece<D>>& next_;
  std::vector<Piece<D>>& result_;
  std::vector<std::pair<size_t, size_t>>& split_;
  std::vector<size_t>& order_;
  std::vector<char>& taken_;
};

template <int D>
Scratch<D>* ThreadScratch() {
  thread_local Scratch<D> scratch;
  return &scratch;
}

}  // namespace

bool Bigmin2D(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* bigmin) {
  return Bigmin<2>(z, zmin, zmax, bigmin);
}
bool Bigmin3D(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* bigmin) {
  return Bigmin<3>(z, zmin, zmax, bigmin);
}
bool Litmax2D(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* litmax) {
  return Litmax<2>(z, zmin, zmax, litmax);
}
bool Litmax3D(uint64_t z, uint64_t zmin, uint64_t zmax, uint64_t* litmax) {
  return Litmax<3>(z, zmin, zmax, litmax);
}

void Decompose2D(const Box2& box, size_t max_ranges, std::vector<ZRange>* ranges) {
  if (!box.Valid()) {
    ranges->clear();
    return;
  }
  Decomposer<2>(box, max_ranges, ThreadScratch<2>()).Run(ranges);
}

void Decompose3D(const Box3& box, size_t max_ranges, std::vector<ZRange>* ranges) {
  if (!box.Valid()) {
    ranges->clear();
    return;
  }
  Decomposer<3>(box, max_ranges, ThreadScratch<3>()).Run(ranges);
}

}  // namespace zworld::zorder
