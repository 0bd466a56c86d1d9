#include "block.h"

#include <algorithm>
#include <cstring>

#include "coding.h"
#include "dbformat.h"

namespace zworld::engine {

namespace {

// Decodes the three varint32s that start an entry. Returns the byte after them, or null if
// they are malformed or run past limit.
inline const char* DecodeEntryHeader(const char* p, const char* limit, uint32_t* shared,
                                     uint32_t* unshared, uint32_t* value_len) {
  if (limit - p >= 3) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    if ((u[0] | u[1] | u[2]) < 128) {  // the usual case: three one-byte varints
      *shared = u[0];
      *unshared = u[1];
      *value_len = u[2];
      return p + 3;
    }
  }
  p = GetVarint32Ptr(p, limit, shared);
  if (p == nullptr) return nullptr;
  p = GetVarint32Ptr(p, limit, unshared);
  if (p == nullptr) return nullptr;
  return GetVarint32Ptr(p, limit, value_len);
}

// Decodes the tag of a data block entry into its TagCode *code: the varint64 at p is the
// code itself when the entry shares no prefix with the previous key (shared == 0), else
// zigzag(code - prev_code). Returns the byte after the varint, or null if the varint is
// malformed or runs past limit, or the code falls outside [0, kTagCodeLimit) (a delta that
// underflows or overflows included).
inline const char* DecodeTag(const char* p, const char* limit, uint32_t shared, uint64_t prev_code,
                             uint64_t* code) {
  uint64_t v;
  if (p < limit && static_cast<unsigned char>(*p) < 128) {  // the usual case: one byte
    v = static_cast<unsigned char>(*p);
    p++;
  } else {
    p = GetVarint64Ptr(p, limit, &v);
    if (p == nullptr) return nullptr;
  }
  // prev_code < kTagCodeLimit, so a delta below -prev_code wraps to at least 2^63 and one
  // above kTagCodeLimit - 1 - prev_code lands at or above kTagCodeLimit: one check for both.
  const uint64_t c = shared == 0 ? v : prev_code + static_cast<uint64_t>(ZigzagDecode(v));
  if (c >= kTagCodeLimit) return nullptr;
  *code = c;
  return p;
}

// The internal-key order of (user_key, tag) against the internal key target.
inline int CompareUserKeyAndTag(const Slice& user_key, uint64_t tag, const Slice& target) {
  int r = user_key.compare(ExtractUserKey(target));
  if (r == 0) {
    const uint64_t target_tag = ExtractTag(target);
    if (tag > target_tag) {
      r = -1;
    } else if (tag < target_tag) {
      r = +1;
    }
  }
  return r;
}

// Compares the key stored at restart point i of block (restart entries share no prefix) with
// target in the order of kind, into *r. False if the restart point or its entry is
// malformed.
bool CompareRestartKeyOf(const Block& block, uint32_t i, BlockKind kind, const Slice& target,
                         int* r) {
  const uint32_t offset = block.RestartPoint(i);
  const uint32_t limit_offset = block.restart_array_offset();
  if (offset >= limit_offset) return false;
  const char* data = block.data().data();
  const char* limit = data + limit_offset;
  uint32_t shared, unshared, value_len;
  const char* p = DecodeEntryHeader(data + offset, limit, &shared, &unshared, &value_len);
  if (p == nullptr || shared != 0 || unshared > static_cast<uint64_t>(limit - p)) return false;
  const Slice stored(p, unshared);
  switch (kind) {
    case BlockKind::kData: {
      uint64_t code;
      if (DecodeTag(p + unshared, limit, 0, 0, &code) == nullptr) return false;
      *r = CompareUserKeyAndTag(stored, TagOfCode(code), target);
      return true;
    }
    case BlockKind::kIndex:
      if (unshared < kTagSize) return false;
      *r = CompareInternalKey(stored, target);
      return true;
    case BlockKind::kProperties:
      *r = stored.compare(target);
      return true;
  }
  return false;
}

}  // namespace

Block::Block(BlockContents contents, uint64_t file_offset)
    : data_(contents.data), heap_(std::move(contents.heap)), file_offset_(file_offset) {
  Parse();
}

Block::Block(const Slice& data, uint64_t file_offset) : data_(data), file_offset_(file_offset) {
  Parse();
}

