// log::Writer: appends records to a write-ahead log file (log_format.h, engine/FORMATS.md).
//
// Thread safety: one thread at a time. The Writer does not own the file.
#pragma once

#include <cstdint>
#include <string>

#include "log_format.h"
#include "zworld/engine/env.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine::log {

class Writer {
 public:
  // Writes to the start of an empty file. dest must outlive the Writer.
  explicit Writer(WritableFile* dest);
  // Appends to a file that already holds dest_length bytes of log (its blocks continue where
  // that length leaves off). dest must outlive the Writer.
  Writer(WritableFile* dest, uint64_t dest_length);

  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // Appends record (any length, empty allowed) as one or more fragments, with a single
  // dest->Append call. Does not Flush or Sync. Returns the error of Append; after an error
  // the file's tail is undefined and the caller must stop writing to it.
  Status AddRecord(const Slice& record);

  // Bytes of log written so far, including dest_length (the file's logical size).
  uint64_t file_size() const { return file_size_; }

 private:
  void EmitFragment(RecordType type, const char* data, size_t n);

  WritableFile* dest_;
  int block_offset_;  // position inside the current block
  uint64_t file_size_;
  std::string buf_;                        // one record's framed bytes, reused between calls
  uint32_t type_crc_[kMaxRecordType + 1];  // crc32c of the type byte alone
};

}  // namespace zworld::engine::log
