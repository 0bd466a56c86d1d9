#include "block_builder.h"

#include <algorithm>
#include <cassert>

#include "coding.h"
#include "dbformat.h"

namespace zworld::engine {

BlockBuilder::BlockBuilder(int restart_interval, BlockKind kind)
    : restart_interval_(restart_interval < 1 ? 1 : restart_interval),
      data_(kind == BlockKind::kData) {
  restarts_.push_back(0);
}

void BlockBuilder::Reset() {
  buffer_.clear();
  restarts_.clear();
  restarts_.push_back(0);
  last_key_.clear();
  last_code_ = 0;
  since_restart_ = 0;
  num_entries_ = 0;
  finished_ = false;
}

size_t BlockBuilder::CurrentSizeEstimate() const {
  if (finished_) return buffer_.size();
  return buffer_.size() + 4 * restarts_.size() + 4;
}

void BlockBuilder::Add(const Slice& key, const Slice& value) {
  assert(!finished_);
  assert(!data_ || key.size() >= kTagSize);
  // A data block prefix-compresses the user keys and stores the tag apart.
  const size_t stored_len = data_ ? key.size() - kTagSize : key.size();
  const size_t last_len =
      data_ && !last_key_.empty() ? last_key_.size() - kTagSize : last_key_.size();
  size_t shared = 0;
  if (since_restart_ < restart_interval_) {
    const size_t max_shared = std::min(last_len, stored_len);
    while (shared < max_shared && last_key_[shared] == key[shared]) shared++;
  } else {
    restarts_.push_back(static_cast<uint32_t>(buffer_.size()));
    since_restart_ = 0;
  }
  const size_t unshared = stored_len - shared;

  char header[15];
  char* p = EncodeVarint32(header, static_cast<uint32_t>(shared));
  p = EncodeVarint32(p, static_cast<uint32_t>(unshared));
  p = EncodeVarint32(p, static_cast<uint32_t>(value.size()));
  buffer_.append(header, p - header);
  buffer_.append(key.data() + shared, unshared);
  if (data_) {
    // The tag's code, whole when nothing is shared (at every restart point), else as the
    // zigzag delta from the previous entry's code.
    const uint64_t tag = ExtractTag(key);
    assert((tag & 0xff) <= kTypeValue);  // TableBuilder::Add refuses other types
    const uint64_t code = TagCode(tag);
    const uint64_t stored =
        shared == 0 ? code : ZigzagEncode(static_cast<int64_t>(code - last_code_));
    char buf[10];
    char* end = EncodeVarint64(buf, stored);
    buffer_.append(buf, end - buf);
    last_code_ = code;
  }
  buffer_.append(value.data(), value.size());

  last_key_.resize(shared);
  last_key_.append(key.data() + shared, key.size() - shared);  // the whole key, tag included
  since_restart_++;
  num_entries_++;
}

Slice BlockBuilder::Finish() {
  if (!finished_) {
    for (uint32_t r : restarts_) PutFixed32(&buffer_, r);
    PutFixed32(&buffer_, static_cast<uint32_t>(restarts_.size()));
    finished_ = true;
  }
  return buffer_;
}

}  // namespace zworld::engine