void Block::Parse() {
  well_formed_ = false;
  restart_offset_ = 0;
  num_restarts_ = 0;
  const size_t n = data_.size();
  if (n < 4 || n > UINT32_MAX) return;
  const uint64_t restarts = DecodeFixed32(data_.data() + n - 4);
  if (restarts == 0 || restarts > (n - 4) / 4) return;
  num_restarts_ = static_cast<uint32_t>(restarts);
  restart_offset_ = static_cast<uint32_t>(n - 4 - 4 * restarts);
  well_formed_ = true;
}

uint32_t Block::RestartPoint(uint32_t i) const {
  return DecodeFixed32(data_.data() + restart_offset_ + 4 * static_cast<size_t>(i));
}

// ---- BlockCursor ------------------------------------------------------------------------

void BlockCursor::Init(const Block* block, const std::string* file_name, BlockKind kind) {
  block_ = block;
  file_name_ = file_name;
  kind_ = kind;
  data_ = block->data().data();
  limit_ = block->restart_array_offset();
  num_restarts_ = block->num_restarts();
  current_ = next_offset_ = limit_;
  restart_index_ = 0;
  key_ptr_ = nullptr;
  key_len_ = 0;
  value_ = Slice();
  valid_ = false;
  status_ = Status::OK();
  if (!block->well_formed()) Fail("malformed block (bad restart array)");
}

void BlockCursor::Fail(const char* what) {
  if (status_.ok()) status_ = CorruptionAt(*file_name_, block_->file_offset(), what);
  valid_ = false;
  limit_ = 0;  // every later move finds no entries
  num_restarts_ = 0;
  current_ = next_offset_ = 0;
}

int BlockCursor::Compare(const Slice& a, const Slice& b) const {
  return kind_ == BlockKind::kProperties ? a.compare(b) : CompareInternalKey(a, b);
}

void BlockCursor::JumpToRestart(uint32_t i) {
  uint32_t offset = block_->RestartPoint(i);
  if (offset > limit_) {
    Fail("restart point past the end of the block entries");
    return;
  }
  restart_index_ = i;
  next_offset_ = offset;
  key_len_ = 0;
  valid_ = false;
}

bool BlockCursor::ParseNext() {
  current_ = next_offset_;
  if (current_ >= limit_) {
    valid_ = false;
    current_ = next_offset_ = limit_;
    return false;
  }
  const char* limit = data_ + limit_;
  uint32_t shared, unshared, value_len;
  const char* p = DecodeEntryHeader(data_ + current_, limit, &shared, &unshared, &value_len);
  if (p == nullptr) {
    Fail("bad entry header in block");
    return false;
  }
  if (kind_ == BlockKind::kData) {
    // user_key[shared..] varint64(tag code) value; the key is rebuilt in key_buf_, which
    // holds the previous key (key_len_ = 0 at a restart point), and tag_code_ holds the
    // previous key's tag code (read only when shared > 0, so when there is a previous key).
    const size_t prev_user = key_len_ == 0 ? 0 : key_len_ - kTagSize;
    if (shared > prev_user) {
      Fail("shared key prefix longer than the previous key in block");
      return false;
    }
    if (unshared > static_cast<uint64_t>(limit - p)) {
      Fail("entry runs past the end of the block");
      return false;
    }
    uint64_t code;
    const char* v = DecodeTag(p + unshared, limit, shared, tag_code_, &code);
    if (v == nullptr) {
      Fail("bad tag in block");
      return false;
    }
    if (value_len > static_cast<uint64_t>(limit - v)) {
      Fail("entry runs past the end of the block");
      return false;
    }
    const size_t n = size_t{shared} + unshared + kTagSize;
    if (key_buf_.size() < n) key_buf_.resize(std::max(n, 2 * key_buf_.size()));  // keeps bytes
    char* k = key_buf_.data();
    // Up to 8 bytes are copied past the user key (the block holds the 8 bytes of its restart
    // array after the entries; key_buf_ the 8 of the tag), then the tag overwrites them.
    std::memcpy(k + shared, p, unshared <= 8 ? 8 : unshared);
    EncodeFixed64(k + shared + unshared, TagOfCode(code));
    tag_code_ = code;
    key_ptr_ = k;
    key_len_ = n;
    value_ = Slice(v, value_len);
    next_offset_ = static_cast<uint32_t>(v + value_len - data_);
  } else {
    if (!ParsePlainEntry(p, limit, shared, unshared, value_len)) return false;
  }
  while (restart_index_ + 1 < num_restarts_ &&
         block_->RestartPoint(restart_index_ + 1) <= current_) {
    restart_index_++;
  }
  valid_ = true;
  return true;
}

