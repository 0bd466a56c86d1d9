// Block: a read-only view of one block written by BlockBuilder (engine/FORMATS.md, "SSTable",
// "Block layout"), BlockCursor: a non-virtual cursor over its entries, and the bulk decoder
// the scan path uses.
//
// Data blocks store each internal key as a prefix-compressed user key and a varint64 tag
// code (TagCode below: whole when the entry shares no prefix, else a zigzag delta from the
// previous entry's code); every reader here rebuilds the whole internal key (user key ++ fixed64
// tag), so callers see the same keys whatever the block kind.
//
// Every decoder here is bounds-checked: a malformed block (bad restart array, varints that
// run past the end, a shared prefix longer than the previous key, a cut tag) yields a
// Corruption status naming the file and the block's offset, never an out-of-bounds read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "format.h"
#include "scan_source.h"
#include "zworld/engine/iterator.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

// What a block holds, which decides its entry layout and key order (engine/FORMATS.md,
// "Block layout").
enum class BlockKind : uint8_t {
  // Internal keys (dbformat.h) in internal-key order. An entry stores the user key,
  // prefix-compressed against the previous entry's user key, then the tag's code (TagCode)
  // as a varint64: whole if the entry shares no prefix, else zigzag(code - previous code).
  kData,
  // Internal keys in internal-key order, each stored whole in a plain entry.
  kIndex,
  // Plain entries (keys prefix-compressed as bytes) in bytewise order.
  kProperties,
};

// The tag code of a data block entry (table format 3): sequence << 1 | type, for the types
// 0 and 1 that data blocks hold. Codes are below kTagCodeLimit (2^57).
inline constexpr uint64_t kTagCodeLimit = uint64_t{1} << 57;
inline constexpr uint64_t TagCode(uint64_t tag) { return (tag >> 8) << 1 | (tag & 1); }
inline constexpr uint64_t TagOfCode(uint64_t code) { return (code >> 1) << 8 | (code & 1); }
// Zigzag coding of a signed code difference: 0, -1, 1, -2, ... -> 0, 1, 2, 3, ...
inline constexpr uint64_t ZigzagEncode(int64_t d) {
  return (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63);
}
inline constexpr int64_t ZigzagDecode(uint64_t z) {
  return static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

// Immutable after construction; thread-safe. Movable.
class Block {
 public:
  Block() = default;
  // Takes over contents. When contents is not owned (a mapped file), the file must outlive
  // the Block. file_offset is where the block lives in its file (for error messages).
  Block(BlockContents contents, uint64_t file_offset);
  // A view of data, which must outlive the Block.
  Block(const Slice& data, uint64_t file_offset);
  Block(Block&&) noexcept = default;
  Block& operator=(Block&&) noexcept = default;

  // False when the restart array is malformed (cursors then report Corruption).
  bool well_formed() const { return well_formed_; }
  Slice data() const { return data_; }
  size_t size() const { return data_.size(); }
  uint64_t file_offset() const { return file_offset_; }
  uint32_t num_restarts() const { return num_restarts_; }
  // Offset of the restart array = end of the entries.
  uint32_t restart_array_offset() const { return restart_offset_; }
  uint32_t RestartPoint(uint32_t i) const;  // i < num_restarts()
  // Bytes of heap this block holds (0 for a view).
  size_t heap_bytes() const { return heap_ ? data_.size() : 0; }

 private:
  void Parse();

  Slice data_;
  std::unique_ptr<char[]> heap_;
  uint64_t file_offset_ = 0;
  uint32_t restart_offset_ = 0;
  uint32_t num_restarts_ = 0;
  bool well_formed_ = false;
};

// A cursor over one block's entries. Cheap to create on the stack (no allocation until a
// key longer than the inline buffer of std::string is assembled). key() and value() stay
// valid until the cursor moves; value() points into the block. One thread at a time; the
// block and file name passed to Init must outlive the cursor's use.
class BlockCursor {
 public:
  BlockCursor() = default;
  BlockCursor(const BlockCursor&) = delete;
  BlockCursor& operator=(const BlockCursor&) = delete;

  // Attaches to block (not positioned). A malformed block sets status() at once.
  void Init(const Block* block, const std::string* file_name, BlockKind kind);

  bool Valid() const { return valid_; }
  Slice key() const { return Slice(key_ptr_, key_len_); }
  Slice value() const { return value_; }
  // OK, or the first Corruption met (then Valid() is false until the next Init).
  const Status& status() const { return status_; }

  void SeekToFirst();
  void SeekToLast();
  // First entry with key >= target in the block's order.
  void Seek(const Slice& target);
  void Next();  // requires Valid()
  void Prev();  // requires Valid()

 private:
  int Compare(const Slice& a, const Slice& b) const;
  // Positions at restart point i without decoding it; the next ParseNext decodes it.
  void JumpToRestart(uint32_t i);
  // Decodes the entry at next_offset_. False at the end of the entries or on corruption.
  bool ParseNext();
  // The rest of ParseNext for index and properties blocks, after the entry header.
  bool ParsePlainEntry(const char* p, const char* limit, uint32_t shared, uint32_t unshared,
                       uint32_t value_len);
  // Compares the key stored at restart point i with target (<0, 0, >0) into *r. False on
  // corruption.
  bool CompareRestartKey(uint32_t i, const Slice& target, int* r);
  void Fail(const char* what);

  const Block* block_ = nullptr;
  const std::string* file_name_ = nullptr;
  const char* data_ = nullptr;
  uint32_t limit_ = 0;  // end of the entries (the restart array's offset)
  uint32_t num_restarts_ = 0;
  BlockKind kind_ = BlockKind::kData;

  uint32_t current_ = 0;        // offset of the current entry
  uint32_t next_offset_ = 0;    // offset of the entry after it
  uint32_t restart_index_ = 0;  // the restart interval holding current_
  const char* key_ptr_ = nullptr;
  size_t key_len_ = 0;
  // Holds the key when it had to be assembled (always for data blocks); its size is the room
  // it holds, not the key's length.
  std::string key_buf_;
  uint64_t tag_code_ = 0;  // data blocks: the current entry's TagCode
  Slice value_;
  bool valid_ = false;
  Status status_;
};

// Bytes the CPU moves between memory and its caches at once.
inline constexpr size_t kCacheLineSize = 64;

// Asks the CPU to start loading [p, p + n) into its caches: a hint for data that is about to
// be read and is probably not cached. Returns at once.
inline void PrefetchBytes(const char* p, size_t n) {
  for (size_t offset = 0; offset < n; offset += kCacheLineSize) __builtin_prefetch(p + offset);
}

// Decodes every entry of an internal-key block (kind kData or kIndex), from the first with
// key >= *target (or from the first entry if target is null) to the end, appending them to
// *entries. Values, and keys of an index block stored whole (no shared prefix), point into
// the block; keys assembled from a shared prefix, and every key of a data block (its tag is
// stored as a varint), are written to *key_buf, scratch storage the function sizes itself:
// its size is the room it holds, not the bytes used, and it is reused without being cleared
// by the next call (which invalidates the earlier keys). Entries point into it: keep it
// unchanged while they are used. Corruption names file_name and the block's offset.
Status DecodeBlockEntries(const Block& block, BlockKind kind, const std::string& file_name,
                          const Slice* target, std::vector<RawEntry>* entries,
                          std::string* key_buf);

// An Iterator over one block. The iterator shares ownership of block.
std::unique_ptr<Iterator> NewBlockIterator(std::shared_ptr<const Block> block,
                                           std::string file_name, BlockKind kind);

}  // namespace zworld::engine
