#include "log_reader.h"

#include <algorithm>
#include <cassert>

#include "coding.h"
#include "crc32c.h"

namespace zworld::engine::log {

namespace {

uint32_t FragmentLength(const char* header) {
  return static_cast<uint32_t>(static_cast<unsigned char>(header[4])) |
         (static_cast<uint32_t>(static_cast<unsigned char>(header[5])) << 8);
}

// True if the stored checksum of the fragment at h matches its type byte and len payload
// bytes (which the caller has checked are present).
bool FragmentChecksumOk(const char* h, uint32_t len) {
  const uint32_t expected = crc32c::Unmask(DecodeFixed32(h));
  return crc32c::Value(h + 6, 1 + len) == expected;
}

}  // namespace

Reader::Reader(SequentialFile* file, std::string file_name, Reporter* reporter, bool checksum)
    : file_(file),
      file_name_(std::move(file_name)),
      reporter_(reporter),
      checksum_(checksum),
      backing_(std::make_unique_for_overwrite<char[]>(kBlockSize)) {}

bool Reader::FillBuffer() {
  if (eof_) return false;
  Status s = file_->Read(kBlockSize, &buffer_, backing_.get());
  if (!s.ok()) {
    // What follows the read error is unknown, so it cannot be called a torn tail.
    buffer_.clear();
    eof_ = true;
    corruption_before_valid_record_ = true;
    FlushDrop();
    if (reporter_ != nullptr) reporter_->Corruption(end_of_buffer_offset_, 0, s);
    read_status_ = std::move(s);
    return false;
  }
  end_of_buffer_offset_ += buffer_.size();
  if (buffer_.size() < static_cast<size_t>(kBlockSize)) eof_ = true;
  return !buffer_.empty();
}

void Reader::Drop(uint64_t offset, uint64_t bytes, const char* what, uint64_t problem_offset) {
  if (bytes == 0) return;
  if (dropped_bytes_ == 0 || offset < first_corruption_offset_) first_corruption_offset_ = offset;
  dropped_bytes_ += bytes;
  if (!pending_) {
    pending_ = true;
    pending_offset_ = offset;
    pending_bytes_ = 0;
    pending_reason_ = file_name_ + ": " + what + " at offset " + std::to_string(problem_offset);
  }
  pending_offset_ = std::min(pending_offset_, offset);
  pending_bytes_ += bytes;
}

void Reader::FlushDrop() {
  if (!pending_) return;
  pending_ = false;
  if (reporter_ != nullptr) {
    reporter_->Corruption(
        pending_offset_, pending_bytes_,
        Status::Corruption(pending_reason_, "dropped " + std::to_string(pending_bytes_) +
                                                " bytes from offset " +
                                                std::to_string(pending_offset_)));
  }
}

void Reader::ScanForValidFragment(const char* region, size_t n) {
  if (!checksum_ || lost_valid_fragment_) return;
  // Position 0 holds the header that was just found bad.
  for (size_t i = 1; i + kHeaderSize <= n; i++) {
    const char* h = region + i;
    const auto type = static_cast<uint8_t>(h[6]);
    if (type == kZeroType || type > kMaxRecordType) continue;
    const uint32_t len = FragmentLength(h);
    if (kHeaderSize + len > n - i) continue;
    if (FragmentChecksumOk(h, len)) {
      lost_valid_fragment_ = true;
      return;
    }
  }
}

Reader::Outcome Reader::ReadPhysicalRecord(Slice* payload, RecordType* type,
                                           uint64_t* fragment_offset) {
  while (true) {
    if (buffer_.size() < static_cast<size_t>(kHeaderSize)) {
      if (!eof_) {
        // The zero trailer of a whole block (or nothing at all): go to the next block.
        buffer_.clear();
        FillBuffer();
        continue;
      }
      if (!buffer_.empty()) {
        // The file ends inside a header (or inside a block trailer): a torn append.
        Drop(BufferOffset(), buffer_.size(), "truncated record header", BufferOffset());
        buffer_.clear();
        return kBad;
      }
      return kEof;
    }

    const char* h = buffer_.data();
    const uint64_t offset = BufferOffset();
    const uint32_t len = FragmentLength(h);
    const auto t = static_cast<uint8_t>(h[6]);
    const char* what = nullptr;
    if (kHeaderSize + len > buffer_.size()) {
      what = eof_ ? "truncated record" : "bad record length";
    } else if (t == kZeroType && len == 0) {
      what = "zero-filled space";
    } else if (checksum_ && !FragmentChecksumOk(h, len)) {
      what = "bad record checksum";
    } else if (t == kZeroType || t > kMaxRecordType) {
      what = "unknown record type";
    }
    if (what != nullptr) {
      // Nothing after a bad header in this block can be trusted to be framed correctly.
      ScanForValidFragment(h, buffer_.size());
      Drop(offset, buffer_.size(), what, offset);
      buffer_.clear();
      return kBad;
    }

    *payload = Slice(h + kHeaderSize, len);
    *type = static_cast<RecordType>(t);
    *fragment_offset = offset;
    buffer_.remove_prefix(kHeaderSize + len);
    return kFragment;
  }
}

bool Reader::ReadRecord(Slice* record, std::string* scratch) {
  scratch->clear();
  *record = Slice();
  bool in_record = false;      // a kFirst fragment has been read
  uint64_t record_offset = 0;  // where that record's first header is
  uint64_t record_bytes = 0;   // its fragments so far, headers included

  auto drop_partial = [&](const char* what) {
    if (!in_record) return;
    Drop(record_offset, record_bytes, what, record_offset);
    scratch->clear();
    in_record = false;
  };
  auto accept = [&](uint64_t start, uint64_t end) {
    if (pending_) {
      corruption_before_valid_record_ = true;
      FlushDrop();
    }
    last_record_offset_ = start;
    end_of_valid_data_ = end;
  };

  while (true) {
    Slice fragment;
    RecordType type = kZeroType;
    uint64_t offset = 0;
    switch (ReadPhysicalRecord(&fragment, &type, &offset)) {
      case kFragment: {
        const uint64_t physical = kHeaderSize + fragment.size();
        switch (type) {
          case kFullType:
            drop_partial("record without its last fragment");
            accept(offset, offset + physical);
            *record = fragment;
            return true;
          case kFirstType:
            drop_partial("record without its last fragment");
            in_record = true;
            record_offset = offset;
            record_bytes = physical;
            scratch->assign(fragment.data(), fragment.size());
            break;
          case kMiddleType:
          case kLastType:
            if (!in_record) {
              Drop(offset, physical, "fragment without its record's start", offset);
              break;
            }
            scratch->append(fragment.data(), fragment.size());
            record_bytes += physical;
            if (type == kLastType) {
              accept(record_offset, offset + physical);
              *record = Slice(*scratch);
              return true;
            }
            break;
          default:
            assert(false);  // ReadPhysicalRecord returns known types only
            break;
        }
        break;
      }
      case kBad:
        drop_partial("record without its last fragment");
        break;
      case kEof:
        drop_partial("truncated record");
        if (lost_valid_fragment_) corruption_before_valid_record_ = true;
        FlushDrop();
        return false;
    }
  }
}

}  // namespace zworld::engine::log
