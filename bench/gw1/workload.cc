#include "workload.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <numeric>

namespace zworld::gw1 {
namespace {

void PutLittleEndian32(uint32_t v, uint8_t* out) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

void PutLittleEndian64(uint64_t v, uint8_t* out) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (8 * i));
}

uint32_t GetLittleEndian32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

// The inclusive grid bounds [lo, hi] of the exact interval [min_v, max_v) (section 1.6).
void GridBounds(double min_v, double max_v, uint32_t* lo, uint32_t* hi) {
  *lo = min_v <= 0.0 ? 0u : static_cast<uint32_t>(std::floor(min_v * 65536.0));
  const double top = std::ceil(max_v * 65536.0) - 1.0;
  *hi = top >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<uint32_t>(top);
}

}  // namespace

World GenerateWorld(uint64_t seed, uint64_t n) {
  World world;
  world.seed = seed;
  world.x.resize(n);
  world.y.resize(n);
  Rng r(seed, kTagWorld);
  double tcx[200], tcy[200];
  for (int t = 0; t < 200; ++t) {
    tcx[t] = r.U01() * 65536.0;
    tcy[t] = r.U01() * 65536.0;
  }
  for (uint64_t id = 0; id < n; ++id) {
    double xd, yd;
    if (r.U01() < 0.7) {
      const uint64_t t = r.Below(200);
      double gx = 0.0, gy = 0.0;
      for (int k = 0; k < 12; ++k) gx += r.U01();
      for (int k = 0; k < 12; ++k) gy += r.U01();
      gx -= 6.0;
      gy -= 6.0;
      xd = tcx[t] + 400.0 * gx;
      yd = tcy[t] + 400.0 * gy;
    } else {
      xd = r.U01() * 65536.0;
      yd = r.U01() * 65536.0;
    }
    world.x[id] = ClampCoord(static_cast<float>(xd));
    world.y[id] = ClampCoord(static_cast<float>(yd));
  }
  return world;
}

uint64_t WorldHash(const World& world) {
  uint64_t h = 0;
  for (uint64_t id = 0; id < world.size(); ++id) {
    const uint64_t bx = std::bit_cast<uint32_t>(world.x[id]);
    const uint64_t by = std::bit_cast<uint32_t>(world.y[id]);
    h = Fmix64(h ^ (bx << 32 | by));
  }
  return h;
}

void MakePayload(uint64_t seed, uint64_t id, uint8_t* out) {
  for (uint64_t k = 0; k < 8; ++k) {
    PutLittleEndian64(Fmix64(seed ^ 0x7061796C6F616400ull ^ (id * 8 + k)), out + 8 * k);
  }
}

uint64_t Bigmin2d(uint64_t z, uint64_t zmin, uint64_t zmax) {
  uint64_t bigmin = zmax;
  for (int bit = 63; bit >= 0; --bit) {
    const uint64_t mask = uint64_t{1} << bit;
    // The lower bits that belong to the same axis as `bit`.
    const uint64_t same_axis_below = ((bit & 1) ? kMortonYMask : kMortonXMask) & (mask - 1);
    const bool zb = (z & mask) != 0;
    const bool lo = (zmin & mask) != 0;
    const bool hi = (zmax & mask) != 0;
    if (!zb) {
      if (!lo && hi) {
        // The box straddles this bit: the upper half's first cell is a candidate; keep
        // searching the lower half.
        bigmin = (zmin | mask) & ~same_axis_below;
        zmax = (zmax & ~mask) | same_axis_below;
      } else if (lo && hi) {
        return zmin;  // the whole remaining box lies above z
      }
    } else {
      if (!lo && !hi) return bigmin;  // the remaining box lies below z
      if (!lo && hi) zmin = (zmin | mask) & ~same_axis_below;
    }
  }
  return bigmin;
}

float FloatBelow(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) >= v) f = std::nextafter(f, -INFINITY);
  return f;
}

float FloatAtOrBelow(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) > v) f = std::nextafter(f, -INFINITY);
  return f;
}

float FloatAtOrAbove(double v) {
  float f = static_cast<float>(v);
  if (static_cast<double>(f) < v) f = std::nextafter(f, INFINITY);
  return f;
}

AoiBox MakeAoiBox(float cx, float cy) {
  AoiBox b;
  b.minx = static_cast<double>(cx) - kAoiHalfSide;
  b.maxx = static_cast<double>(cx) + kAoiHalfSide;
  b.miny = static_cast<double>(cy) - kAoiHalfSide;
  b.maxy = static_cast<double>(cy) + kAoiHalfSide;
  GridBounds(b.minx, b.maxx, &b.xlo, &b.xhi);
  GridBounds(b.miny, b.maxy, &b.ylo, &b.yhi);
  b.zmin = Morton2d(b.xlo, b.ylo);
  b.zmax = Morton2d(b.xhi, b.yhi);
  return b;
}

void EncodeKey(uint64_t z, uint64_t id, uint8_t* out) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(z >> (56 - 8 * i));
    out[8 + i] = static_cast<uint8_t>(id >> (56 - 8 * i));
  }
}

uint64_t DecodeBigEndian64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

void EncodeValue(float x, float y, const uint8_t* payload, uint8_t* out) {
  PutLittleEndian32(std::bit_cast<uint32_t>(x), out);
  PutLittleEndian32(std::bit_cast<uint32_t>(y), out + 4);
  std::copy(payload, payload + kPayloadBytes, out + 8);
}

void DecodeValueXY(const uint8_t* p, float* x, float* y) {
  *x = std::bit_cast<float>(GetLittleEndian32(p));
  *y = std::bit_cast<float>(GetLittleEndian32(p + 4));
}

MoveStream::MoveStream(World* world) : world_(world), rng_(world->seed, kTagMove) {}

void MoveStream::NextTick(std::vector<Move>* moves) {
  const uint64_t n = world_->size();
  const uint64_t m = n / 10;
  perm_.resize(n);
  std::iota(perm_.begin(), perm_.end(), 0u);
  moves->clear();
  moves->reserve(m);
  for (uint64_t i = 0; i < m; ++i) {
    const uint64_t j = i + rng_.Below(n - i);
    std::swap(perm_[i], perm_[j]);
    const uint64_t id = perm_[i];
    const double dx = rng_.U01() * 16.0 - 8.0;
    const double dy = rng_.U01() * 16.0 - 8.0;
    const float ox = world_->x[id], oy = world_->y[id];
    const float nx = ClampCoord(static_cast<float>(static_cast<double>(ox) + dx));
    const float ny = ClampCoord(static_cast<float>(static_cast<double>(oy) + dy));
    moves->push_back(Move{id, ox, oy, nx, ny, nullptr});
    world_->x[id] = nx;
    world_->y[id] = ny;
  }
}

Percentiles ComputePercentiles(std::vector<uint64_t>* nanos) {
  Percentiles p;
  if (nanos->empty()) return p;
  std::sort(nanos->begin(), nanos->end());
  const size_t n = nanos->size();
  auto rank = [&](double q) {
    size_t r = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
    r = std::clamp<size_t>(r, 1, n);
    return static_cast<double>((*nanos)[r - 1]) / 1000.0;
  };
  p.p50_us = rank(0.50);
  p.p99_us = rank(0.99);
  p.max_us = static_cast<double>(nanos->back()) / 1000.0;
  return p;
}

}  // namespace zworld::gw1