bool BlockCursor::ParsePlainEntry(const char* p, const char* limit, uint32_t shared,
                                  uint32_t unshared, uint32_t value_len) {
  if (shared > key_len_) {
    Fail("shared key prefix longer than the previous key in block");
    return false;
  }
  if (static_cast<uint64_t>(unshared) + value_len > static_cast<uint64_t>(limit - p)) {
    Fail("entry runs past the end of the block");
    return false;
  }
  if (shared == 0) {
    key_ptr_ = p;
    key_len_ = unshared;
  } else {
    if (key_ptr_ != key_buf_.data()) {
      key_buf_.assign(key_ptr_, shared);
    } else {
      key_buf_.resize(shared);
    }
    key_buf_.append(p, unshared);
    key_ptr_ = key_buf_.data();
    key_len_ = key_buf_.size();
  }
  if (kind_ == BlockKind::kIndex && key_len_ < kTagSize) {
    Fail("internal key shorter than its tag in block");
    return false;
  }
  value_ = Slice(p + unshared, value_len);
  next_offset_ = static_cast<uint32_t>(p + unshared + value_len - data_);
  return true;
}

bool BlockCursor::CompareRestartKey(uint32_t i, const Slice& target, int* r) {
  if (!CompareRestartKeyOf(*block_, i, kind_, target, r)) {
    Fail("bad restart entry in block");
    return false;
  }
  return true;
}

void BlockCursor::SeekToFirst() {
  if (!status_.ok()) return;
  JumpToRestart(0);
  if (status_.ok()) ParseNext();
}

void BlockCursor::SeekToLast() {
  if (!status_.ok()) return;
  JumpToRestart(num_restarts_ - 1);
  if (!status_.ok() || !ParseNext()) return;
  while (next_offset_ < limit_) {
    if (!ParseNext()) return;
  }
}

void BlockCursor::Seek(const Slice& target) {
  if (!status_.ok()) return;
  // The last restart point whose key is < target; entries before it are all < target.
  uint32_t lo = 0, hi = num_restarts_ - 1;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo + 1) / 2;
    int r;
    if (!CompareRestartKey(mid, target, &r)) return;
    if (r < 0) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  JumpToRestart(lo);
  if (!status_.ok()) return;
  while (ParseNext()) {
    if (Compare(key(), target) >= 0) return;
  }
}

void BlockCursor::Next() {
  if (!valid_) return;
  ParseNext();
}

void BlockCursor::Prev() {
  if (!valid_) return;
  const uint32_t original = current_;
  while (block_->RestartPoint(restart_index_) >= original) {
    if (restart_index_ == 0) {  // original was the first entry
      valid_ = false;
      current_ = next_offset_ = limit_;
      return;
    }
    restart_index_--;
  }
  JumpToRestart(restart_index_);
  if (!status_.ok()) return;
  do {
    if (!ParseNext()) return;
  } while (next_offset_ < original);
}

// ---- Bulk decoding ----------------------------------------------------------------------

namespace {

// Copies n bytes from src to dst (not overlapping). Keys are short, and for short lengths a
// call to memcpy costs more than the copy: lengths up to 32 take two fixed-size moves that
// may overlap each other.
inline void CopyKeyBytes(char* dst, const char* src, size_t n) {
  if (n >= 16) {
    if (n > 32) {
      std::memcpy(dst, src, n);
      return;
    }
    std::memcpy(dst, src, 16);
    std::memcpy(dst + n - 16, src + n - 16, 16);
  } else if (n >= 8) {
    std::memcpy(dst, src, 8);
    std::memcpy(dst + n - 8, src + n - 8, 8);
  } else if (n >= 4) {
    std::memcpy(dst, src, 4);
    std::memcpy(dst + n - 4, src + n - 4, 4);
  } else {
    for (size_t i = 0; i < n; i++) dst[i] = src[i];
  }
}

// Storage for the keys DecodeBlockEntries assembles from a shared prefix, carved from the
// caller's string. The string's size is the storage (the zero-fill of a resize is paid only
// when it grows), so it is reused across calls without clearing.
class KeyStorage {
 public:
  KeyStorage(std::string* buf, size_t expected) : buf_(buf) {
    if (buf_->size() < expected) buf_->resize(expected);
  }

