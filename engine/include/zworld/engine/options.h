// Options of a DB (fixed when it is opened) and of each read and write.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "zworld/engine/env.h"
#include "zworld/engine/extension.h"

namespace zworld::engine {

class Snapshot;

enum class Compression : uint8_t {
  kNone = 0,
  kZstd = 1,
};

struct Options {
  // Where files, threads and time come from. Default: Env::Default() (POSIX).
  Env* env = Env::Default();

  // Create the data folder if it is missing. Default: true.
  bool create_if_missing = true;
  // Fail Open if the data folder already holds a database. Default: false.
  bool error_if_exists = false;
  // Verify every block checksum on every read, not only on the first read of a block.
  // Default: false (blocks are verified when they enter the block cache).
  bool paranoid_checks = false;

  // Bytes of the active memtable before it is frozen and flushed. Default: 64 MiB.
  size_t write_buffer_size = 64u << 20;
  // Close flushes the memtable first, so the folder keeps no write-ahead log to replay: a
  // smaller folder and a faster next Open, for the time of one flush at Close. Default: true.
  bool flush_on_close = true;
  // Frozen memtables waiting for flush before writes stall. Default: 2.
  int max_immutable_memtables = 2;

  // Uncompressed bytes per SSTable data block. Default: 4 KiB.
  size_t block_size = 4096;
  // Keys between restart points of prefix compression. Default: 16.
  int block_restart_interval = 16;
  // Bloom filter bits per key; 0 disables filters. 10 gives about 1% false positives.
  // Default: 10.
  int bloom_bits_per_key = 10;
  // Block compression. Default: none (the spatial keyspace compresses poorly and the scan
  // path prefers raw blocks).
  Compression compression = Compression::kNone;
  // zstd level when compression == kZstd. Default: 1.
  int zstd_level = 1;
  // Byte budget of the shared block cache (uncompressed blocks); 0 disables it.
  // Default: 128 MiB.
  size_t block_cache_bytes = 128u << 20;
  // Open SSTable readers kept. Default: 1000.
  int max_open_files = 1000;

  // Target size of one SSTable written by compaction. Default: 8 MiB.
  uint64_t target_file_size = 8u << 20;
  // Number of levels, L0 included. Default: 7.
  int num_levels = 7;
  // The L0 triggers count the L0 depth: the most L0 files any one key can be in (each one
  // more place a read must look). Without a table_partitioner it is the L0 file count.
  // L0 depth that triggers a compaction into L1. Default: 4.
  int l0_compaction_trigger = 4;
  // L0 depth at which each write is delayed by 1 ms. Default: 8.
  int l0_slowdown_writes_trigger = 8;
  // L0 depth at which writes wait for compaction. Default: 12.
  int l0_stop_writes_trigger = 12;
  // Maximum bytes of L1; each next level holds level_size_multiplier times more.
  // Default: 64 MiB and 10.
  uint64_t max_bytes_for_level_base = 64u << 20;
  int level_size_multiplier = 10;

  // Summaries per block and per file for the layers above (extension.h). Default: none.
  std::shared_ptr<TableCollectorFactory> table_collector;
  // Sees reads and writes and chooses resident keys at flush (extension.h). Default: none.
  std::shared_ptr<AccessPolicy> access_policy;
  // Where SSTables must end (extension.h). Default: none (files end by size only).
  std::shared_ptr<TablePartitioner> table_partitioner;

  // Write a human-readable log of opens, recoveries, flushes and compactions to the file
  // LOG in the data folder. Default: true.
  bool info_log = true;
};

struct ReadOptions {
  // Verify checksums of every block read for this call. Default: false.
  bool verify_checksums = false;
  // Put blocks read for this call into the block cache. Default: true.
  bool fill_cache = true;
  // Read as of this snapshot (from DB::GetSnapshot); null reads the latest state.
  const Snapshot* snapshot = nullptr;
};

struct WriteOptions {
  // false: the write reaches the WAL (the OS page cache) before it is acknowledged; a
  // process crash loses nothing, a machine crash may lose the last writes.
  // true: the WAL is fsynced before the write is acknowledged; it survives power loss.
  // Default: false.
  bool sync = false;
};

}  // namespace zworld::engine
