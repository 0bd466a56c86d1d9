// The bloom filter of an SSTable: one filter per file over the distinct USER keys of its
// entries (engine/FORMATS.md, "SSTable", "Filter block").
//
// Layout: num_lines * 64 bytes of bits, then u8 num_probes, then u8 kind (1 = XXH3_64bits,
// cache-line blocked). A key's 64-bit XXH3 hash picks one 64-byte line (the high 32 bits)
// and num_probes bits inside that line (derived from the low 32 bits), so a lookup
// touches one cache line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "zworld/engine/slice.h"

namespace zworld::engine {

// The hash every filter entry and probe starts from.
uint64_t BloomHash(const Slice& user_key);

// Collects key hashes and writes a filter block. One thread.
class BloomBuilder {
 public:
  // bits_per_key > 0.
  explicit BloomBuilder(int bits_per_key);

  // Adds a key; consecutive duplicates are counted once.
  void AddKey(const Slice& user_key) { AddHash(BloomHash(user_key)); }
  void AddHash(uint64_t hash);
  size_t num_keys() const { return hashes_.size(); }
  // Appends the filter block to *dst and clears the collected hashes.
  void Finish(std::string* dst);

 private:
  int bits_per_key_;
  int num_probes_;
  std::vector<uint64_t> hashes_;
};

// A parsed filter block. Refers to the block's bytes, which must outlive it. Thread-safe.
class BloomFilter {
 public:
  BloomFilter() = default;
  // False if contents is not a well-formed filter block (then the filter matches all keys).
  bool Init(const Slice& contents);

  // False only if user_key was certainly not added.
  bool MayMatch(const Slice& user_key) const { return MayMatchHash(BloomHash(user_key)); }
  bool MayMatchHash(uint64_t hash) const;

 private:
  const uint8_t* bits_ = nullptr;
  uint32_t num_lines_ = 0;
  int num_probes_ = 0;
};

}  // namespace zworld::engine
