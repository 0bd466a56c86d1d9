// Extension points for the layers above the engine. The engine knows nothing of space or
// of access frequency; zorder/ and neuro/ plug in through these two interfaces.
//
// (a) TableCollector: sees every entry written into an SSTable and may attach a small
//     summary to each data block (stored in the index block next to the block's handle)
//     and to the whole file (stored in the properties block). zorder/ stores a bounding box
//     per block so box queries skip blocks; see ScanOptions::block_filter in db.h.
// (b) AccessPolicy: sees reads and writes of user keys and, when a memtable is flushed,
//     chooses which keys stay resident in memory. neuro/ implements it.
// (c) TablePartitioner: chooses where SSTables must end, so that keyspaces written in
//     different ways never share a file. zorder/ cuts between its keyspaces.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "zworld/engine/slice.h"

namespace zworld::engine {

// One collector per SSTable being built, used by one thread (the flush or compaction
// thread that builds the file).
class TableCollector {
 public:
  virtual ~TableCollector() = default;
  // Called for every entry written to the table, in key order. Deletions have is_deletion
  // set and an empty value. The Slices are valid only during the call.
  virtual void Add(const Slice& user_key, const Slice& value, bool is_deletion) = 0;
  // A data block is complete: everything Added since the last FinishBlock belongs to it.
  // Append the block's summary to *out (leave it empty for none).
  virtual void FinishBlock(std::string* out) = 0;
  // The table is complete: append the file's summary to *out (leave it empty for none).
  virtual void FinishTable(std::string* out) = 0;
};

// Makes one collector per table. Shared by all threads: must be thread-safe.
class TableCollectorFactory {
 public:
  virtual ~TableCollectorFactory() = default;
  // A short stable name, stored in each table so a reader can tell whose summaries it holds.
  virtual const char* Name() const = 0;
  virtual std::unique_ptr<TableCollector> NewCollector() = 0;
};

// Sees accesses to user keys. Called from the reading and writing threads, concurrently:
// implementations must be thread-safe and fast (they sit on the read and write paths).
class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  virtual void OnRead(const Slice& user_key) = 0;
  virtual void OnWrite(const Slice& user_key) = 0;
  // Called while a memtable is flushed, once per live user key in it. Returning true keeps
  // the key's latest value resident: it is carried into the new memtable and re-logged in
  // the current WAL, so no acknowledged write depends on a WAL that is deleted.
  virtual bool KeepResident(const Slice& user_key) = 0;
};

// Where flushes and compactions must start a new SSTable (RocksDB's SstPartitioner). A file
// spanning two keyspaces overlaps every file of both; kept apart, a keyspace that is only
// appended (say, ids in increasing order) produces files that overlap nothing, and
// compaction moves such a file down a level instead of rewriting it, while a keyspace that
// churns is merged without dragging the other along. Shared by all threads: thread-safe.
class TablePartitioner {
 public:
  virtual ~TablePartitioner() = default;
  // True if the table being written must end before user_key, which follows prev_user_key
  // (a smaller key, the last one written to the table).
  virtual bool ShouldCut(const Slice& prev_user_key, const Slice& user_key) const = 0;
  // Whether a table whose first key is first_user_key gets a bloom filter (when
  // Options::bloom_bits_per_key > 0). A filter only answers "surely absent"; a keyspace that
  // is only scanned, or looked up only for keys known to exist, pays its bytes for nothing.
  // Decided per table and recorded in it (a table has a filter or not), so the answer may
  // change between opens. Default: true.
  virtual bool WantsFilter(const Slice& first_user_key) const {
    (void)first_user_key;
    return true;
  }
};

// Cuts wherever the first prefix_len bytes of the user key change (keys shorter than
// prefix_len compare whole).
std::shared_ptr<TablePartitioner> NewPrefixTablePartitioner(size_t prefix_len);

}  // namespace zworld::engine
