// The GW-1 workload, exactly as shared/workloads/GW-1.md (section 1) specifies it:
// random streams, world generation, payloads, the key/value layout of the key-value peers,
// AOI boxes, the quantized box on the 2^32 grid and BIGMIN for 2D Morton codes.
//
// Everything here is deterministic: the same parameters give bit-identical worlds, queries
// and moves in any build (the build uses -ffp-contract=off, see GW-1.md section 1).
// All functions are pure or act only on their arguments; distinct objects may be used from
// distinct threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace zworld::gw1 {

// GW-1 section 1.2 stream tags.
inline constexpr uint64_t kTagWorld = 1;
inline constexpr uint64_t kTagAoi = 2;
inline constexpr uint64_t kTagMove = 3;
inline constexpr uint64_t kTagAoi2 = 4;

// The largest float below 65536 (GW-1 section 1.1).
inline constexpr float kMaxCoord = 65535.99609375f;
// Half the side of an AOI box, in world units (section 1.6).
inline constexpr double kAoiHalfSide = 256.0;
// Entities per LOAD batch (section 1.5) and moves per SQLite transaction (section 1.7).
inline constexpr uint64_t kBatchSize = 10000;
// Payload bytes per entity (section 1.3), key and value bytes of the KV peers (section 1.4).
inline constexpr size_t kPayloadBytes = 64;
inline constexpr size_t kKeyBytes = 16;
inline constexpr size_t kValueBytes = 8 + kPayloadBytes;
// The prefix_* fields of the aoi lines cover the first min(q, kPrefixQueries) queries of a
// pass. GW-1.md names the fields without fixing the length; this is the harness's choice.
inline constexpr uint64_t kPrefixQueries = 1000;

inline uint64_t Fmix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// SplitMix64 stream Rng(seed, tag) of GW-1 section 1.2.
class Rng {
 public:
  Rng(uint64_t seed, uint64_t tag) : s_(seed ^ (tag * 0xA0761D6478BD642Full)) {}

  uint64_t Next() {
    s_ += 0x9E3779B97F4A7C15ull;
    return Fmix64(s_);
  }
  // A double in [0, 1).
  double U01() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  // Next() % n (plain modulo, biased on purpose). Requires n > 0.
  uint64_t Below(uint64_t n) { return Next() % n; }

 private:
  uint64_t s_;
};

// clamp() of section 1.2: negative -> +0, >= 65536 -> kMaxCoord, otherwise unchanged
// (so -0 stays -0).
inline float ClampCoord(float f) {
  if (f < 0.0f) return 0.0f;
  if (f >= 65536.0f) return kMaxCoord;
  return f;
}

// Current entity positions, indexed by id.
struct World {
  uint64_t seed = 0;
  std::vector<float> x;
  std::vector<float> y;

  uint64_t size() const { return x.size(); }
};

// Generates the world of section 1.3 (stream WORLD) for ids 0..n-1. Requires n < 2^32.
World GenerateWorld(uint64_t seed, uint64_t n);

// world_hash of section 1.9 over the current positions.
uint64_t WorldHash(const World& world);

// Writes the 64-byte payload of entity `id` (section 1.3) to out[0..63].
void MakePayload(uint64_t seed, uint64_t id, uint8_t* out);

// quantize() of section 1.4. Requires v in [0, 65536) (or -0).
inline uint32_t Quantize(float v) {
  return static_cast<uint32_t>(static_cast<double>(v) * 65536.0);
}

// Spreads the 32 bits of v to the even bits of the result.
inline uint64_t SpreadBits32(uint32_t v) {
  uint64_t x = v;
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
  x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
  x = (x | (x << 4)) & 0x0F0F0F0F0F0F0F0Full;
  x = (x | (x << 2)) & 0x3333333333333333ull;
  x = (x | (x << 1)) & 0x5555555555555555ull;
  return x;
}

// morton2d() of section 1.4: bit i of qx at bit 2i, bit i of qy at bit 2i+1.
inline uint64_t Morton2d(uint32_t qx, uint32_t qy) {
  return SpreadBits32(qx) | (SpreadBits32(qy) << 1);
}

inline constexpr uint64_t kMortonXMask = 0x5555555555555555ull;  // x lives in the even bits
inline constexpr uint64_t kMortonYMask = 0xAAAAAAAAAAAAAAAAull;

