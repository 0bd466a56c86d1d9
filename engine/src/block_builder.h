// BlockBuilder: writes the entries of one block (data, index or properties block) in the
// prefix-compressed layout of engine/FORMATS.md, "SSTable", "Block layout":
//
//   entry*  restart_offset(fixed32)*  num_restarts(fixed32)
//   index and properties entry = shared(varint32) unshared(varint32) value_len(varint32)
//                                key[shared..] value
//   data entry = shared(varint32) unshared(varint32) value_len(varint32)
//                user_key[shared..] tag_code(varint64) value
//
// In a data block, shared and unshared count bytes of the USER key (the internal key without
// its 8-byte tag), and the tag follows as its code C = sequence << 1 | type (TagCode in
// block.h; data blocks hold only types 0 and 1): varint64(C) when shared == 0, else
// varint64(zigzag(C - C of the previous entry)).
//
// Every restart_interval-th entry is a restart point: it stores its whole key (shared = 0)
// and its offset is listed in the restart array, so a reader can binary-search the block.
// Not thread-safe: one builder per thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "block.h"
#include "zworld/engine/slice.h"

namespace zworld::engine {

class BlockBuilder {
 public:
  // restart_interval >= 1 (values below 1 are treated as 1). kind decides the entry layout.
  BlockBuilder(int restart_interval, BlockKind kind);
  BlockBuilder(const BlockBuilder&) = delete;
  BlockBuilder& operator=(const BlockBuilder&) = delete;

  // Appends an entry. Keys must be added in the block's order (the caller checks it); keys
  // of a data block are internal keys (at least 8 bytes) of type 0 or 1 (asserted; the
  // caller, TableBuilder::Add, refuses other types with InvalidArgument).
  void Add(const Slice& key, const Slice& value);
  // Appends the restart array and returns the finished block. The Slice stays valid until
  // Reset or the builder is destroyed; no Add may follow before Reset.
  Slice Finish();
  // Empties the builder for the next block.
  void Reset();

  // Size of the block as Finish would return it now.
  size_t CurrentSizeEstimate() const;
  bool empty() const { return num_entries_ == 0; }
  uint32_t num_entries() const { return num_entries_; }
  // The key most recently added (empty if none since Reset).
  Slice last_key() const { return last_key_; }

 private:
  const int restart_interval_;
  const bool data_;  // BlockKind::kData
  std::string buffer_;
  std::vector<uint32_t> restarts_;
  std::string last_key_;
  uint64_t last_code_ = 0;  // data blocks: TagCode of last_key_
  int since_restart_ = 0;
  uint32_t num_entries_ = 0;
  bool finished_ = false;
};

}  // namespace zworld::engine
