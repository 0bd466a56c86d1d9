// TableBuilder: writes one SSTable (engine/FORMATS.md, "SSTable") from entries given in
// increasing internal-key order.
//
//   data block* [padding] [filter block] properties block, index block, footer
//
// Each data block is closed once it reaches options.block_size bytes; its index entry holds
// the block's exact last internal key and, as value, the BlockHandle followed by the
// varint32-length-prefixed summary from options.table_collector (empty without one).
//
// One thread at a time. The builder does not own the file: the caller Syncs and Closes it
// after Finish, or removes it after Abandon.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "block_builder.h"
#include "bloom.h"
#include "format.h"
#include "table_properties.h"
#include "zworld/engine/env.h"
#include "zworld/engine/extension.h"
#include "zworld/engine/options.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

class TableBuilder {
 public:
  // Uses options.block_size, block_restart_interval, bloom_bits_per_key, compression,
  // zstd_level and table_collector. file (not owned) must stay open until Finish or
  // Abandon. file_name is used in error messages.
  TableBuilder(const Options& options, WritableFile* file, std::string file_name);
  // Requires that Finish or Abandon was called, or that the builder was never used.
  ~TableBuilder();
  TableBuilder(const TableBuilder&) = delete;
  TableBuilder& operator=(const TableBuilder&) = delete;

  // Appends an entry. ikey must be a valid internal key (dbformat.h) greater than the
  // previous one; otherwise status() becomes InvalidArgument and the entry is dropped.
  // After an error, Add does nothing.
  void Add(const Slice& ikey, const Slice& value);
  // OK, or the first error (a failed Append, a bad key).
  Status status() const { return status_; }
  // Writes the last data block, the filter, properties and index blocks and the footer.
  // Does not Sync or Close the file. Returns status().
  Status Finish();
  // Stops building; the file holds garbage and should be removed by the caller.
  void Abandon();

  uint64_t NumEntries() const { return props_.num_entries; }
  // Bytes written to the file so far (the final file size after Finish).
  uint64_t FileSize() const { return offset_; }
  // Complete after Finish; before that, the counters cover the entries added so far.
  const TableProperties& properties() const { return props_; }

 private:
  void FlushDataBlock();
  // Writes block (compressing it if allowed and worthwhile) and its trailer at offset_.
  void WriteBlock(const Slice& block, bool may_compress, BlockHandle* handle);
  void WriteRaw(const Slice& data);
  void WriteProperties(BlockHandle* handle);

  const Options options_;
  WritableFile* const file_;
  const std::string file_name_;
  Status status_;
  uint64_t offset_ = 0;
  bool closed_ = false;

  BlockBuilder data_block_;
  BlockBuilder index_block_;
  std::unique_ptr<BloomBuilder> bloom_;
  std::unique_ptr<TableCollector> collector_;
  std::string last_key_;  // last internal key added
  std::string summary_;   // scratch for collector summaries
  std::string index_value_;
  std::string compressed_;
  void* zstd_cctx_ = nullptr;  // ZSTD_CCtx*, created on first use
  TableProperties props_;
};

}  // namespace zworld::engine
