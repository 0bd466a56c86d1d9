// Morton (z-order) codec: interleaves the bits of 2 or 3 unsigned cell coordinates into one
// u64 so that a cell's code is its position along the z-curve. Layout and examples are in
// zorder/ZORDER.md.
//
//   2D: 32 bits per axis -> 64-bit code; bit i of x is code bit 2i, bit i of y is bit 2i+1
//       (x in the even bits). This is GW-1's morton2d (shared/workloads/GW-1.md 1.4).
//   3D: 21 bits per axis -> 63-bit code; bit i of x/y/z is code bit 3i/3i+1/3i+2. Code bit 63
//       is always 0. Coordinate bits above bit 20 are ignored by every 3D encoder.
//
// Each operation exists in three spellings that return identical results for every input:
//   FooPortable  shifts and magic masks; constexpr; runs anywhere.
//   FooBmi2      one pdep/pext per axis. Call it only when CpuHasBmi2() is true (otherwise the
//                CPU raises an illegal-instruction fault). On non-x86 builds it forwards to
//                the portable path.
//   Foo          picks one of the above from a CPU check done once at program start.
// Thread safety: all functions are pure and may be called concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define ZWORLD_ZORDER_X86 1
#define ZWORLD_ZORDER_BMI2_TARGET __attribute__((target("bmi2")))
#else
#define ZWORLD_ZORDER_X86 0
#define ZWORLD_ZORDER_BMI2_TARGET
#endif