  // n bytes of storage. Growing moves the bytes, so every Slice in entries (and *prev) that
  // points into the storage is rebased.
  char* Allocate(size_t n, std::vector<RawEntry>* entries, Slice* prev) {
    if (n > buf_->size() - used_) Grow(n, entries, prev);
    char* p = buf_->data() + used_;
    used_ += n;
    return p;
  }

 private:
  void Grow(size_t n, std::vector<RawEntry>* entries, Slice* prev) {
    std::string bigger(std::max(2 * buf_->size(), used_ + n), '\0');
    std::memcpy(bigger.data(), buf_->data(), used_);
    const auto old_lo = reinterpret_cast<uintptr_t>(buf_->data());
    const auto old_hi = old_lo + used_;
    auto rebase = [&](Slice* s) {
      auto p = reinterpret_cast<uintptr_t>(s->data());
      if (p >= old_lo && p < old_hi) *s = Slice(bigger.data() + (p - old_lo), s->size());
    };
    for (RawEntry& e : *entries) rebase(&e.ikey);
    rebase(prev);
    buf_->swap(bigger);
  }

  std::string* const buf_;
  size_t used_ = 0;
};

}  // namespace

namespace {

// DecodeBlockEntries for one block kind (kData or kIndex).
template <BlockKind kKind>
Status DecodeEntries(const Block& block, const std::string& file_name, const Slice* target,
                     std::vector<RawEntry>* entries, std::string* key_buf) {
  static_assert(kKind == BlockKind::kData || kKind == BlockKind::kIndex);
  constexpr bool kData = kKind == BlockKind::kData;
  if (!block.well_formed()) {
    return CorruptionAt(file_name, block.file_offset(), "malformed block (bad restart array)");
  }
  // Assembled keys rarely take more room than the block: each one is stored with at least
  // its unshared bytes, and the shared prefixes of typical keys are short. A data block
  // stores a tag in 1-9 bytes and its key takes 8, so its keys get twice the room.
  KeyStorage key_storage(key_buf, kData ? 2 * block.size() : block.size());
  const char* data = block.data().data();
  const uint32_t limit_offset = block.restart_array_offset();
  const char* limit = data + limit_offset;

  uint32_t start = 0;
  if (target != nullptr) {
    // The last restart point whose key is < target; decoding starts there.
    uint32_t lo = 0, hi = block.num_restarts() - 1;
    while (lo < hi) {
      uint32_t mid = lo + (hi - lo + 1) / 2;
      int r;
      if (!CompareRestartKeyOf(block, mid, kKind, *target, &r)) {
        return CorruptionAt(file_name, block.file_offset(), "bad restart entry in block");
      }
      if (r < 0) {
        lo = mid;
      } else {
        hi = mid - 1;
      }
    }
    start = block.RestartPoint(lo);
    if (start > limit_offset) {
      return CorruptionAt(file_name, block.file_offset(),
                          "restart point past the end of the block entries");
    }
  }

  // The block is rarely in the CPU caches (a mapped file, or a block cache entry read long
  // ago) and the loop below reads it front to back: ask for all of its lines at once rather
  // than missing on each in turn.
  PrefetchBytes(data + start, limit_offset - start);

  Slice prev;              // the previous entry's key
  uint64_t prev_code = 0;  // data blocks: its tag code
  bool before_target = target != nullptr;
  const char* p = data + start;
  while (p < limit) {
    uint32_t shared, unshared, value_len;
    const char* q = DecodeEntryHeader(p, limit, &shared, &unshared, &value_len);
    if (q == nullptr) {
      return CorruptionAt(file_name, block.file_offset(), "bad entry header in block");
    }
    Slice key, value;
    if constexpr (kData) {
      // user_key[shared..] varint64(tag code) value.
      const size_t prev_user = prev.empty() ? 0 : prev.size() - kTagSize;
      if (shared > prev_user) {
        return CorruptionAt(file_name, block.file_offset(),
                            "shared key prefix longer than the previous key in block");
      }
      if (unshared > static_cast<uint64_t>(limit - q)) {
        return CorruptionAt(file_name, block.file_offset(), "entry runs past the end of the block");
      }
      uint64_t code;
      const char* v = DecodeTag(q + unshared, limit, shared, prev_code, &code);
      if (v == nullptr) return CorruptionAt(file_name, block.file_offset(), "bad tag in block");
      if (value_len > static_cast<uint64_t>(limit - v)) {
        return CorruptionAt(file_name, block.file_offset(), "entry runs past the end of the block");
      }
      const size_t user_len = size_t{shared} + unshared;
      char* dst = key_storage.Allocate(user_len + kTagSize, entries, &prev);
      // Fixed-size copies that may run past the bytes wanted, each fixed by the next: the
      // shared part by up to 7 bytes (prev holds shared + 8 bytes or more; dst has room for
      // shared + 8), the unshared part up to 8 bytes on (the block holds at least the 8
      // bytes of its restart array after the entries), the tag last.
      if (shared == 0) {
        // nothing shared
      } else if (shared <= 8) {
        std::memcpy(dst, prev.data(), 8);
      } else if (shared <= 16) {
        std::memcpy(dst, prev.data(), 16);
      } else if (shared <= 24) {
        std::memcpy(dst, prev.data(), 24);
      } else {
        std::memcpy(dst, prev.data(), shared);
      }
      if (unshared <= 8) {
        std::memcpy(dst + shared, q, 8);
      } else {
        CopyKeyBytes(dst + shared, q, unshared);
      }
      EncodeFixed64(dst + user_len, TagOfCode(code));
      prev_code = code;
      key = Slice(dst, user_len + kTagSize);
      value = Slice(v, value_len);
      p = v + value_len;
    } else {
      if (shared > prev.size()) {
        return CorruptionAt(file_name, block.file_offset(),
                            "shared key prefix longer than the previous key in block");
      }
      if (static_cast<uint64_t>(unshared) + value_len > static_cast<uint64_t>(limit - q)) {
        return CorruptionAt(file_name, block.file_offset(), "entry runs past the end of the block");
      }
      if (shared == 0) {
        key = Slice(q, unshared);  // whole in the block: no copy
      } else {
        char* dst = key_storage.Allocate(shared + unshared, entries, &prev);
        CopyKeyBytes(dst, prev.data(), shared);
        CopyKeyBytes(dst + shared, q, unshared);
        key = Slice(dst, shared + unshared);
      }
      if (key.size() < kTagSize) {
        return CorruptionAt(file_name, block.file_offset(),
                            "internal key shorter than its tag in block");
      }
      value = Slice(q + unshared, value_len);
      p = q + unshared + value_len;
    }
    prev = key;
    if (before_target) {
      if (CompareInternalKey(key, *target) < 0) continue;
      before_target = false;
    }
    entries->push_back(RawEntry{key, value});
  }
  return Status::OK();
}

}  // namespace

