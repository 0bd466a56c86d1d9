// Byte layouts of the SpatialStore's keys and values (zorder/ZORDER.md, "Keys and values").
// All integers in keys are big-endian so byte order is numeric order; values are
// little-endian.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include <glm/vec3.hpp>

#include "zworld/engine/slice.h"

namespace zworld::zorder::keys {

using engine::Slice;

constexpr char kSpatialPrefix = 's';
constexpr char kEntityPrefix = 'e';
constexpr char kMetaPrefix = 'm';
constexpr size_t kSpatialKeySize = 1 + 8 + 8;
constexpr size_t kEntityKeySize = 1 + 8;
// Format version of the entity value; the world record has its own.
constexpr uint8_t kEntityValueVersion = 1;

inline void PutBE64(char* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}
inline uint64_t GetBE64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
template <typename T>
inline void PutLE(std::string* dst, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  dst->append(buf, sizeof(T));
}
template <typename T>
inline T GetLE(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

// 's' ++ be64(code) ++ be64(id)
struct SpatialKey {
  char bytes[kSpatialKeySize];
  SpatialKey(uint64_t code, uint64_t id) {
    bytes[0] = kSpatialPrefix;
    PutBE64(bytes + 1, code);
    PutBE64(bytes + 9, id);
  }
  Slice slice() const { return Slice(bytes, sizeof(bytes)); }
};

// The first spatial key with code >= code: 's' ++ be64(code).
inline std::string SpatialSeekKey(uint64_t code) {
  std::string k(9, '\0');
  k[0] = kSpatialPrefix;
  PutBE64(k.data() + 1, code);
  return k;
}
// The first key after every spatial key with code <= code.
inline std::string SpatialLimitKey(uint64_t code) {
  if (code == UINT64_MAX) return std::string(1, kSpatialPrefix + 1);
  return SpatialSeekKey(code + 1);
}

inline uint64_t SpatialKeyCode(const char* key) { return GetBE64(key + 1); }
inline uint64_t SpatialKeyId(const char* key) { return GetBE64(key + 9); }

// 'e' ++ be64(id)
struct EntityKey {
  char bytes[kEntityKeySize];
  explicit EntityKey(uint64_t id) {
    bytes[0] = kEntityPrefix;
    PutBE64(bytes + 1, id);
  }
  Slice slice() const { return Slice(bytes, sizeof(bytes)); }
};

// Spatial value: f32 x, f32 y, [f32 z in 3D], u32 kind, u64 version.
inline size_t SpatialValueSize(int dims) { return 4u * dims + 4 + 8; }
inline void EncodeSpatialValue(std::string* dst, int dims, const glm::vec3& p, uint32_t kind,
                               uint64_t version) {
  dst->clear();
  PutLE(dst, p.x);
  PutLE(dst, p.y);
  if (dims == 3) PutLE(dst, p.z);
  PutLE(dst, kind);
  PutLE(dst, version);
}

// Entity value: u8 format version, u64 cell code, u32 kind, u64 version, payload bytes.
constexpr size_t kEntityValueHeader = 1 + 8 + 4 + 8;
struct EntityRecord {
  uint64_t code = 0;
  uint32_t kind = 0;
  uint64_t version = 0;
  std::string payload;
};
inline void EncodeEntityValue(std::string* dst, const EntityRecord& r) {
  dst->clear();
  dst->push_back(static_cast<char>(kEntityValueVersion));
  PutLE(dst, r.code);
  PutLE(dst, r.kind);
  PutLE(dst, r.version);
  dst->append(r.payload);
}
// False if v is not a well-formed entity value.
inline bool DecodeEntityValue(const Slice& v, EntityRecord* r) {
  if (v.size() < kEntityValueHeader || static_cast<uint8_t>(v[0]) != kEntityValueVersion) {
    return false;
  }
  r->code = GetLE<uint64_t>(v.data() + 1);
  r->kind = GetLE<uint32_t>(v.data() + 9);
  r->version = GetLE<uint64_t>(v.data() + 13);
  r->payload.assign(v.data() + kEntityValueHeader, v.size() - kEntityValueHeader);
  return true;
}

}  // namespace zworld::zorder::keys