// The smallest Morton code greater than z whose cell lies in the grid box spanned by
// zmin = Morton2d(xlo, ylo) and zmax = Morton2d(xhi, yhi) (Tropf and Herzog's BIGMIN).
// Requires zmin <= z < zmax and z outside the box; the result is then in (z, zmax].
uint64_t Bigmin2d(uint64_t z, uint64_t zmin, uint64_t zmax);

// Float neighbours of a double (all require |v| well inside the float range):
// the largest float strictly below v (GW-1 section 1.8 float_below), the largest float at
// or below v, and the smallest float at or above v.
float FloatBelow(double v);
float FloatAtOrBelow(double v);
float FloatAtOrAbove(double v);

// One AOI box of section 1.6 with its superset on the 2^32 grid.
struct AoiBox {
  double minx, maxx, miny, maxy;  // min inclusive, max exclusive
  uint32_t xlo, xhi, ylo, yhi;    // inclusive grid bounds
  uint64_t zmin, zmax;            // Morton2d(xlo, ylo), Morton2d(xhi, yhi)

  // The exact predicate every engine must apply to the float coordinates.
  bool Contains(float x, float y) const {
    const double dx = x, dy = y;
    return minx <= dx && dx < maxx && miny <= dy && dy < maxy;
  }
  // True if the grid cell of Morton code z lies inside [xlo, xhi] x [ylo, yhi].
  bool GridContains(uint64_t z) const {
    const uint64_t zx = z & kMortonXMask, zy = z & kMortonYMask;
    return zx >= (zmin & kMortonXMask) && zx <= (zmax & kMortonXMask) &&
           zy >= (zmin & kMortonYMask) && zy <= (zmax & kMortonYMask);
  }
};

// The box centred on (cx, cy), with its grid bounds.
AoiBox MakeAoiBox(float cx, float cy);

// Key of section 1.4: big-endian morton ‖ big-endian id, written to out[0..15].
void EncodeKey(uint64_t z, uint64_t id, uint8_t* out);
inline void EncodeEntityKey(float x, float y, uint64_t id, uint8_t* out) {
  EncodeKey(Morton2d(Quantize(x), Quantize(y)), id, out);
}
uint64_t DecodeBigEndian64(const uint8_t* p);
// Value of section 1.4: f32 LE x ‖ f32 LE y ‖ 64-byte payload, written to out[0..71].
void EncodeValue(float x, float y, const uint8_t* payload, uint8_t* out);
// Reads x and y back from a value of at least 8 bytes.
void DecodeValueXY(const uint8_t* p, float* x, float* y);

// One entity handed to Engine::Load. `payload` points at 64 bytes owned by the harness,
// valid for the duration of the Load call.
struct LoadEntity {
  uint64_t id;
  float x, y;
  const uint8_t* payload;
};

// One move of section 1.7. `payload` as in LoadEntity (valid during ApplyMoves).
struct Move {
  uint64_t id;
  float old_x, old_y, new_x, new_y;
  const uint8_t* payload;
};

// The MOVE stream of section 1.7: one Rng(seed, 3) across all ticks.
class MoveStream {
 public:
  explicit MoveStream(World* world);

  // Draws the M = floor(N/10) moves of the next tick in list order, applies them to the
  // world, and replaces *moves with them (payload pointers left null).
  void NextTick(std::vector<Move>* moves);

 private:
  World* world_;
  Rng rng_;
  std::vector<uint32_t> perm_;
};

// Accumulated results of one AOI pass (section 1.6).
struct ResultSums {
  uint64_t results = 0;
  uint64_t checksum = 0;  // XOR of ids
  uint64_t idsum = 0;     // sum of ids mod 2^64

  void Add(std::span<const uint64_t> ids) {
    results += ids.size();
    for (uint64_t id : ids) {
      checksum ^= id;
      idsum += id;
    }
  }
};

// Latency percentiles in microseconds over per-query durations in nanoseconds (nearest
// rank). Sorts *nanos in place. All zero when empty.
struct Percentiles {
  double p50_us = 0, p99_us = 0, max_us = 0;
};
Percentiles ComputePercentiles(std::vector<uint64_t>* nanos);

}  // namespace zworld::gw1
