#include "log_writer.h"

#include <algorithm>
#include <cassert>

#include "coding.h"
#include "crc32c.h"

namespace zworld::engine::log {

Writer::Writer(WritableFile* dest) : Writer(dest, 0) {}

Writer::Writer(WritableFile* dest, uint64_t dest_length)
    : dest_(dest),
      block_offset_(static_cast<int>(dest_length % kBlockSize)),
      file_size_(dest_length) {
  for (int t = 0; t <= kMaxRecordType; t++) {
    char c = static_cast<char>(t);
    type_crc_[t] = crc32c::Value(&c, 1);
  }
}

Status Writer::AddRecord(const Slice& record) {
  buf_.clear();
  const char* p = record.data();
  size_t left = record.size();
  bool begin = true;
  // An empty record still gets one (empty) kFullType fragment.
  do {
    const int leftover = kBlockSize - block_offset_;
    if (leftover < kHeaderSize) {
      // Too small for a header: the block trailer is zeros.
      buf_.append(static_cast<size_t>(leftover), '\0');
      block_offset_ = 0;
    }
    const size_t avail = static_cast<size_t>(kBlockSize - block_offset_ - kHeaderSize);
    const size_t n = std::min(left, avail);
    const bool end = n == left;
    RecordType type = begin && end ? kFullType : begin ? kFirstType : end ? kLastType : kMiddleType;
    EmitFragment(type, p, n);
    p += n;
    left -= n;
    begin = false;
  } while (left > 0);
  file_size_ += buf_.size();
  return dest_->Append(buf_);
}

void Writer::EmitFragment(RecordType type, const char* data, size_t n) {
  assert(n <= 0xffff);
  assert(block_offset_ + kHeaderSize + static_cast<int>(n) <= kBlockSize);
  char header[kHeaderSize];
  const uint32_t crc = crc32c::Extend(type_crc_[type], data, n);
  EncodeFixed32(header, crc32c::Mask(crc));
  header[4] = static_cast<char>(n & 0xff);
  header[5] = static_cast<char>(n >> 8);
  header[6] = static_cast<char>(type);
  buf_.append(header, kHeaderSize);
  buf_.append(data, n);
  block_offset_ += kHeaderSize + static_cast<int>(n);
}

}  // namespace zworld::engine::log
