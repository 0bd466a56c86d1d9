// Morton codec: BMI2, portable and dispatching paths against a bit-by-bit reference.
#include "zworld/zorder/morton.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>

namespace zworld::zorder {
namespace {

// Reference interleave, one bit at a time, straight from the definition in morton.h.
uint64_t RefEncode2D(uint32_t x, uint32_t y) {
  uint64_t code = 0;
  for (int i = 0; i < 32; ++i) {
    code |= static_cast<uint64_t>((x >> i) & 1) << (2 * i);
    code |= static_cast<uint64_t>((y >> i) & 1) << (2 * i + 1);
  }
  return code;
}

uint64_t RefEncode3D(uint32_t x, uint32_t y, uint32_t z) {
  uint64_t code = 0;
  for (int i = 0; i < 21; ++i) {
    code |= static_cast<uint64_t>((x >> i) & 1) << (3 * i);
    code |= static_cast<uint64_t>((y >> i) & 1) << (3 * i + 1);
    code |= static_cast<uint64_t>((z >> i) & 1) << (3 * i + 2);
  }
  return code;
}

bool HaveBmi2() { return CpuHasBmi2(); }

// Checks every spelling of the 2D codec on one cell.
void Check2D(uint32_t x, uint32_t y) {
  const uint64_t want = RefEncode2D(x, y);
  ASSERT_EQ(Encode2DPortable(x, y), want) << x << "," << y;
  ASSERT_EQ(Encode2D(x, y), want) << x << "," << y;
  ASSERT_EQ(Decode2DPortable(want), (Cell2{x, y})) << want;
  ASSERT_EQ(Decode2D(want), (Cell2{x, y})) << want;
  if (HaveBmi2()) {
    ASSERT_EQ(Encode2DBmi2(x, y), want) << x << "," << y;
    ASSERT_EQ(Decode2DBmi2(want), (Cell2{x, y})) << want;
  }
}

void Check3D(uint32_t x, uint32_t y, uint32_t z) {
  const uint64_t want = RefEncode3D(x, y, z);
  const Cell3 cell{x & kMaxCoord3D, y & kMaxCoord3D, z & kMaxCoord3D};
  ASSERT_EQ(Encode3DPortable(x, y, z), want) << x << "," << y << "," << z;
  ASSERT_EQ(Encode3D(x, y, z), want) << x << "," << y << "," << z;
  ASSERT_EQ(Decode3DPortable(want), cell) << want;
  ASSERT_EQ(Decode3D(want), cell) << want;
  if (HaveBmi2()) {
    ASSERT_EQ(Encode3DBmi2(x, y, z), want) << x << "," << y << "," << z;
    ASSERT_EQ(Decode3DBmi2(want), cell) << want;
  }
}

// The portable path is usable at compile time.
static_assert(Encode2DPortable(0, 0) == 0);
static_assert(Encode2DPortable(1, 0) == 1);
static_assert(Encode2DPortable(0, 1) == 2);
static_assert(Encode2DPortable(0xFFFFFFFFu, 0) == kAxisMask2DX);
static_assert(Encode2DPortable(0, 0xFFFFFFFFu) == kAxisMask2DY);
static_assert(Encode2DPortable(0xFFFFFFFFu, 0xFFFFFFFFu) == ~uint64_t{0});
static_assert(Encode3DPortable(kMaxCoord3D, kMaxCoord3D, kMaxCoord3D) == kMaxCode3D);
static_assert(Decode2DPortable(~uint64_t{0}) == Cell2{0xFFFFFFFFu, 0xFFFFFFFFu});
static_assert(Decode3DPortable(~uint64_t{0}) == Cell3{kMaxCoord3D, kMaxCoord3D, kMaxCoord3D});

TEST(MortonTest, DispatchMatchesCpu) {
  EXPECT_EQ(UsingBmi2(), CpuHasBmi2());
#if defined(__x86_64__)
  EXPECT_EQ(CpuHasBmi2(), static_cast<bool>(__builtin_cpu_supports("bmi2")));
#endif
  if (!HaveBmi2()) GTEST_SKIP() << "CPU has no BMI2: only the portable path was checked";
}

TEST(MortonTest, KnownValues2D) {
  // Worked example of ZORDER.md: x = 5 = 0b101, y = 3 = 0b011 -> 0b011011 = 27.
  EXPECT_EQ(Encode2D(5, 3), 27u);
  EXPECT_EQ(Encode2D(0, 0), 0u);
  EXPECT_EQ(Encode2D(0xFFFFFFFFu, 0xFFFFFFFFu), ~uint64_t{0});
  EXPECT_EQ(Encode2D(0xFFFFFFFFu, 0), 0x5555555555555555u);
  EXPECT_EQ(Encode2D(0, 0xFFFFFFFFu), 0xAAAAAAAAAAAAAAAAu);
  EXPECT_EQ(Encode2D(0x80000000u, 0), 0x4000000000000000u);
  EXPECT_EQ(Encode2D(0, 0x80000000u), 0x8000000000000000u);
  // GW-1 (shared/workloads/GW-1.md 1.4): x = 1.5, y = 2.25 quantise to 1.5 * 65536 = 0x18000
  // and 2.25 * 65536 = 0x24000.
  EXPECT_EQ(Encode2D(0x18000, 0x24000), 0x0000000960000000u);
  EXPECT_EQ(Decode2D(0x0000000960000000u), (Cell2{0x18000, 0x24000}));
  for (uint32_t x : {0u, 1u, 2u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu}) {
    for (uint32_t y : {0u, 1u, 2u, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFEu, 0xFFFFFFFFu}) {
      Check2D(x, y);
    }
  }
}

TEST(MortonTest, KnownValues3D) {
  EXPECT_EQ(Encode3D(1, 0, 0), 1u);
  EXPECT_EQ(Encode3D(0, 1, 0), 2u);
  EXPECT_EQ(Encode3D(0, 0, 1), 4u);
  EXPECT_EQ(Encode3D(3, 5, 6), 0b110101011u);  // bits (z y x): 0 1 1 | 1 0 1 | 1 1 0
  EXPECT_EQ(Encode3D(kMaxCoord3D, 0, 0), kAxisMask3DX);
  EXPECT_EQ(Encode3D(0, kMaxCoord3D, 0), kAxisMask3DY);
  EXPECT_EQ(Encode3D(0, 0, kMaxCoord3D), kAxisMask3DZ);
  EXPECT_EQ(Encode3D(kMaxCoord3D, kMaxCoord3D, kMaxCoord3D), kMaxCode3D);
  for (uint32_t v : {0u, 1u, 0xFFFFFu, 0x100000u, kMaxCoord3D - 1, kMaxCoord3D}) {
    for (uint32_t w : {0u, 1u, 0x100000u, kMaxCoord3D}) {
      Check3D(v, w, v ^ w);
      Check3D(w, v, w);
    }
  }
}

TEST(MortonTest, Exhaustive2DBelow256) {
  for (uint32_t y = 0; y < 256; ++y) {
    for (uint32_t x = 0; x < 256; ++x) Check2D(x, y);
  }
  // The 256x256 block is exactly the codes [0, 65536): every code is some cell.
  for (uint64_t code = 0; code < 65536; ++code) {
    const Cell2 c = Decode2D(code);
    ASSERT_LT(c.x, 256u);
    ASSERT_LT(c.y, 256u);
    ASSERT_EQ(Encode2D(c), code);
  }
}

TEST(MortonTest, Exhaustive3DBelow64) {
  for (uint32_t z = 0; z < 64; ++z) {
    for (uint32_t y = 0; y < 64; ++y) {
      for (uint32_t x = 0; x < 64; ++x) Check3D(x, y, z);
    }
  }
  for (uint64_t code = 0; code < 64 * 64 * 64; ++code) {
    const Cell3 c = Decode3D(code);
    ASSERT_TRUE(c.x < 64 && c.y < 64 && c.z < 64);
    ASSERT_EQ(Encode3D(c), code);
  }
}

TEST(MortonTest, RandomFullRange2D) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t r = rng();
    Check2D(static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32));
    const uint64_t code = rng();  // every u64 is a 2D code
    ASSERT_EQ(Encode2D(Decode2D(code)), code);
    ASSERT_EQ(Encode2DPortable(Decode2DPortable(code).x, Decode2DPortable(code).y), code);
  }
}

