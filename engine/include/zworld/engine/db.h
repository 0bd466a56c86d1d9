// DB: a persistent, ordered key-value store (an LSM tree).
//
//   std::unique_ptr<DB> db;
//   Status s = DB::Open(options, "/path/to/folder", &db);
//   s = db->Put(WriteOptions(), "key", "value");
//   std::string v;
//   s = db->Get(ReadOptions(), "key", &v);
//
// Keys are ordered as unsigned bytes. Every method returns a Status; none throws.
// Thread safety: a DB may be used by many threads at once without outside locking.
// Only one process may open a data folder at a time (the LOCK file).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "zworld/engine/iterator.h"
#include "zworld/engine/options.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"
#include "zworld/engine/write_batch.h"

namespace zworld::engine {

// A consistent read view of the DB at one point in time. Obtain from GetSnapshot and give
// back with ReleaseSnapshot; the DB keeps every version a live snapshot can see.
class Snapshot {
 protected:
  virtual ~Snapshot() = default;
};

// One live entry handed to a ScanVisitor.
struct ScanEntry {
  Slice key;
  Slice value;
};

// Receives the entries of DB::Scan in key order, a run (up to one block) at a time.
class ScanVisitor {
 public:
  enum class Next {
    kContinue,  // hand me the next run
    kStop,      // end the scan, DB::Scan returns OK
    kSeek,      // resume at the first key >= *seek_to (which must be > the run's last key)
  };
  virtual ~ScanVisitor() = default;
  // run holds one or more consecutive live entries; its Slices are valid only during the
  // call. Return kSeek after assigning *seek_to to skip forward.
  virtual Next Visit(std::span<const ScanEntry> run, std::string* seek_to) = 0;
};

struct ScanOptions {
  // Optional: given the summary a TableCollector stored for a data block, return false if
  // no entry of that block can interest the visitor. The engine then skips the block
  // without reading it, but only where this cannot surface an older version of a key that
  // the block shadows (no other source of the scan has a key inside the block's key range).
  std::function<bool(const Slice& block_summary)> block_filter;
};

// Counters since Open (GetStats), also printed by GetProperty("zworld.stats").
struct DBStats {
  uint64_t writes = 0;        // DB::Write calls (Put and Delete are one write each)
  uint64_t write_groups = 0;  // WAL appends (several writes may share one: group commit)
  uint64_t wal_syncs = 0;
  uint64_t bytes_written = 0;  // user bytes in WriteBatches
  uint64_t gets = 0;
  uint64_t flushes = 0;
  uint64_t compactions = 0;   // merges that rewrote tables
  uint64_t tables_moved = 0;  // tables moved down a level without a rewrite
  uint64_t compaction_bytes_read = 0;
  uint64_t compaction_bytes_written = 0;
  uint64_t stall_micros = 0;     // time writers waited because L0 or memtables were full
  uint64_t slowdown_writes = 0;  // writes delayed by 1 ms because L0 was deep
  uint64_t stopped_writes = 0;   // writes that waited for compaction or flush
  uint64_t block_cache_hits = 0;
  uint64_t block_cache_misses = 0;
  uint64_t bloom_useful = 0;         // Gets that a bloom filter answered without a block read
  uint64_t scan_blocks_read = 0;     // data blocks visited by Scan
  uint64_t scan_blocks_skipped = 0;  // data blocks Scan skipped through ScanOptions::block_filter
  uint64_t l0_depth = 0;             // the most L0 tables one key is in (Options' L0 triggers)
  uint64_t files_per_level[8] = {};
  uint64_t bytes_per_level[8] = {};
};

class DB {
 public:
  // Opens (creating, per options) the database in folder path. On success *db holds it; on
  // error *db is null and the Status says why (Busy if another process holds the folder,
  // Corruption naming the file and offset if a file is damaged).
  static Status Open(const Options& options, const std::string& path, std::unique_ptr<DB>* db);

  DB() = default;
  DB(const DB&) = delete;
  DB& operator=(const DB&) = delete;
  // Closes the DB (see Close) if it is still open.
  virtual ~DB() = default;

  virtual Status Put(const WriteOptions& options, const Slice& key, const Slice& value) = 0;
  virtual Status Delete(const WriteOptions& options, const Slice& key) = 0;
  // Applies every operation of batch atomically. Once a background error has occurred (a
  // failed flush, compaction or fsync), every write fails with it until the DB is reopened.
  virtual Status Write(const WriteOptions& options, const WriteBatch& batch) = 0;

  // OK with *value set, NotFound if the key has no live value, or an error.
  virtual Status Get(const ReadOptions& options, const Slice& key, std::string* value) = 0;

  // An iterator over the DB as of options.snapshot (or now). The caller owns it and must
  // delete it before the DB is closed. Check status() after iterating.
  virtual std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) = 0;

  // The bulk scan path: hands the live entries with start <= key < limit (an empty limit
  // means no upper bound) to visitor, a run at a time, without a virtual call or a key copy
  // per entry. Same view as an iterator with the same ReadOptions.
  virtual Status Scan(const ReadOptions& options, const Slice& start, const Slice& limit,
                      const ScanOptions& scan_options, ScanVisitor* visitor) = 0;

  virtual const Snapshot* GetSnapshot() = 0;
  virtual void ReleaseSnapshot(const Snapshot* snapshot) = 0;

  // Writes the active memtable to an SSTable and waits until it is durable.
  virtual Status Flush() = 0;
  // Compacts every file overlapping [begin, end] down to the last level that holds data;
  // null bounds mean open ends. Waits for completion.
  virtual Status CompactRange(const Slice* begin, const Slice* end) = 0;

  // Named properties: "zworld.stats" (human-readable counters and levels),
  // "zworld.num-files-at-level<N>", "zworld.l0-depth" (the most L0 files one key can be in,
  // what the L0 triggers count), "zworld.sstables" (one line per file),
  // "zworld.approximate-memory-usage". False if the name is unknown.
  virtual bool GetProperty(const Slice& name, std::string* value) = 0;
  virtual DBStats GetStats() = 0;

  // Flushes the memtable (Options::flush_on_close), waits for background work, syncs the WAL
  // and releases the LOCK. Returns the first error met while closing; the DB is closed
  // regardless (what a failed flush left in the WAL is recovered at the next Open), and later
  // calls return Aborted.
  virtual Status Close() = 0;
};

// Deletes every file of the database in path (and the folder if it ends empty).
Status DestroyDB(const std::string& path, const Options& options);

}  // namespace zworld::engine
