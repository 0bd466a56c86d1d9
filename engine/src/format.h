// SSTable on-disk constants and the pieces shared by the table writer and reader: block
// handles, the footer, block trailers and reading one block from a file.
// The byte layout is specified in engine/FORMATS.md, Part 2 "SSTable"; every constant here
// is defined there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "zworld/engine/env.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

// The last 8 bytes of every SSTable. Little-endian, so the file ends with the ASCII bytes
// "ZWSSTABL".
constexpr uint64_t kTableMagicNumber = 0x4c4241545353575aull;
// Bumped whenever the layout changes incompatibly. Readers refuse other versions.
// Version 2: data block entries store the user key prefix-compressed and the tag as a varint64
// (version 1 stored the whole internal key prefix-compressed). Version 3: the tag is stored as
// its code sequence << 1 | type, whole in an entry that shares no prefix, else as a zigzag
// delta from the previous entry's code. Nothing reads versions 1 and 2.
constexpr uint32_t kTableFormatVersion = 3;

// Every block is followed by a 5-byte trailer: u8 compression type, fixed32 masked CRC32C of
// the stored block bytes followed by the type byte.
constexpr size_t kBlockTrailerSize = 5;

// Compression type byte of a block trailer.
enum BlockCompressionType : uint8_t {
  kBlockRaw = 0,
  kBlockZstd = 1,  // one zstd frame whose header records the uncompressed size
};

// A compressed block must decompress to at most this many bytes (guards the allocation
// against a damaged frame header that still passes the checksum). The writer stores larger
// blocks raw.
constexpr size_t kMaxUncompressedBlockSize = 64u << 20;
// Offsets inside a block are fixed32: a stored block must be smaller than this.
constexpr uint64_t kMaxStoredBlockSize = UINT32_MAX;

// The filter block starts at a file offset that is a multiple of this (zero padding before
// it), so that with an mmapped file each 64-byte bloom line is one cache line.
constexpr size_t kFilterAlignment = 64;

// Where a block lives in the file: offset of its first byte and its stored size, which
// excludes the trailer. Encoded as two varint64s.
class BlockHandle {
 public:
  static constexpr size_t kMaxEncodedLength = 20;

  BlockHandle() = default;
  BlockHandle(uint64_t offset, uint64_t size) : offset_(offset), size_(size) {}

  uint64_t offset() const { return offset_; }
  uint64_t size() const { return size_; }
  void set_offset(uint64_t v) { offset_ = v; }
  void set_size(uint64_t v) { size_ = v; }
  // The first byte after the block's trailer.
  uint64_t end() const { return offset_ + size_ + kBlockTrailerSize; }

  void EncodeTo(std::string* dst) const;
  // Consumes a handle from the front of *input. False if truncated or malformed.
  bool DecodeFrom(Slice* input);

 private:
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
};

// The fixed-size tail of every SSTable:
//   filter handle, properties handle, index handle (varints), zero padding to 60 bytes,
//   fixed32 format version, fixed32 masked CRC32C of bytes [0, 64), fixed64 magic.
// A table without a bloom filter has a filter handle of size 0.
struct Footer {
  static constexpr size_t kEncodedLength = 76;

  BlockHandle filter;
  BlockHandle properties;
  BlockHandle index;
  uint32_t format_version = kTableFormatVersion;

  // Appends exactly kEncodedLength bytes.
  void EncodeTo(std::string* dst) const;
  // Parses the kEncodedLength bytes of input, which were read at file_offset of file_name.
  // Corruption (naming the file and offset) on a bad magic number, checksum or handle;
  // NotSupported for a well-formed footer of another format version.
  Status DecodeFrom(const Slice& input, const std::string& file_name, uint64_t file_offset);
};

// The bytes of one block after the trailer has been checked and the block decompressed.
// data points into heap (when heap is set), or into memory the file owns for its whole life
// (a mapped file: then the block is usable only while the file is open).
struct BlockContents {
  Slice data;
  std::unique_ptr<char[]> heap;
  bool owned() const { return heap != nullptr; }
};

// Reads the block at handle from file (named file_name in errors), checks the trailer's
// CRC32C when verify_checksum is set, and decompresses it. Uncompressed blocks of a mapped
// file are referenced, not copied. Returns Corruption naming the file and the block's offset
// on a short read, a checksum mismatch, an unknown compression type or a bad zstd frame, or
// the file's own error. Thread-safe.
Status ReadBlock(const RandomAccessFile* file, const std::string& file_name,
                 const BlockHandle& handle, bool verify_checksum, BlockContents* result);

// "<file_name>: <what> at offset <offset>" as a Corruption status.
Status CorruptionAt(const std::string& file_name, uint64_t offset, const char* what);

}  // namespace zworld::engine