TEST(MortonTest, RandomFullRange3D) {
  std::mt19937_64 rng(77);
  for (int i = 0; i < 200000; ++i) {
    const uint64_t r = rng();
    // Full 32-bit inputs: bits above 20 must be ignored.
    Check3D(static_cast<uint32_t>(r), static_cast<uint32_t>(r >> 32),
            static_cast<uint32_t>(r >> 16));
    const uint64_t code = rng();
    ASSERT_EQ(Encode3D(Decode3D(code)), code & kMaxCode3D);  // bit 63 is not a 3D code bit
  }
}

TEST(MortonTest, HighCoordinateBitsIgnoredIn3D) {
  const uint64_t code = Encode3D(5, 6, 7);
  EXPECT_EQ(Encode3D(5 | (1u << 21), 6 | 0xFFE00000u, 7 | (1u << 31)), code);
  EXPECT_EQ(Encode3DPortable(5 | (1u << 21), 6 | 0xFFE00000u, 7 | (1u << 31)), code);
  if (HaveBmi2()) {
    EXPECT_EQ(Encode3DBmi2(5 | (1u << 21), 6 | 0xFFE00000u, 7 | (1u << 31)), code);
  }
  EXPECT_EQ(Decode3D(code | (uint64_t{1} << 63)), (Cell3{5, 6, 7}));
}

