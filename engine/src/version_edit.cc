#include "version_edit.h"

#include <cinttypes>
#include <cstdio>

#include "coding.h"

namespace zworld::engine {

namespace {

// Field tags of a version edit record (engine/FORMATS.md, Part 3). Values are part of
// the on-disk format: never renumber, only add.
enum Tag : uint32_t {
  kLogNumber = 1,
  kNextFileNumber = 2,
  kLastSequence = 3,
  kCompactPointer = 4,
  kDeletedFile = 5,
  kNewFile = 6,
};

bool GetLevel(Slice* input, int* level) {
  uint32_t v;
  if (!GetVarint32(input, &v) || v >= static_cast<uint32_t>(kMaxNumLevels)) return false;
  *level = static_cast<int>(v);
  return true;
}

// An internal key: length-prefixed, at least the 8-byte tag long.
bool GetInternalKey(Slice* input, InternalKey* key) {
  Slice s;
  if (!GetLengthPrefixedSlice(input, &s) || s.size() < kTagSize) return false;
  key->DecodeFrom(s);
  return true;
}

}  // namespace

void VersionEdit::EncodeTo(std::string* dst) const {
  if (has_log_number_) {
    PutVarint32(dst, kLogNumber);
    PutVarint64(dst, log_number_);
  }
  if (has_next_file_number_) {
    PutVarint32(dst, kNextFileNumber);
    PutVarint64(dst, next_file_number_);
  }
  if (has_last_sequence_) {
    PutVarint32(dst, kLastSequence);
    PutVarint64(dst, last_sequence_);
  }
  for (const auto& [level, key] : compact_pointers_) {
    PutVarint32(dst, kCompactPointer);
    PutVarint32(dst, static_cast<uint32_t>(level));
    PutLengthPrefixedSlice(dst, key.Encode());
  }
  for (const auto& [level, number] : deleted_files_) {
    PutVarint32(dst, kDeletedFile);
    PutVarint32(dst, static_cast<uint32_t>(level));
    PutVarint64(dst, number);
  }
  for (const auto& [level, f] : new_files_) {
    PutVarint32(dst, kNewFile);
    PutVarint32(dst, static_cast<uint32_t>(level));
    PutVarint64(dst, f.number);
    PutVarint64(dst, f.file_size);
    PutLengthPrefixedSlice(dst, f.smallest.Encode());
    PutLengthPrefixedSlice(dst, f.largest.Encode());
  }
}

Status VersionEdit::DecodeFrom(const Slice& src) {
  Clear();
  Slice input = src;
  const char* bad = nullptr;
  while (bad == nullptr && !input.empty()) {
    uint32_t tag;
    if (!GetVarint32(&input, &tag)) {
      bad = "field tag";
      break;
    }
    int level;
    uint64_t number;
    InternalKey key;
    switch (tag) {
      case kLogNumber:
        if (GetVarint64(&input, &log_number_)) {
          has_log_number_ = true;
        } else {
          bad = "log number";
        }
        break;
      case kNextFileNumber:
        if (GetVarint64(&input, &next_file_number_)) {
          has_next_file_number_ = true;
        } else {
          bad = "next file number";
        }
        break;
      case kLastSequence:
        if (GetVarint64(&input, &last_sequence_) && last_sequence_ <= kMaxSequenceNumber) {
          has_last_sequence_ = true;
        } else {
          bad = "last sequence";
        }
        break;
      case kCompactPointer:
        if (GetLevel(&input, &level) && GetInternalKey(&input, &key)) {
          compact_pointers_.emplace_back(level, std::move(key));
        } else {
          bad = "compact pointer";
        }
        break;
      case kDeletedFile:
        if (GetLevel(&input, &level) && GetVarint64(&input, &number)) {
          deleted_files_.emplace(level, number);
        } else {
          bad = "deleted file";
        }
        break;
      case kNewFile: {
        FileMetaData f;
        if (GetLevel(&input, &level) && GetVarint64(&input, &f.number) &&
            GetVarint64(&input, &f.file_size) && GetInternalKey(&input, &f.smallest) &&
            GetInternalKey(&input, &f.largest)) {
          new_files_.emplace_back(level, std::move(f));
        } else {
          bad = "new file";
        }
        break;
      }
      default: {
        char buf[64];
        std::snprintf(buf, sizeof(buf), "unknown field tag %" PRIu32, tag);
        return Status::Corruption("version edit", buf);
      }
    }
  }
  if (bad != nullptr) return Status::Corruption("version edit: bad", bad);
  return Status::OK();
}

std::string VersionEdit::DebugString() const {
  std::string r = "VersionEdit {";
  char buf[128];
  if (has_log_number_) {
    std::snprintf(buf, sizeof(buf), "\n  log_number: %" PRIu64, log_number_);
    r += buf;
  }
  if (has_next_file_number_) {
    std::snprintf(buf, sizeof(buf), "\n  next_file_number: %" PRIu64, next_file_number_);
    r += buf;
  }
  if (has_last_sequence_) {
    std::snprintf(buf, sizeof(buf), "\n  last_sequence: %" PRIu64, last_sequence_);
    r += buf;
  }
  for (const auto& [level, key] : compact_pointers_) {
    std::snprintf(buf, sizeof(buf), "\n  compact_pointer: L%d ", level);
    r += buf;
    r += key.user_key().ToString();
  }
  for (const auto& [level, number] : deleted_files_) {
    std::snprintf(buf, sizeof(buf), "\n  remove_file: L%d %06" PRIu64, level, number);
    r += buf;
  }
  for (const auto& [level, f] : new_files_) {
    std::snprintf(buf, sizeof(buf), "\n  add_file: L%d %06" PRIu64 " %" PRIu64 " bytes", level,
                  f.number, f.file_size);
    r += buf;
  }
  r += "\n}\n";
  return r;
}

}  // namespace zworld::engine