Status DecodeBlockEntries(const Block& block, BlockKind kind, const std::string& file_name,
                          const Slice* target, std::vector<RawEntry>* entries,
                          std::string* key_buf) {
  switch (kind) {
    case BlockKind::kData:
      return DecodeEntries<BlockKind::kData>(block, file_name, target, entries, key_buf);
    case BlockKind::kIndex:
      return DecodeEntries<BlockKind::kIndex>(block, file_name, target, entries, key_buf);
    case BlockKind::kProperties:
      break;
  }
  return Status::InvalidArgument(file_name, "DecodeBlockEntries: not an internal-key block");
}

// ---- Iterator over one block ------------------------------------------------------------

namespace {

class BlockIterator final : public Iterator {
 public:
  BlockIterator(std::shared_ptr<const Block> block, std::string file_name, BlockKind kind)
      : block_(std::move(block)), file_name_(std::move(file_name)) {
    cursor_.Init(block_.get(), &file_name_, kind);
  }
  bool Valid() const override { return cursor_.Valid(); }
  void SeekToFirst() override { cursor_.SeekToFirst(); }
  void SeekToLast() override { cursor_.SeekToLast(); }
  void Seek(const Slice& target) override { cursor_.Seek(target); }
  void Next() override { cursor_.Next(); }
  void Prev() override { cursor_.Prev(); }
  Slice key() const override { return cursor_.key(); }
  Slice value() const override { return cursor_.value(); }
  Status status() const override { return cursor_.status(); }

 private:
  std::shared_ptr<const Block> block_;
  std::string file_name_;
  BlockCursor cursor_;
};

}  // namespace

std::unique_ptr<Iterator> NewBlockIterator(std::shared_ptr<const Block> block,
                                           std::string file_name, BlockKind kind) {
  return std::make_unique<BlockIterator>(std::move(block), std::move(file_name), kind);
}

}  // namespace zworld::engine