// Codes are monotone in each coordinate: p <= q on every axis implies code(p) <= code(q),
// with equality only for p == q.
TEST(MortonTest, MonotoneInEachAxis) {
  std::mt19937_64 rng(3);
  auto grow = [&rng](uint32_t v, uint32_t max) {  // v plus a random step, saturating at max
    const uint64_t step = (rng() & max) >> (rng() % 33);
    return static_cast<uint32_t>(std::min<uint64_t>(uint64_t{v} + step, max));
  };
  for (int i = 0; i < 100000; ++i) {
    const uint32_t x = static_cast<uint32_t>(rng()), y = static_cast<uint32_t>(rng());
    const uint32_t x2 = grow(x, 0xFFFFFFFFu), y2 = grow(y, 0xFFFFFFFFu);
    if (x2 == x && y2 == y) {
      ASSERT_EQ(Encode2D(x, y), Encode2D(x2, y2));
    } else {
      ASSERT_LT(Encode2D(x, y), Encode2D(x2, y2)) << x << "," << y << " " << x2 << "," << y2;
    }
    const uint32_t a = x & kMaxCoord3D, b = y & kMaxCoord3D, c = (x ^ y) & kMaxCoord3D;
    const uint32_t a2 = grow(a, kMaxCoord3D), b2 = grow(b, kMaxCoord3D), c2 = grow(c, kMaxCoord3D);
    if (a2 == a && b2 == b && c2 == c) {
      ASSERT_EQ(Encode3D(a, b, c), Encode3D(a2, b2, c2));
    } else {
      ASSERT_LT(Encode3D(a, b, c), Encode3D(a2, b2, c2));
    }
  }
}

// An aligned block of side 2^k is one contiguous run of 4^k (8^k) codes starting at the code
// of its min corner: the property the range planner builds on.
TEST(MortonTest, AlignedBlocksAreContiguous) {
  std::mt19937_64 rng(11);
  for (int k = 0; k <= 32; ++k) {
    for (int rep = 0; rep < 20; ++rep) {
      const uint64_t mask = k == 32 ? 0 : ~((uint64_t{1} << k) - 1);
      const uint32_t x0 = static_cast<uint32_t>(rng() & mask);
      const uint32_t y0 = static_cast<uint32_t>(rng() & mask);
      const uint32_t last = static_cast<uint32_t>((uint64_t{1} << k) - 1);
      const uint64_t lo = Encode2D(x0, y0);
      const uint64_t span = 2 * k == 64 ? ~uint64_t{0} : (uint64_t{1} << (2 * k)) - 1;
      ASSERT_EQ(lo & span, 0u);
      ASSERT_EQ(Encode2D(x0 + last, y0 + last), lo + span) << "k=" << k;
      // Any cell of the block lies inside [lo, lo + span]; cells just outside do not.
      const Cell2 inner{x0 + static_cast<uint32_t>(rng() & last),
                        y0 + static_cast<uint32_t>(rng() & last)};
      const uint64_t code = Encode2D(inner);
      ASSERT_TRUE(code >= lo && code <= lo + span);
      if (k < 32 && x0 + last < 0xFFFFFFFFu) {
        ASSERT_GT(Encode2D(x0 + last + 1, y0), lo + span);
      }
      if (k < 4) {  // small blocks: exactly the 4^k codes
        for (uint64_t c = lo; c <= lo + span; ++c) {
          const Cell2 p = Decode2D(c);
          ASSERT_TRUE(p.x - x0 <= last && p.y - y0 <= last);
        }
      }
    }
  }
}

}  // namespace
}  // namespace zworld::zorder
