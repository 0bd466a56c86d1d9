// VersionEdit: one record of the MANIFEST, the change from one Version to the next (files
// added and removed per level, counters, compaction pointers). The byte layout is in
// engine/FORMATS.md, Part 3, "Version edit record".
//
// Thread safety: a VersionEdit is a value built and read by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dbformat.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

// Levels a data folder may have (Options::num_levels is between 2 and this).
constexpr int kMaxNumLevels = 8;

// What the engine knows about one SSTable. Immutable once it is part of a Version; shared by
// every Version that lists the file.
struct FileMetaData {
  uint64_t number = 0;
  uint64_t file_size = 0;
  InternalKey smallest;  // the first internal key of the table
  InternalKey largest;   // the last internal key of the table
};

class VersionEdit {
 public:
  void Clear() { *this = VersionEdit(); }

  void SetLogNumber(uint64_t n) {
    has_log_number_ = true;
    log_number_ = n;
  }
  void SetNextFileNumber(uint64_t n) {
    has_next_file_number_ = true;
    next_file_number_ = n;
  }
  void SetLastSequence(SequenceNumber s) {
    has_last_sequence_ = true;
    last_sequence_ = s;
  }
  void SetCompactPointer(int level, const InternalKey& key) {
    compact_pointers_.emplace_back(level, key);
  }
  // Adds table `number` to `level`. smallest and largest are its first and last internal keys.
  void AddFile(int level, uint64_t number, uint64_t file_size, const InternalKey& smallest,
               const InternalKey& largest) {
    FileMetaData f;
    f.number = number;
    f.file_size = file_size;
    f.smallest = smallest;
    f.largest = largest;
    new_files_.emplace_back(level, std::move(f));
  }
  void RemoveFile(int level, uint64_t number) { deleted_files_.emplace(level, number); }

  // Appends the record's bytes to *dst.
  void EncodeTo(std::string* dst) const;
  // Replaces *this with the edit encoded in src. On failure returns Corruption whose message
  // says what is wrong (the caller adds the file name and offset) and *this is unspecified.
  Status DecodeFrom(const Slice& src);

  // One line per field, for the info log and tools.
  std::string DebugString() const;

  bool has_log_number() const { return has_log_number_; }
  uint64_t log_number() const { return log_number_; }
  bool has_next_file_number() const { return has_next_file_number_; }
  uint64_t next_file_number() const { return next_file_number_; }
  bool has_last_sequence() const { return has_last_sequence_; }
  SequenceNumber last_sequence() const { return last_sequence_; }
  const std::vector<std::pair<int, InternalKey>>& compact_pointers() const {
    return compact_pointers_;
  }
  const std::set<std::pair<int, uint64_t>>& deleted_files() const { return deleted_files_; }
  const std::vector<std::pair<int, FileMetaData>>& new_files() const { return new_files_; }

 private:
  bool has_log_number_ = false;
  bool has_next_file_number_ = false;
  bool has_last_sequence_ = false;
  uint64_t log_number_ = 0;
  uint64_t next_file_number_ = 0;
  SequenceNumber last_sequence_ = 0;
  std::vector<std::pair<int, InternalKey>> compact_pointers_;
  std::set<std::pair<int, uint64_t>> deleted_files_;  // (level, file number)
  std::vector<std::pair<int, FileMetaData>> new_files_;
};

}  // namespace zworld::engine
