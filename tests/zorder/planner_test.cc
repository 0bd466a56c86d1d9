// BIGMIN/LITMAX and box decomposition against brute force (small grids) and against a
// quadtree-search reference (the full grids).
#include "zworld/zorder/planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <random>
#include <vector>

namespace zworld::zorder {

void PrintTo(const ZRange& r, std::ostream* os) {
  *os << "[" << r.lo << ", " << r.hi << (r.fully_contained ? "] contained" : "] partial");
}

namespace {

constexpr uint64_t kNone = ~uint64_t{0};  // "no answer" in the brute-force tables

// ---- dimension-generic helpers -------------------------------------------------------------

template <int D>
struct Dim;

template <>
struct Dim<2> {
  using Box = Box2;
  using Coords = std::array<uint64_t, 2>;
  static constexpr int kBits = 32;
  static uint64_t Encode(const Coords& c) {
    return Encode2D(static_cast<uint32_t>(c[0]), static_cast<uint32_t>(c[1]));
  }
  static Coords Decode(uint64_t code) {
    const Cell2 c = Decode2D(code);
    return {c.x, c.y};
  }
  static Box MakeBox(const Coords& lo, const Coords& hi) {
    return Box2{{static_cast<uint32_t>(lo[0]), static_cast<uint32_t>(lo[1])},
                {static_cast<uint32_t>(hi[0]), static_cast<uint32_t>(hi[1])}};
  }
  static Coords Lo(const Box& b) { return {b.min.x, b.min.y}; }
  static Coords Hi(const Box& b) { return {b.max.x, b.max.y}; }
  static bool Bigmin(uint64_t z, const Box& b, uint64_t* out) { return Bigmin2D(z, b, out); }
  static bool Litmax(uint64_t z, const Box& b, uint64_t* out) { return Litmax2D(z, b, out); }
  static bool InBox(uint64_t z, const Box& b) { return CodeInBox2D(z, b.ZMin(), b.ZMax()); }
  static void Decompose(const Box& b, size_t n, std::vector<ZRange>* r) { Decompose2D(b, n, r); }
};

template <>
struct Dim<3> {
  using Box = Box3;
  using Coords = std::array<uint64_t, 3>;
  static constexpr int kBits = 21;
  static uint64_t Encode(const Coords& c) {
    return Encode3D(static_cast<uint32_t>(c[0]), static_cast<uint32_t>(c[1]),
                    static_cast<uint32_t>(c[2]));
  }
  static Coords Decode(uint64_t code) {
    const Cell3 c = Decode3D(code);
    return {c.x, c.y, c.z};
  }
  static Box MakeBox(const Coords& lo, const Coords& hi) {
    return Box3{
        {static_cast<uint32_t>(lo[0]), static_cast<uint32_t>(lo[1]), static_cast<uint32_t>(lo[2])},
        {static_cast<uint32_t>(hi[0]), static_cast<uint32_t>(hi[1]), static_cast<uint32_t>(hi[2])}};
  }
  static Coords Lo(const Box& b) { return {b.min.x, b.min.y, b.min.z}; }
  static Coords Hi(const Box& b) { return {b.max.x, b.max.y, b.max.z}; }
  static bool Bigmin(uint64_t z, const Box& b, uint64_t* out) { return Bigmin3D(z, b, out); }
  static bool Litmax(uint64_t z, const Box& b, uint64_t* out) { return Litmax3D(z, b, out); }
  static bool InBox(uint64_t z, const Box& b) { return CodeInBox3D(z, b.ZMin(), b.ZMax()); }
  static void Decompose(const Box& b, size_t n, std::vector<ZRange>* r) { Decompose3D(b, n, r); }
};

template <int D>
bool CellInBox(const typename Dim<D>::Coords& c, const typename Dim<D>::Box& box) {
  const auto lo = Dim<D>::Lo(box), hi = Dim<D>::Hi(box);
  for (int a = 0; a < D; ++a) {
    if (c[a] < lo[a] || c[a] > hi[a]) return false;
  }
  return true;
}

// Code in box, by decoding (independent of CodeInBox*). Codes past the grid are outside.
template <int D>
bool CodeInBoxRef(uint64_t code, const typename Dim<D>::Box& box) {
  if (D == 3 && (code >> 63) != 0) return false;
  return CellInBox<D>(Dim<D>::Decode(code), box);
}

// Reference search: smallest code >= z of a box cell, by walking the quadtree (octree) from the
// whole grid, children in code order. Obviously correct, and fast enough for any box.
template <int D>
std::optional<uint64_t> RefCeil(uint64_t z, const typename Dim<D>::Box& box, uint64_t block,
                                int level) {
  const int bits = D * level;
  const uint64_t last = bits == 64 ? kNone : block + ((uint64_t{1} << bits) - 1);
  if (last < z) return std::nullopt;
  const auto corner = Dim<D>::Decode(block);
  const auto lo = Dim<D>::Lo(box), hi = Dim<D>::Hi(box);
  bool inside = true;
  for (int a = 0; a < D; ++a) {
    const uint64_t end = corner[a] + (uint64_t{1} << level) - 1;
    if (end < lo[a] || corner[a] > hi[a]) return std::nullopt;
    inside = inside && corner[a] >= lo[a] && end <= hi[a];
  }
  if (inside) return std::max(block, z);
  for (uint64_t c = 0; c < (uint64_t{1} << D); ++c) {
    auto r = RefCeil<D>(z, box, block | (c << (D * (level - 1))), level - 1);
    if (r) return r;
  }
  return std::nullopt;
}

// Largest code <= z of a box cell.
template <int D>
std::optional<uint64_t> RefFloor(uint64_t z, const typename Dim<D>::Box& box, uint64_t block,
                                 int level) {
  if (block > z) return std::nullopt;
  const auto corner = Dim<D>::Decode(block);
  const auto lo = Dim<D>::Lo(box), hi = Dim<D>::Hi(box);
  bool inside = true;
  for (int a = 0; a < D; ++a) {
    const uint64_t end = corner[a] + (uint64_t{1} << level) - 1;
    if (end < lo[a] || corner[a] > hi[a]) return std::nullopt;
    inside = inside && corner[a] >= lo[a] && end <= hi[a];
  }
  if (inside) {
    const int bits = D * level;
    const uint64_t last = bits == 64 ? kNone : block + ((uint64_t{1} << bits) - 1);
    return std::min(last, z);
  }
  for (int c = (1 << D) - 1; c >= 0; --c) {
    auto r =
        RefFloor<D>(z, box, block | (static_cast<uint64_t>(c) << (D * (level - 1))), level - 1);
    if (r) return r;
  }
  return std::nullopt;
}

template <int D>
std::optional<uint64_t> RefBigmin(uint64_t z, const typename Dim<D>::Box& box) {
  if (z == kNone) return std::nullopt;
  return RefCeil<D>(z + 1, box, 0, Dim<D>::kBits);
}

template <int D>
std::optional<uint64_t> RefLitmax(uint64_t z, const typename Dim<D>::Box& box) {
  if (z == 0) return std::nullopt;
  return RefFloor<D>(z - 1, box, 0, Dim<D>::kBits);
}

template <int D>
std::optional<uint64_t> GetBigmin(uint64_t z, const typename Dim<D>::Box& box) {
  uint64_t out = 12345;
  if (Dim<D>::Bigmin(z, box, &out)) return out;
  EXPECT_EQ(out, 12345u) << "Bigmin changed *bigmin although it found nothing";
  return std::nullopt;
}

template <int D>
std::optional<uint64_t> GetLitmax(uint64_t z, const typename Dim<D>::Box& box) {
  uint64_t out = 12345;
  if (Dim<D>::Litmax(z, box, &out)) return out;
  EXPECT_EQ(out, 12345u) << "Litmax changed *litmax although it found nothing";
  return std::nullopt;
}

// Random box whose corners are anywhere on the grid, sides of every scale.
template <int D>
typename Dim<D>::Box RandomBox(std::mt19937_64& rng, uint64_t grid_side) {
  typename Dim<D>::Coords lo, hi;
  for (int a = 0; a < D; ++a) {
    const uint64_t side = std::max<uint64_t>(1, (rng() % grid_side) >> (rng() % 40));
    lo[a] = rng() % grid_side;
    if (rng() % 8 == 0) lo[a] = rng() % 2 ? 0 : grid_side - side;  // touch an edge
    lo[a] = std::min(lo[a], grid_side - side);
    hi[a] = lo[a] + side - 1;
  }
  return Dim<D>::MakeBox(lo, hi);
}

// ---- BIGMIN / LITMAX: brute force inside one aligned block of 4096 codes ---------------------

// Checks Bigmin/Litmax for every z of the aligned block of 4096 codes at `corner` (side 64 in
// 2D, 16 in 3D), for the box `local` shifted by `corner`, plus z values outside the block.
template <int D>
void CheckBigminLitmaxInBlock(const typename Dim<D>::Coords& corner,
                              const typename Dim<D>::Box& local) {
  typename Dim<D>::Coords lo = Dim<D>::Lo(local), hi = Dim<D>::Hi(local);
  for (int a = 0; a < D; ++a) {
    lo[a] += corner[a];
    hi[a] += corner[a];
  }
  const auto box = Dim<D>::MakeBox(lo, hi);
  const uint64_t base = Dim<D>::Encode(corner);
  ASSERT_EQ(base % 4096, 0u);
  std::vector<bool> in(4096);
  for (uint64_t i = 0; i < 4096; ++i) {
    in[i] = CellInBox<D>(Dim<D>::Decode(base + i), box);
    ASSERT_EQ(Dim<D>::InBox(base + i, box), in[i]) << base + i;
  }
  std::vector<uint64_t> next(4096, kNone), prev(4096, kNone);
  for (int i = 4094; i >= 0; --i) next[i] = in[i + 1] ? base + i + 1 : next[i + 1];
  for (int i = 1; i < 4096; ++i) prev[i] = in[i - 1] ? base + i - 1 : prev[i - 1];
  for (uint64_t i = 0; i < 4096; ++i) {
    const uint64_t z = base + i;
    const auto b = GetBigmin<D>(z, box);
    ASSERT_EQ(b.value_or(kNone), next[i]) << "Bigmin z=" << z;
    const auto l = GetLitmax<D>(z, box);
    ASSERT_EQ(l.value_or(kNone), prev[i]) << "Litmax z=" << z;
  }
  // Outside the block: everything of the box is above (below) z.
  if (base > 0) {
    EXPECT_EQ(GetBigmin<D>(base - 1, box), box.ZMin());
    EXPECT_EQ(GetBigmin<D>(0, box), box.ZMin());
    EXPECT_EQ(GetLitmax<D>(base - 1, box), std::nullopt);
  }
  EXPECT_EQ(GetBigmin<D>(base + 4095, box), std::nullopt);
  EXPECT_EQ(GetBigmin<D>(kNone, box), std::nullopt);
  EXPECT_EQ(GetLitmax<D>(0, box), std::nullopt);
  if (base + 4095 < kNone) {
    EXPECT_EQ(GetLitmax<D>(base + 4096, box), box.ZMax());
    EXPECT_EQ(GetLitmax<D>(kNone, box), box.ZMax());
  }
}

template <int D>
void BigminLitmaxBruteForce(uint64_t top) {  // top: the largest aligned block corner coordinate
  constexpr uint64_t kSide = D == 2 ? 64 : 16;
  std::mt19937_64 rng(D * 1000 + 7);
  std::vector<typename Dim<D>::Coords> corners;
  typename Dim<D>::Coords zero{}, high, mixed;
  for (int a = 0; a < D; ++a) {
    high[a] = top;
    mixed[a] = a % 2 ? top : 0;
  }
  corners = {zero, high, mixed};
  for (const auto& corner : corners) {
    // Degenerate boxes: one cell, the whole block, one row.
    typename Dim<D>::Coords lo{}, hi;
    hi.fill(kSide - 1);
    CheckBigminLitmaxInBlock<D>(corner, Dim<D>::MakeBox(lo, lo));
    CheckBigminLitmaxInBlock<D>(corner, Dim<D>::MakeBox(hi, hi));
    CheckBigminLitmaxInBlock<D>(corner, Dim<D>::MakeBox(lo, hi));
    auto row = hi;
    row[1] = 0;
    CheckBigminLitmaxInBlock<D>(corner, Dim<D>::MakeBox(lo, row));
    for (int rep = 0; rep < 150; ++rep) {
      CheckBigminLitmaxInBlock<D>(corner, RandomBox<D>(rng, kSide));
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

// Every box of a small grid (8x8, 4x4x4), every z of the grid and just past it.
template <int D>
void BigminLitmaxEveryBox() {
  constexpr uint64_t kSide = D == 2 ? 8 : 4;
  constexpr uint64_t kCodes = 64;
  typename Dim<D>::Coords lo{}, hi{};
  // Enumerate lo <= hi on every axis with an odometer over 2*D digits.
  std::array<uint64_t, 2 * D> digit{};
  for (;;) {
    bool valid = true;
    for (int a = 0; a < D; ++a) {
      lo[a] = digit[2 * a];
      hi[a] = digit[2 * a + 1];
      valid = valid && lo[a] <= hi[a];
    }
    if (valid) {
      const auto box = Dim<D>::MakeBox(lo, hi);
      std::vector<bool> in(kCodes);
      for (uint64_t c = 0; c < kCodes; ++c) in[c] = CellInBox<D>(Dim<D>::Decode(c), box);
      for (uint64_t z = 0; z <= kCodes; ++z) {
        uint64_t want = kNone;
        for (uint64_t c = z + 1; c < kCodes; ++c) {
          if (in[c]) {
            want = c;
            break;
          }
        }
        ASSERT_EQ(GetBigmin<D>(z, box).value_or(kNone), want) << "Bigmin z=" << z;
        want = kNone;
        for (uint64_t c = std::min(z, kCodes); c-- > 0;) {
          if (in[c]) {
            want = c;
            break;
          }
        }
        ASSERT_EQ(GetLitmax<D>(z, box).value_or(kNone), want) << "Litmax z=" << z;
      }
    }
    int i = 0;
    while (i < 2 * D && ++digit[i] == kSide) digit[i++] = 0;
    if (i == 2 * D) break;
  }
}

TEST(BigminTest, EveryBoxOfSmallGrid2D) { BigminLitmaxEveryBox<2>(); }
TEST(BigminTest, EveryBoxOfSmallGrid3D) { BigminLitmaxEveryBox<3>(); }

TEST(BigminTest, BruteForce2D) { BigminLitmaxBruteForce<2>(0xFFFFFFFFu - 63); }
TEST(BigminTest, BruteForce3D) { BigminLitmaxBruteForce<3>(kMaxCoord3D - 15); }

// The worked example of ZORDER.md: 8x8 grid, box x 2..4, y 1..5.
TEST(BigminTest, DocExample) {
  const Box2 box{{2, 1}, {4, 5}};
  EXPECT_EQ(box.ZMin(), 6u);
  EXPECT_EQ(box.ZMax(), 50u);
  EXPECT_EQ(GetBigmin<2>(27, box), 36u);  // 27 = (5,3) is outside; 36 = (2,4)
  EXPECT_EQ(GetLitmax<2>(27, box), 26u);  // 26 = (4,3)
  EXPECT_EQ(GetLitmax<2>(36, box), 26u);  // 35 = (1,5) is outside: back to 26
  EXPECT_EQ(GetBigmin<2>(19, box), 24u);  // 19 = (5,1) -> 24 = (4,2)
  EXPECT_EQ(GetBigmin<2>(40, box), 48u);  // 40 = (0,6) -> 48 = (4,4)
  EXPECT_EQ(GetLitmax<2>(40, box), 39u);  // 39 = (3,5)
  EXPECT_EQ(GetBigmin<2>(15, box), 18u);  // 15 = (3,3) is inside: the next one is 18 = (4,1)
  EXPECT_EQ(GetBigmin<2>(0, box), 6u);
  EXPECT_EQ(GetBigmin<2>(50, box), std::nullopt);
  EXPECT_EQ(GetLitmax<2>(6, box), std::nullopt);
  EXPECT_EQ(GetLitmax<2>(63, box), 50u);
}

template <int D>
void BigminLitmaxFullGrid(uint64_t grid_side, int boxes, int samples) {
  std::mt19937_64 rng(D * 31 + 5);
  for (int b = 0; b < boxes; ++b) {
    const auto box = RandomBox<D>(rng, grid_side);
    const uint64_t zmin = box.ZMin(), zmax = box.ZMax();
    std::vector<uint64_t> zs = {0,        zmin,     zmax,  zmin + 1,   zmax - 1,
                                zmin - 1, zmax + 1, kNone, kNone >> 1, (kNone >> 1) + 1};
    for (int s = 0; s < samples; ++s) {
      zs.push_back(zmin + rng() % (zmax - zmin + 1));  // mostly outside the box
      zs.push_back(rng());
      // A cell of the box and its neighbours.
      auto lo = Dim<D>::Lo(box), hi = Dim<D>::Hi(box);
      typename Dim<D>::Coords c;
      for (int a = 0; a < D; ++a) c[a] = lo[a] + rng() % (hi[a] - lo[a] + 1);
      zs.push_back(Dim<D>::Encode(c));
      zs.push_back(Dim<D>::Encode(c) + 1);
      zs.push_back(Dim<D>::Encode(c) - 1);
    }
    for (uint64_t z : zs) {
      ASSERT_EQ(GetBigmin<D>(z, box), RefBigmin<D>(z, box)) << "z=" << z;
      ASSERT_EQ(GetLitmax<D>(z, box), RefLitmax<D>(z, box)) << "z=" << z;
      ASSERT_EQ(Dim<D>::InBox(z, box), CodeInBoxRef<D>(z, box)) << "z=" << z;
    }
  }
}

TEST(BigminTest, FullGridRandom2D) { BigminLitmaxFullGrid<2>(uint64_t{1} << 32, 300, 20); }
TEST(BigminTest, FullGridRandom3D) { BigminLitmaxFullGrid<3>(uint64_t{1} << 21, 300, 20); }

TEST(BigminTest, WholeGridAndCorners) {
  const Box2 all{{0, 0}, {0xFFFFFFFFu, 0xFFFFFFFFu}};
  uint64_t r = 0;
  ASSERT_TRUE(Bigmin2D(0, all, &r));
  EXPECT_EQ(r, 1u);
  EXPECT_FALSE(Bigmin2D(kNone, all, &r));
  ASSERT_TRUE(Litmax2D(kNone, all, &r));
  EXPECT_EQ(r, kNone - 1);
  const Box2 top{{0xFFFFFFFFu, 0xFFFFFFFFu}, {0xFFFFFFFFu, 0xFFFFFFFFu}};
  ASSERT_TRUE(Bigmin2D(0, top, &r));
  EXPECT_EQ(r, kNone);
  const Box3 all3{{0, 0, 0}, {kMaxCoord3D, kMaxCoord3D, kMaxCoord3D}};
  EXPECT_FALSE(Bigmin3D(kMaxCode3D, all3, &r));
  ASSERT_TRUE(Litmax3D(kNone, all3, &r));  // codes past the 3D grid: everything is below
  EXPECT_EQ(r, kMaxCode3D);
}

// ---- decomposition ---------------------------------------------------------------------------

// Structure every plan must have, whatever the box size. Returns false on failure.
template <int D>
void CheckPlanShape(const std::vector<ZRange>& ranges, const typename Dim<D>::Box& box,
                    size_t max_ranges) {
  ASSERT_FALSE(ranges.empty());
  ASSERT_LE(ranges.size(), std::max<size_t>(max_ranges, 1));
  EXPECT_EQ(ranges.front().lo, box.ZMin());
  EXPECT_EQ(ranges.back().hi, box.ZMax());
  for (size_t i = 0; i < ranges.size(); ++i) {
    const ZRange& r = ranges[i];
    ASSERT_LE(r.lo, r.hi);
    // Every range starts and ends on a cell of the box (tight).
    ASSERT_TRUE(CodeInBoxRef<D>(r.lo, box)) << i;
    ASSERT_TRUE(CodeInBoxRef<D>(r.hi, box)) << i;
    if (i > 0) {
      const ZRange& p = ranges[i - 1];
      ASSERT_LT(p.hi, r.lo) << i;
      ASSERT_FALSE(p.hi + 1 == r.lo && p.fully_contained == r.fully_contained) << "unmerged " << i;
    }
  }
}

// Index of the range holding code, or -1.
int FindRange(const std::vector<ZRange>& ranges, uint64_t code) {
  auto it = std::upper_bound(ranges.begin(), ranges.end(), code,
                             [](uint64_t c, const ZRange& r) { return c < r.lo; });
  if (it == ranges.begin()) return -1;
  --it;
  return code <= it->hi ? static_cast<int>(it - ranges.begin()) : -1;
}

// Exhaustive check on a grid of 4096 codes.
template <int D>
void CheckPlanExhaustive(const typename Dim<D>::Box& box, size_t max_ranges) {
  std::vector<ZRange> ranges;
  Dim<D>::Decompose(box, max_ranges, &ranges);
  CheckPlanShape<D>(ranges, box, max_ranges);
  if (::testing::Test::HasFatalFailure()) return;
  for (uint64_t code = 0; code < 4096; ++code) {
    const bool in = CodeInBoxRef<D>(code, box);
    const int k = FindRange(ranges, code);
    if (in) {
      ASSERT_GE(k, 0) << "in-box code " << code << " not covered";
    }
    if (k >= 0 && ranges[k].fully_contained) {
      ASSERT_TRUE(in) << "code " << code << " outside the box in a fully_contained range";
    }
  }
}

template <int D>
uint64_t CellCount(const typename Dim<D>::Box& box) {
  const auto lo = Dim<D>::Lo(box), hi = Dim<D>::Hi(box);
  uint64_t n = 1;
  for (int a = 0; a < D; ++a) n *= hi[a] - lo[a] + 1;
  return n;
}

template <int D>
void CheckExact(const typename Dim<D>::Box& box) {
  std::vector<ZRange> ranges;
  Dim<D>::Decompose(box, size_t{1} << 30, &ranges);
  CheckPlanShape<D>(ranges, box, size_t{1} << 30);
  uint64_t covered = 0;
  for (const ZRange& r : ranges) {
    ASSERT_TRUE(r.fully_contained);
    covered += r.hi - r.lo + 1;
  }
  ASSERT_EQ(covered, CellCount<D>(box));
}

template <int D>
void DecomposeSmallGrid() {
  constexpr uint64_t kSide = D == 2 ? 64 : 16;
  std::mt19937_64 rng(D * 100 + 1);
  for (int rep = 0; rep < 300; ++rep) {
    const auto box = RandomBox<D>(rng, kSide);
    for (size_t budget : {0, 1, 2, 3, 4, 5, 7, 8, 16, 33, 100}) {
      CheckPlanExhaustive<D>(box, budget);
      if (::testing::Test::HasFatalFailure()) return;
    }
    CheckExact<D>(box);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(DecomposeTest, SmallGridExhaustive2D) { DecomposeSmallGrid<2>(); }
TEST(DecomposeTest, SmallGridExhaustive3D) { DecomposeSmallGrid<3>(); }

TEST(DecomposeTest, OneRangeBudgetIsTheZInterval) {
  std::vector<ZRange> r;
  const Box2 box{{2, 1}, {4, 5}};
  Decompose2D(box, 1, &r);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0], (ZRange{6, 50, false}));
  Decompose2D(box, 0, &r);  // 0 counts as 1
  ASSERT_EQ(r.size(), 1u);
}

// The worked example of ZORDER.md.
TEST(DecomposeTest, DocExample) {
  const Box2 box{{2, 1}, {4, 5}};
  std::vector<ZRange> r;
  Decompose2D(box, 100, &r);
  EXPECT_EQ(r, (std::vector<ZRange>{{6, 7, true},
                                    {12, 15, true},
                                    {18, 18, true},
                                    {24, 24, true},
                                    {26, 26, true},
                                    {36, 39, true},
                                    {48, 48, true},
                                    {50, 50, true}}));
  Decompose2D(box, 6, &r);
  EXPECT_EQ(r, (std::vector<ZRange>{{6, 7, true},
                                    {12, 15, true},
                                    {18, 18, true},
                                    {24, 26, false},
                                    {36, 39, true},
                                    {48, 50, false}}));
  Decompose2D(box, 7, &r);  // one of the two filtered ranges (equal waste) is split
  EXPECT_EQ(r, (std::vector<ZRange>{{6, 7, true},
                                    {12, 15, true},
                                    {18, 18, true},
                                    {24, 24, true},
                                    {26, 26, true},
                                    {36, 39, true},
                                    {48, 50, false}}));
  Decompose2D(box, 5, &r);  // [18,26] (6 codes wasted) is split, [6,15] (4) is not
  EXPECT_EQ(r,
            (std::vector<ZRange>{
                {6, 15, false}, {18, 18, true}, {24, 26, false}, {36, 39, true}, {48, 50, false}}));
  Decompose2D(box, 4, &r);
  EXPECT_EQ(
      r, (std::vector<ZRange>{{6, 15, false}, {18, 26, false}, {36, 39, true}, {48, 50, false}}));
  for (size_t n : {0, 1, 2, 3}) {
    Decompose2D(box, n, &r);
    EXPECT_EQ(r, (std::vector<ZRange>{{6, 50, false}})) << n;
  }
}

TEST(DecomposeTest, Extremes) {
  std::vector<ZRange> r;
  const uint32_t kMax = 0xFFFFFFFFu;
  Decompose2D(Box2{{0, 0}, {kMax, kMax}}, 1, &r);
  EXPECT_EQ(r, (std::vector<ZRange>{{0, kNone, true}}));
  Decompose2D(Box2{{kMax, kMax}, {kMax, kMax}}, 5, &r);
  EXPECT_EQ(r, (std::vector<ZRange>{{kNone, kNone, true}}));
  Decompose2D(Box2{{0, 0}, {0, 0}}, 5, &r);
  EXPECT_EQ(r, (std::vector<ZRange>{{0, 0, true}}));
  // The right half of the grid is every code with bit 63 clear and bit 62 set... and more:
  // x >= 2^31 means code bit 62 set; the codes form 2 runs at the top level.
  Decompose2D(Box2{{0x80000000u, 0}, {kMax, kMax}}, 8, &r);
  EXPECT_EQ(r, (std::vector<ZRange>{{0x4000000000000000u, 0x7FFFFFFFFFFFFFFFu, true},
                                    {0xC000000000000000u, kNone, true}}));
  Decompose3D(Box3{{0, 0, 0}, {kMaxCoord3D, kMaxCoord3D, kMaxCoord3D}}, 1, &r);
  EXPECT_EQ(r, (std::vector<ZRange>{{0, kMaxCode3D, true}}));
  Decompose3D(
      Box3{{kMaxCoord3D, kMaxCoord3D, kMaxCoord3D}, {kMaxCoord3D, kMaxCoord3D, kMaxCoord3D}}, 1,
      &r);
  EXPECT_EQ(r, (std::vector<ZRange>{{kMaxCode3D, kMaxCode3D, true}}));
  // Aligned blocks are one contained range whatever the budget.
  Decompose2D(Box2{{0x12340000u, 0x00010000u}, {0x1234FFFFu, 0x0001FFFFu}}, 1, &r);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_TRUE(r[0].fully_contained);
  EXPECT_EQ(r[0].hi - r[0].lo, 0xFFFFFFFFu);
  // Invalid boxes give no ranges.
  Decompose2D(Box2{{5, 0}, {4, 9}}, 10, &r);
  EXPECT_TRUE(r.empty());
  Decompose3D(Box3{{0, 0, 0}, {kMaxCoord3D + 1, 0, 0}}, 10, &r);
  EXPECT_TRUE(r.empty());
}

// Boxes anywhere on the full grids, checked by sampling.
template <int D>
void DecomposeFullGrid(uint64_t grid_side) {
  std::mt19937_64 rng(D * 977);
  std::vector<ZRange> ranges;
  for (int rep = 0; rep < 200; ++rep) {
    const auto box = RandomBox<D>(rng, grid_side);
    const size_t budget = std::vector<size_t>{1, 2, 4, 16, 64, 256}[rep % 6];
    Dim<D>::Decompose(box, budget, &ranges);
    CheckPlanShape<D>(ranges, box, budget);
    if (::testing::Test::HasFatalFailure()) return;
    const auto lo = Dim<D>::Lo(box), hi = Dim<D>::Hi(box);
    for (int s = 0; s < 200; ++s) {
      // A random cell of the box is covered.
      typename Dim<D>::Coords c;
      for (int a = 0; a < D; ++a) c[a] = lo[a] + rng() % (hi[a] - lo[a] + 1);
      ASSERT_GE(FindRange(ranges, Dim<D>::Encode(c)), 0);
      // A cell just outside a face is never in a fully_contained range.
      const int a = static_cast<int>(rng() % D);
      auto out = c;
      if (rng() % 2) {
        if (lo[a] == 0) continue;
        out[a] = lo[a] - 1;
      } else {
        if (hi[a] == grid_side - 1) continue;
        out[a] = hi[a] + 1;
      }
      const int k = FindRange(ranges, Dim<D>::Encode(out));
      if (k >= 0) {
        ASSERT_FALSE(ranges[k].fully_contained);
      }
    }
    // Random codes of fully_contained ranges are box cells.
    for (const ZRange& r : ranges) {
      if (!r.fully_contained) continue;
      for (int s = 0; s < 4; ++s) {
        ASSERT_TRUE(CodeInBoxRef<D>(r.lo + rng() % (r.hi - r.lo + 1), box));
      }
    }
  }
}

TEST(DecomposeTest, FullGridRandom2D) { DecomposeFullGrid<2>(uint64_t{1} << 32); }
TEST(DecomposeTest, FullGridRandom3D) { DecomposeFullGrid<3>(uint64_t{1} << 21); }

TEST(DecomposeTest, ExactOnFullGrid) {
  std::mt19937_64 rng(5);
  for (int rep = 0; rep < 50; ++rep) {
    const uint32_t x = static_cast<uint32_t>(rng()), y = static_cast<uint32_t>(rng());
    const uint32_t w = 1 + static_cast<uint32_t>(rng() % 100), h = 1 + rng() % 100;
    const uint32_t x0 = std::min(x, 0xFFFFFFFFu - w + 1), y0 = std::min(y, 0xFFFFFFFFu - h + 1);
    CheckExact<2>(Box2{{x0, y0}, {x0 + w - 1, y0 + h - 1}});
    const uint32_t a = x & kMaxCoord3D, b = y & kMaxCoord3D, c = (x ^ y) & kMaxCoord3D;
    const uint32_t s = 1 + rng() % 20;
    CheckExact<3>(
        Box3{{std::min(a, kMaxCoord3D - s + 1), std::min(b, kMaxCoord3D - s + 1),
              std::min(c, kMaxCoord3D - s + 1)},
             {std::min(a, kMaxCoord3D - s + 1) + s - 1, std::min(b, kMaxCoord3D - s + 1) + s - 1,
              std::min(c, kMaxCoord3D - s + 1) + s - 1}});
    if (::testing::Test::HasFatalFailure()) return;
  }
}

// More budget never makes the plan read more codes outside the box in this example family,
// and the GW-1-sized query (512 world units = 2^25 cells a side) fits a small budget.
TEST(DecomposeTest, BudgetIsUsed) {
  std::vector<ZRange> small, large;
  const Box2 box{{0x12345678u, 0x0ABCDEF0u}, {0x12345678u + (1u << 25), 0x0ABCDEF0u + (1u << 25)}};
  Decompose2D(box, 4, &small);
  Decompose2D(box, 64, &large);
  auto span = [](const std::vector<ZRange>& rs) {
    unsigned __int128 n = 0;
    for (const ZRange& r : rs) n += r.hi - r.lo + 1;
    return n;
  };
  EXPECT_LE(small.size(), 4u);
  EXPECT_LE(large.size(), 64u);
  EXPECT_GT(large.size(), 16u);
  EXPECT_LT(span(large), span(small));
}

}  // namespace
}  // namespace zworld::zorder
