// Fixed-width and varint integer encodings used by every on-disk format
// (engine/FORMATS.md, "Integer encodings"). Little-endian unless the name says BigEndian.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "zworld/engine/slice.h"

namespace zworld::engine {

inline void EncodeFixed32(char* dst, uint32_t v) { std::memcpy(dst, &v, 4); }  // x86/ARM LE
inline void EncodeFixed64(char* dst, uint64_t v) { std::memcpy(dst, &v, 8); }
inline uint32_t DecodeFixed32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t DecodeFixed64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "formats assume a little-endian host");

inline void EncodeBigEndian64(char* dst, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(dst, &v, 8);
}
inline uint64_t DecodeBigEndian64(const char* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}

inline void PutFixed32(std::string* dst, uint32_t v) {
  char buf[4];
  EncodeFixed32(buf, v);
  dst->append(buf, 4);
}
inline void PutFixed64(std::string* dst, uint64_t v) {
  char buf[8];
  EncodeFixed64(buf, v);
  dst->append(buf, 8);
}

// Varints: 7 bits per byte, low groups first, high bit set on every byte but the last.
char* EncodeVarint32(char* dst, uint32_t v);
char* EncodeVarint64(char* dst, uint64_t v);
void PutVarint32(std::string* dst, uint32_t v);
void PutVarint64(std::string* dst, uint64_t v);
// Varint32 length followed by the bytes.
void PutLengthPrefixedSlice(std::string* dst, const Slice& value);
int VarintLength(uint64_t v);

// Parse from [p, limit). Return the byte after the value, or null if it does not fit or is
// malformed.
const char* GetVarint32Ptr(const char* p, const char* limit, uint32_t* v);
const char* GetVarint64Ptr(const char* p, const char* limit, uint64_t* v);
// Consume from the front of *input. Return false if malformed or truncated.
bool GetVarint32(Slice* input, uint32_t* v);
bool GetVarint64(Slice* input, uint64_t* v);
bool GetLengthPrefixedSlice(Slice* input, Slice* result);

// Fast path for one-byte varints, the common case inside blocks.
inline const char* DecodeVarint32Fast(const char* p, const char* limit, uint32_t* v) {
  if (p < limit) {
    uint32_t b = static_cast<unsigned char>(*p);
    if ((b & 128) == 0) {
      *v = b;
      return p + 1;
    }
  }
  return GetVarint32Ptr(p, limit, v);
}

}  // namespace zworld::engine
