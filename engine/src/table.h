// Table: an open, immutable SSTable (engine/FORMATS.md, "SSTable"). Open reads and checks
// the footer, the index, properties and filter blocks, then serves point lookups, ordered
// iteration and the block-at-a-time scan source.
//
// Data blocks are read on demand. A block's CRC32C is checked when it is read from the
// file; afterwards it is trusted (a block cache hit, or a block of a mapped file read in
// place), unless ReadOptions::verify_checksums or Options::paranoid_checks asks for a check
// on every read (those reads bypass the block cache).
//
// Thread safety: immutable and safe for concurrent use once opened. Iterators and scan
// sources are used by one thread at a time and must be destroyed before the Table.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "block.h"
#include "block_cache.h"
#include "bloom.h"
#include "dbformat.h"
#include "format.h"
#include "scan_source.h"
#include "table_properties.h"
#include "zworld/engine/env.h"
#include "zworld/engine/iterator.h"
#include "zworld/engine/options.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

class Table {
 public:
  // Opens the table held by file (file_size bytes). file_name is used in every error
  // ("000012.sst: block checksum mismatch at offset 8192"); file_number keys the block
  // cache, which may be null. On success *table holds the table; on error *table is null
  // and the status is Corruption (naming the file and offset), NotSupported (another
  // format version) or the file's read error.
  static Status Open(const Options& options, const std::string& file_name, uint64_t file_number,
                     std::unique_ptr<RandomAccessFile> file, uint64_t file_size, BlockCache* cache,
                     std::unique_ptr<Table>* table);
  ~Table();
  Table(const Table&) = delete;
  Table& operator=(const Table&) = delete;

  // An iterator over the table's internal keys and values. Errors surface through its
  // status().
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) const;

  // Looks up the newest entry of key.user_key() with sequence <= the lookup's sequence.
  // kFound: *value holds the value; kDeleted: the newest such entry is a deletion; kAbsent:
  // the table has no such entry. The bloom filter is tried first; *bloom_skipped (if not
  // null) is set to whether it ruled the key out without reading a data block. Returns OK
  // or the error met while reading (then *result is kAbsent).
  Status Get(const ReadOptions& options, const LookupKey& key, std::string* value,
             LookupResult* result, bool* bloom_skipped = nullptr) const;

  // The bulk scan path over this table (scan_source.h): one data block decoded at a time;
  // PeekNextBlock/SkipNextBlock use only the index.
  std::unique_ptr<ScanSource> NewScanSource(const ReadOptions& options) const;

  const TableProperties& properties() const { return props_; }

  // Approximate file offset where ikey's data is or would be: the offset of the first data
  // block whose last key is >= ikey, or the end of the data blocks.
  uint64_t ApproximateOffsetOf(const Slice& ikey) const;

  // False only if no entry of user_key is in the table (bloom filter; true without one).
  bool KeyMayMatch(const Slice& user_key) const;

  const std::string& file_name() const { return file_name_; }
  uint64_t file_number() const { return file_number_; }
  uint64_t file_size() const { return file_size_; }
  size_t num_data_blocks() const { return index_.size(); }
  // The exact last internal key, handle and collector summary of data block i
  // (i < num_data_blocks()). The Slices stay valid for the Table's life.
  Slice BlockLastKey(size_t i) const { return index_[i].last_key; }
  Slice BlockSummary(size_t i) const { return index_[i].summary; }
  BlockHandle DataBlockHandle(size_t i) const { return index_[i].handle; }

  // Internal: a data block held for reading. Either a view on a mapped file (no allocation)
  // or shared ownership of a heap block (cached or not).
  class PinnedBlock {
   public:
    const Block* get() const { return block_; }
    void Reset() {
      block_ = nullptr;
      shared_.reset();
    }

   private:
    friend class Table;
    const Block* block_ = nullptr;
    Block view_;
    std::shared_ptr<const Block> shared_;
  };
  // Loads data block i (i < num_data_blocks()) into *pinned, reading and checking it as
  // the class comment says. Corruption names the file and the block offset.
  Status ReadDataBlock(const ReadOptions& options, size_t i, PinnedBlock* pinned) const;
  // The index of the first data block whose last key is >= ikey (num_data_blocks() if none).
  size_t FindBlock(const Slice& ikey) const;
  // A hint for scans, which read their blocks in order: starts bringing data block i
  // (i < num_data_blocks()) of a mapped file into the CPU caches, so that reading it soon
  // after costs fewer cache misses. Does nothing when the file is not mapped.
  void PrefetchDataBlock(size_t i) const;

 private:
  struct IndexEntry {
    Slice last_key;
    Slice summary;
    BlockHandle handle;
  };

  Table() = default;
  Status ReadMetaBlocks(const Footer& footer);

  Options options_;
  std::string file_name_;
  uint64_t file_number_ = 0;
  uint64_t file_size_ = 0;
  std::unique_ptr<RandomAccessFile> file_;
  bool mapped_ = false;
  BlockCache* cache_ = nullptr;

  Block index_block_;
  std::vector<IndexEntry> index_;  // points into index_block_
  // FindBlock's fast path. Every index key's user key starts with common_prefix_ (the
  // common prefix of the first and last); index_window_[i] holds the next 8 bytes of block
  // i's last user key, big-endian, zero-padded. Window order implies key order; equal
  // windows are resolved with full comparisons.
  Slice common_prefix_;
  std::vector<uint64_t> index_window_;
  uint64_t data_end_ = 0;  // end of the last data block's trailer
  BlockContents filter_contents_;
  BloomFilter filter_;
  bool has_filter_ = false;
  TableProperties props_;
  // Per data block: set once its checksum was verified (mapped, uncompressed blocks).
  std::unique_ptr<std::atomic<uint8_t>[]> verified_;
};

}  // namespace zworld::engine
