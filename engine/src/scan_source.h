// ScanSource: one sorted run (a memtable or an SSTable) as the bulk scan path reads it, a
// block of decoded entries at a time. DB::Scan merges several sources (db_scan.cc).
//
// Virtual calls happen per block, never per entry: the merger works on the span that
// Entries() returns. Keys are internal keys (dbformat.h).
//
// Thread safety: one thread at a time per source.
#pragma once

#include <cstddef>
#include <span>

#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

struct RawEntry {
  Slice ikey;   // internal key: user key ++ tag
  Slice value;  // empty for deletions
};

class ScanSource {
 public:
  virtual ~ScanSource() = default;

  // Positions at the first entry whose internal key is >= target_ikey and loads its block
  // (moving on to later blocks if the target is past the end of one). Afterwards Entries()
  // starts at that entry, or the source is exhausted.
  virtual void Seek(const Slice& target_ikey) = 0;

  // The entries of the current block from the current position on, in order. Empty when
  // the block is used up (call NextBlock) or the source is exhausted. The Slices stay valid
  // until the next Seek, NextBlock or SkipNextBlock, or until the source is destroyed.
  virtual std::span<const RawEntry> Entries() const = 0;
  // Drops the first n entries of Entries() (n <= Entries().size()). Never loads a block.
  virtual void Consume(size_t n) = 0;

  // Loads the block after the current one. Returns false (and Entries() stays empty) when
  // there is none, or on error: check status().
  virtual bool NextBlock() = 0;

  // Block skipping. If the source can describe the block after the current one without
  // reading it, sets *last_ikey to that block's last internal key and *summary to the
  // TableCollector summary stored with it (maybe empty), and returns true. Returns false if
  // there is no next block or the source cannot tell (memtables). The Slices stay valid
  // until the source moves.
  virtual bool PeekNextBlock(Slice* last_ikey, Slice* summary) const {
    (void)last_ikey;
    (void)summary;
    return false;
  }
  // Moves past the block PeekNextBlock described without reading it; the current block
  // stays used up. Precondition: the last PeekNextBlock returned true.
  virtual void SkipNextBlock() {}

  virtual Status status() const = 0;
  // Data blocks this source has loaded and skipped (stats).
  virtual uint64_t blocks_read() const { return 0; }
  virtual uint64_t blocks_skipped() const { return 0; }
};

}  // namespace zworld::engine
