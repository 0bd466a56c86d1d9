// Internal keys: what the memtable, the SSTables and compaction order by.
//
//   internal key = user key bytes ++ fixed64 little-endian tag,  tag = sequence << 8 | type
//
// Ordered by user key ascending (unsigned bytes), then by sequence descending, so the newest
// version of a user key comes first. engine/FORMATS.md, "Internal keys".
#pragma once

#include <cstdint>
#include <string>

#include "coding.h"
#include "zworld/engine/slice.h"

namespace zworld::engine {

using SequenceNumber = uint64_t;
// Sequence numbers use 56 bits; the low 8 bits of a tag hold the type.
constexpr SequenceNumber kMaxSequenceNumber = (uint64_t{1} << 56) - 1;

enum ValueType : uint8_t {
  kTypeDeletion = 0,
  kTypeValue = 1,
};
// When seeking, the type that sorts first among entries with the same user key and sequence
// (types sort descending, like sequences).
constexpr ValueType kValueTypeForSeek = kTypeValue;

constexpr size_t kTagSize = 8;

// What a point lookup in one source (memtable or SSTable) found for a user key.
enum class LookupResult {
  kAbsent,   // the source holds no visible version: look in older sources
  kFound,    // the newest visible version is a value (returned)
  kDeleted,  // the newest visible version is a deletion: stop, the key is not found
};

inline uint64_t PackTag(SequenceNumber seq, ValueType t) { return (seq << 8) | t; }

struct ParsedInternalKey {
  Slice user_key;
  SequenceNumber sequence = 0;
  ValueType type = kTypeValue;
};

inline Slice ExtractUserKey(const Slice& ikey) {
  return Slice(ikey.data(), ikey.size() - kTagSize);
}
inline uint64_t ExtractTag(const Slice& ikey) {
  return DecodeFixed64(ikey.data() + ikey.size() - kTagSize);
}

// False if ikey is too short or has an unknown type.
inline bool ParseInternalKey(const Slice& ikey, ParsedInternalKey* out) {
  if (ikey.size() < kTagSize) return false;
  uint64_t tag = ExtractTag(ikey);
  auto type = static_cast<uint8_t>(tag & 0xff);
  if (type > kTypeValue) return false;
  out->user_key = ExtractUserKey(ikey);
  out->sequence = tag >> 8;
  out->type = static_cast<ValueType>(type);
  return true;
}

inline void AppendInternalKey(std::string* dst, const Slice& user_key, SequenceNumber seq,
                              ValueType t) {
  dst->append(user_key.data(), user_key.size());
  PutFixed64(dst, PackTag(seq, t));
}

// <0, 0, >0: user key ascending, then tag (sequence, type) descending.
inline int CompareInternalKey(const Slice& a, const Slice& b) {
  int r = ExtractUserKey(a).compare(ExtractUserKey(b));
  if (r == 0) {
    uint64_t ta = ExtractTag(a), tb = ExtractTag(b);
    if (ta > tb) r = -1;
    else if (ta < tb) r = +1;
  }
  return r;
}

// An owned internal key.
class InternalKey {
 public:
  InternalKey() = default;
  InternalKey(const Slice& user_key, SequenceNumber seq, ValueType t) {
    AppendInternalKey(&rep_, user_key, seq, t);
  }
  void DecodeFrom(const Slice& s) { rep_.assign(s.data(), s.size()); }
  Slice Encode() const { return rep_; }
  Slice user_key() const { return ExtractUserKey(rep_); }
  bool empty() const { return rep_.empty(); }
  void Clear() { rep_.clear(); }

 private:
  std::string rep_;
};

// The key a point lookup searches for: the newest version of user_key visible at sequence.
// memtable_key() is the varint32-length-prefixed internal key the memtable stores;
// internal_key() is the internal key alone.
class LookupKey {
 public:
  LookupKey(const Slice& user_key, SequenceNumber sequence) {
    size_t ikey_len = user_key.size() + kTagSize;
    char* p = buf_;
    if (ikey_len + 5 > sizeof(buf_)) {
      heap_.resize(ikey_len + 5);
      p = heap_.data();
    }
    start_ = p;
    p = EncodeVarint32(p, static_cast<uint32_t>(ikey_len));
    kstart_ = p;
    std::memcpy(p, user_key.data(), user_key.size());
    p += user_key.size();
    EncodeFixed64(p, PackTag(sequence, kValueTypeForSeek));
    end_ = p + kTagSize;
  }
  LookupKey(const LookupKey&) = delete;
  LookupKey& operator=(const LookupKey&) = delete;

  Slice memtable_key() const { return Slice(start_, end_ - start_); }
  Slice internal_key() const { return Slice(kstart_, end_ - kstart_); }
  Slice user_key() const { return Slice(kstart_, end_ - kstart_ - kTagSize); }

 private:
  const char* start_;
  const char* kstart_;
  const char* end_;
  char buf_[200];
  std::string heap_;
};

}  // namespace zworld::engine