namespace zworld::zorder {

inline constexpr int kBitsPerAxis2D = 32;
inline constexpr int kBitsPerAxis3D = 21;
// Largest coordinate of a 3D cell (the 2D maximum is UINT32_MAX).
inline constexpr uint32_t kMaxCoord3D = (uint32_t{1} << kBitsPerAxis3D) - 1;

// Code bits that belong to each axis.
inline constexpr uint64_t kAxisMask2DX = 0x5555555555555555ULL;
inline constexpr uint64_t kAxisMask2DY = 0xAAAAAAAAAAAAAAAAULL;
inline constexpr uint64_t kAxisMask3DX = 0x1249249249249249ULL;
inline constexpr uint64_t kAxisMask3DY = kAxisMask3DX << 1;
inline constexpr uint64_t kAxisMask3DZ = kAxisMask3DX << 2;
// Largest 3D code (every cell coordinate at kMaxCoord3D).
inline constexpr uint64_t kMaxCode3D = (uint64_t{1} << 63) - 1;

// A cell of the 2D grid (each axis 0 .. 2^32-1).
struct Cell2 {
  uint32_t x = 0;
  uint32_t y = 0;
  friend bool operator==(const Cell2&, const Cell2&) = default;
};

// A cell of the 3D grid (each axis 0 .. kMaxCoord3D).
struct Cell3 {
  uint32_t x = 0;
  uint32_t y = 0;
  uint32_t z = 0;
  friend bool operator==(const Cell3&, const Cell3&) = default;
};
static_assert(sizeof(Cell3) == 12 && offsetof(Cell3, y) == 4, "Decode3DBmi2 packs x, y");

namespace internal {

// Moves bit i of v (i < 32) to bit 2i; all other bits of the result are 0.
constexpr uint64_t Spread2(uint32_t v) {
  uint64_t s = v;
  s = (s | (s << 16)) & 0x0000FFFF0000FFFFULL;
  s = (s | (s << 8)) & 0x00FF00FF00FF00FFULL;
  s = (s | (s << 4)) & 0x0F0F0F0F0F0F0F0FULL;
  s = (s | (s << 2)) & 0x3333333333333333ULL;
  s = (s | (s << 1)) & 0x5555555555555555ULL;
  return s;
}

// Inverse of Spread2: gathers bits 0, 2, 4, ... of s into bits 0, 1, 2, ...
constexpr uint32_t Compact2(uint64_t s) {
  s &= 0x5555555555555555ULL;
  s = (s | (s >> 1)) & 0x3333333333333333ULL;
  s = (s | (s >> 2)) & 0x0F0F0F0F0F0F0F0FULL;
  s = (s | (s >> 4)) & 0x00FF00FF00FF00FFULL;
  s = (s | (s >> 8)) & 0x0000FFFF0000FFFFULL;
  s = (s | (s >> 16)) & 0x00000000FFFFFFFFULL;
  return static_cast<uint32_t>(s);
}

// Moves bit i of v (i < 21) to bit 3i; bits of v above bit 20 are dropped.
constexpr uint64_t Spread3(uint32_t v) {
  uint64_t s = v & kMaxCoord3D;
  s = (s | (s << 32)) & 0x001F00000000FFFFULL;
  s = (s | (s << 16)) & 0x001F0000FF0000FFULL;
  s = (s | (s << 8)) & 0x100F00F00F00F00FULL;
  s = (s | (s << 4)) & 0x10C30C30C30C30C3ULL;
  s = (s | (s << 2)) & 0x1249249249249249ULL;
  return s;
}

// Inverse of Spread3: gathers bits 0, 3, 6, ..., 60 of s into bits 0 .. 20.
constexpr uint32_t Compact3(uint64_t s) {
  s &= 0x1249249249249249ULL;
  s = (s | (s >> 2)) & 0x10C30C30C30C30C3ULL;
  s = (s | (s >> 4)) & 0x100F00F00F00F00FULL;
  s = (s | (s >> 8)) & 0x001F0000FF0000FFULL;
  s = (s | (s >> 16)) & 0x001F00000000FFFFULL;
  s = (s | (s >> 32)) & 0x00000000001FFFFFULL;
  return static_cast<uint32_t>(s);
}

// True when the Bmi2 paths are in use. Set once by a static initializer in morton.cc; code
// that runs before it (other static initializers) sees false and takes the portable path,
// which gives the same results.
extern const bool use_bmi2;

}  // namespace internal

// ---- portable ------------------------------------------------------------------------------

constexpr uint64_t Encode2DPortable(uint32_t x, uint32_t y) {
  return internal::Spread2(x) | (internal::Spread2(y) << 1);
}
constexpr Cell2 Decode2DPortable(uint64_t code) {
  return Cell2{internal::Compact2(code), internal::Compact2(code >> 1)};
}
constexpr uint64_t Encode3DPortable(uint32_t x, uint32_t y, uint32_t z) {
  return internal::Spread3(x) | (internal::Spread3(y) << 1) | (internal::Spread3(z) << 2);
}
// Bit 63 of code is ignored.
constexpr Cell3 Decode3DPortable(uint64_t code) {
  return Cell3{internal::Compact3(code), internal::Compact3(code >> 1),
               internal::Compact3(code >> 2)};
}

// ---- BMI2 (only when CpuHasBmi2()) -----------------------------------------------------------

#if ZWORLD_ZORDER_X86
ZWORLD_ZORDER_BMI2_TARGET inline uint64_t Encode2DBmi2(uint32_t x, uint32_t y) {
  return _pdep_u64(x, kAxisMask2DX) | _pdep_u64(y, kAxisMask2DY);
}
ZWORLD_ZORDER_BMI2_TARGET inline Cell2 Decode2DBmi2(uint64_t code) {
  return Cell2{static_cast<uint32_t>(_pext_u64(code, kAxisMask2DX)),
               static_cast<uint32_t>(_pext_u64(code, kAxisMask2DY))};
}
ZWORLD_ZORDER_BMI2_TARGET inline uint64_t Encode3DBmi2(uint32_t x, uint32_t y, uint32_t z) {
  return _pdep_u64(x, kAxisMask3DX) | _pdep_u64(y, kAxisMask3DY) | _pdep_u64(z, kAxisMask3DZ);
}
ZWORLD_ZORDER_BMI2_TARGET inline Cell3 Decode3DBmi2(uint64_t code) {
  // x and y are packed into one register before they land in the Cell3: g++ 12 otherwise
  // stores them separately and reloads them as one 64-bit word, a store-forwarding stall that
  // made this function 4x slower when not inlined. (x86 is little-endian: x is the low half.)
  const uint64_t xy = _pext_u64(code, kAxisMask3DX) | (_pext_u64(code, kAxisMask3DY) << 32);
  Cell3 cell;
  std::memcpy(static_cast<void*>(&cell), &xy, sizeof(xy));
  cell.z = static_cast<uint32_t>(_pext_u64(code, kAxisMask3DZ));
  return cell;
}
#else
inline uint64_t Encode2DBmi2(uint32_t x, uint32_t y) { return Encode2DPortable(x, y); }
inline Cell2 Decode2DBmi2(uint64_t code) { return Decode2DPortable(code); }
inline uint64_t Encode3DBmi2(uint32_t x, uint32_t y, uint32_t z) {
  return Encode3DPortable(x, y, z);
}
inline Cell3 Decode3DBmi2(uint64_t code) { return Decode3DPortable(code); }
#endif

// True when this CPU executes BMI2 (pdep/pext). Always false on non-x86 builds. Cheap: the
// answer is computed once.
bool CpuHasBmi2();

// True when Encode2D() and friends currently dispatch to the Bmi2 functions.
inline bool UsingBmi2() { return internal::use_bmi2; }

// ---- dispatching -----------------------------------------------------------------------------

inline uint64_t Encode2D(uint32_t x, uint32_t y) {
  return internal::use_bmi2 ? Encode2DBmi2(x, y) : Encode2DPortable(x, y);
}
inline uint64_t Encode2D(const Cell2& c) { return Encode2D(c.x, c.y); }
inline Cell2 Decode2D(uint64_t code) {
  return internal::use_bmi2 ? Decode2DBmi2(code) : Decode2DPortable(code);
}
inline uint64_t Encode3D(uint32_t x, uint32_t y, uint32_t z) {
  return internal::use_bmi2 ? Encode3DBmi2(x, y, z) : Encode3DPortable(x, y, z);
}
inline uint64_t Encode3D(const Cell3& c) { return Encode3D(c.x, c.y, c.z); }
// Bit 63 of code is ignored.
inline Cell3 Decode3D(uint64_t code) {
  return internal::use_bmi2 ? Decode3DBmi2(code) : Decode3DPortable(code);
}

}  // namespace zworld::zorder
