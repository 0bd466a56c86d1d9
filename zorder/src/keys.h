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
constexpr char kPayloadPrefix = 'p';
constexpr size_t kSpatialKeySize = 1 + 8 + 8;
constexpr size_t kEntityKeySize = 1 + 8;

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

// 'p' ++ be64(id): the payload, written by Put only, so moves never copy it.
struct PayloadKey {
  char bytes[kEntityKeySize];
  explicit PayloadKey(uint64_t id) {
    bytes[0] = kPayloadPrefix;
    PutBE64(bytes + 1, id);
  }
  Slice slice() const { return Slice(bytes, sizeof(bytes)); }
};

// LEB128 varints, as in the engine (engine/FORMATS.md, "Integers").
// Writes v at dst (at most 10 bytes) and returns the byte after it.
inline char* PutVarint(char* dst, uint64_t v) {
  while (v >= 0x80) {
    *dst++ = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  *dst++ = static_cast<char>(v);
  return dst;
}
// Reads a varint from [*p, limit) into *v and advances *p; false if it is cut or too long.
inline bool GetVarint(const char** p, const char* limit, uint64_t* v) {
  uint64_t result = 0;
  for (int shift = 0; shift <= 63 && *p < limit; shift += 7) {
    const uint64_t byte = static_cast<unsigned char>(*(*p)++);
    result |= (byte & 0x7f) << shift;
    if (byte < 0x80) {
      *v = result;
      return true;
    }
  }
  return false;
}

// Spatial value: f32 x, f32 y, [f32 z in 3D], varint kind, varint version.
// Encoders write at most this many bytes.
constexpr size_t kMaxSmallValueSize = 32;
inline size_t SpatialPositionSize(int dims) { return 4u * static_cast<size_t>(dims); }
// Writes the value at dst (kMaxSmallValueSize bytes of room) and returns its size.
inline size_t EncodeSpatialValue(char* dst, int dims, const glm::vec3& p, uint32_t kind,
                                 uint64_t version) {
  char* q = dst;
  for (int a = 0; a < dims; a++) {
    std::memcpy(q, &p[a], 4);
    q += 4;
  }
  q = PutVarint(q, kind);
  q = PutVarint(q, version);
  return static_cast<size_t>(q - dst);
}
// The kind and version after the position; false if malformed.
inline bool DecodeSpatialTail(const Slice& v, int dims, uint32_t* kind, uint64_t* version) {
  const char* p = v.data() + SpatialPositionSize(dims);
  const char* limit = v.data() + v.size();
  uint64_t k;
  if (v.size() < SpatialPositionSize(dims) + 2 || !GetVarint(&p, limit, &k) || k > UINT32_MAX ||
      !GetVarint(&p, limit, version) || p != limit) {
    return false;
  }
  *kind = static_cast<uint32_t>(k);
  return true;
}

// Entity value: u8 flags, varint cell code, varint kind, varint version. (The layout version
// is the world record's.)
constexpr uint8_t kEntityHasPayload = 0x01;
struct EntityRecord {
  uint64_t code = 0;
  uint32_t kind = 0;
  uint64_t version = 0;
  bool has_payload = false;
};
// Writes the value at dst (kMaxSmallValueSize bytes of room) and returns its size.
inline size_t EncodeEntityValue(char* dst, const EntityRecord& r) {
  char* q = dst;
  *q++ = static_cast<char>(r.has_payload ? kEntityHasPayload : 0);
  q = PutVarint(q, r.code);
  q = PutVarint(q, r.kind);
  q = PutVarint(q, r.version);
  return static_cast<size_t>(q - dst);
}
// False if v is not a well-formed entity value.
inline bool DecodeEntityValue(const Slice& v, EntityRecord* r) {
  if (v.size() < 4 || (static_cast<uint8_t>(v[0]) & ~kEntityHasPayload) != 0) return false;
  r->has_payload = (static_cast<uint8_t>(v[0]) & kEntityHasPayload) != 0;
  const char* p = v.data() + 1;
  const char* limit = v.data() + v.size();
  uint64_t kind;
  if (!GetVarint(&p, limit, &r->code) || !GetVarint(&p, limit, &kind) || kind > UINT32_MAX ||
      !GetVarint(&p, limit, &r->version) || p != limit) {
    return false;
  }
  r->kind = static_cast<uint32_t>(kind);
  return true;
}

}  // namespace zworld::zorder::keys
