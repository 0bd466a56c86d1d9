#include "table.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>

#include "coding.h"
#include "crc32c.h"

namespace zworld::engine {

namespace {

// Bytes charged to the block cache beyond a block's data (the Block, its control block
// and the cache entry).
constexpr size_t kCacheEntryOverhead = 128;

// Up to 8 bytes of user_key from offset on, as a big-endian number padded with zeros.
inline uint64_t KeyWindow(const Slice& user_key, size_t offset) {
  char buf[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  if (user_key.size() > offset) {
    std::memcpy(buf, user_key.data() + offset, std::min<size_t>(8, user_key.size() - offset));
  }
  return DecodeBigEndian64(buf);
}

// Parses a varint64 property value that must fill the whole value.
bool ParseNumber(Slice value, uint64_t* out) { return GetVarint64(&value, out) && value.empty(); }

}  // namespace

// ---- Opening ----------------------------------------------------------------------------

Status Table::Open(const Options& options, const std::string& file_name, uint64_t file_number,
                   std::unique_ptr<RandomAccessFile> file, uint64_t file_size, BlockCache* cache,
                   std::unique_ptr<Table>* table) {
  table->reset();
  if (file_size < Footer::kEncodedLength) {
    return CorruptionAt(
        file_name, 0,
        ("file too short to be an SSTable (" + std::to_string(file_size) + " bytes)").c_str());
  }
  const uint64_t footer_offset = file_size - Footer::kEncodedLength;
  char footer_buf[Footer::kEncodedLength];
  Slice footer_bytes;
  Status s = file->Read(footer_offset, Footer::kEncodedLength, &footer_bytes, footer_buf);
  if (!s.ok()) return s;
  if (footer_bytes.size() != Footer::kEncodedLength) {
    return CorruptionAt(file_name, footer_offset, "truncated table footer");
  }
  Footer footer;
  s = footer.DecodeFrom(footer_bytes, file_name, footer_offset);
  if (!s.ok()) return s;

  std::unique_ptr<Table> t(new Table());
  t->options_ = options;
  t->file_name_ = file_name;
  t->file_number_ = file_number;
  t->file_size_ = file_size;
  t->file_ = std::move(file);
  t->mapped_ = t->file_->IsMapped();
  t->cache_ = cache;

  // Every block the footer names must lie before the footer.
  for (const BlockHandle* h : {&footer.filter, &footer.properties, &footer.index}) {
    if (h == &footer.filter && h->size() == 0) continue;
    if (h->offset() > footer_offset || h->size() > footer_offset - h->offset() ||
        h->end() > footer_offset) {
      return CorruptionAt(file_name, footer_offset, "table footer names a block past its end");
    }
  }
  s = t->ReadMetaBlocks(footer);
  if (!s.ok()) return s;
  *table = std::move(t);
  return Status::OK();
}

Status Table::ReadMetaBlocks(const Footer& footer) {
  // Index block: decoded once into index_, whose Slices point into index_block_.
  BlockContents contents;
  Status s = ReadBlock(file_.get(), file_name_, footer.index, /*verify_checksum=*/true, &contents);
  if (!s.ok()) return s;
  index_block_ = Block(std::move(contents), footer.index.offset());
  {
    std::vector<RawEntry> entries;
    std::string key_buf;
    s = DecodeBlockEntries(index_block_, BlockKind::kIndex, file_name_, nullptr, &entries,
                           &key_buf);
    if (!s.ok()) return s;
    // index_ keeps Slices into index_block_: a key assembled in key_buf would dangle.
    const auto block_lo = reinterpret_cast<uintptr_t>(index_block_.data().data());
    const auto block_hi = block_lo + index_block_.size();
    for (const RawEntry& e : entries) {
      const auto key_lo = reinterpret_cast<uintptr_t>(e.ikey.data());
      if (key_lo < block_lo || key_lo + e.ikey.size() > block_hi) {
        return CorruptionAt(file_name_, footer.index.offset(),
                            "index block key stored with a shared prefix");
      }
    }
    uint64_t meta_start = std::min(footer.properties.offset(), footer.index.offset());
    if (footer.filter.size() > 0) meta_start = std::min(meta_start, footer.filter.offset());
    index_.reserve(entries.size());
    uint64_t prev_end = 0;
    for (size_t i = 0; i < entries.size(); i++) {
      IndexEntry e;
      e.last_key = entries[i].ikey;
      Slice value = entries[i].value;
      ParsedInternalKey parsed;
      if (!ParseInternalKey(e.last_key, &parsed) || !e.handle.DecodeFrom(&value) ||
          !GetLengthPrefixedSlice(&value, &e.summary) || !value.empty()) {
        return CorruptionAt(file_name_, footer.index.offset(), "malformed index block entry");
      }
      if (i > 0 && CompareInternalKey(index_.back().last_key, e.last_key) >= 0) {
        return CorruptionAt(file_name_, footer.index.offset(), "index block keys out of order");
      }
      if (e.handle.offset() < prev_end || e.handle.offset() > meta_start ||
          e.handle.size() > meta_start - e.handle.offset() || e.handle.end() > meta_start) {
        return CorruptionAt(file_name_, footer.index.offset(),
                            "index block names a data block outside the data area");
      }
      prev_end = e.handle.end();
      index_.push_back(e);
    }
    data_end_ = prev_end;
  }
  if (!index_.empty()) {
    const Slice first = ExtractUserKey(index_.front().last_key);
    const Slice last = ExtractUserKey(index_.back().last_key);
    size_t n = 0;
    while (n < first.size() && n < last.size() && first[n] == last[n]) n++;
    common_prefix_ = Slice(first.data(), n);
    index_window_.reserve(index_.size());
    for (const IndexEntry& e : index_) {
      index_window_.push_back(KeyWindow(ExtractUserKey(e.last_key), n));
    }
  }
  verified_ = std::make_unique<std::atomic<uint8_t>[]>(index_.size());

  // Properties block.
  s = ReadBlock(file_.get(), file_name_, footer.properties, true, &contents);
  if (!s.ok()) return s;
  {
    Block block(std::move(contents), footer.properties.offset());
    BlockCursor c;
    c.Init(&block, &file_name_, BlockKind::kProperties);
    bool have_count = false;
    uint64_t num_blocks = 0;
    for (c.SeekToFirst(); c.Valid(); c.Next()) {
      const Slice name = c.key();
      const Slice value = c.value();
      bool ok = true;
      if (name == "zworld.collector.name") {
        props_.collector_name = value.ToString();
      } else if (name == "zworld.collector.summary") {
        props_.collector_summary = value.ToString();
      } else if (name == "zworld.largest_key") {
        props_.largest_key = value.ToString();
      } else if (name == "zworld.smallest_key") {
        props_.smallest_key = value.ToString();
      } else if (name == "zworld.max_sequence") {
        ok = ParseNumber(value, &props_.max_sequence);
      } else if (name == "zworld.min_sequence") {
        ok = ParseNumber(value, &props_.min_sequence);
      } else if (name == "zworld.num_data_blocks") {
        ok = ParseNumber(value, &num_blocks);
        have_count = true;
      } else if (name == "zworld.num_deletions") {
        ok = ParseNumber(value, &props_.num_deletions);
      } else if (name == "zworld.num_entries") {
        ok = ParseNumber(value, &props_.num_entries);
      } else if (name == "zworld.raw_key_bytes") {
        ok = ParseNumber(value, &props_.raw_key_bytes);
      } else if (name == "zworld.raw_value_bytes") {
        ok = ParseNumber(value, &props_.raw_value_bytes);
      }  // unknown names come from newer writers and are skipped
      if (!ok) {
        return CorruptionAt(file_name_, footer.properties.offset(),
                            "malformed number in properties block");
      }
    }
    if (!c.status().ok()) return c.status();
    if (!have_count || num_blocks != index_.size()) {
      return CorruptionAt(file_name_, footer.properties.offset(),
                          "properties block disagrees with the index on the number of blocks");
    }
    props_.num_data_blocks = num_blocks;
  }

  // Filter block.
  if (footer.filter.size() > 0) {
    s = ReadBlock(file_.get(), file_name_, footer.filter, true, &filter_contents_);
    if (!s.ok()) return s;
    if (!filter_.Init(filter_contents_.data)) {
      return CorruptionAt(file_name_, footer.filter.offset(), "malformed bloom filter block");
    }
    has_filter_ = true;
  }
  return Status::OK();
}

Table::~Table() = default;

// ---- Block access -----------------------------------------------------------------------

size_t Table::FindBlock(const Slice& ikey) const {
  size_t lo = 0, hi = index_.size();
  const Slice user_key = ExtractUserKey(ikey);
  if (user_key.starts_with(common_prefix_)) {
    // Blocks whose window is below the target's end before it, blocks whose window is
    // above it start after it; only equal windows need full comparisons.
    const uint64_t w = KeyWindow(user_key, common_prefix_.size());
    const uint64_t* windows = index_window_.data();
    lo = static_cast<size_t>(std::lower_bound(windows, windows + hi, w) - windows);
    hi = static_cast<size_t>(std::upper_bound(windows + lo, windows + hi, w) - windows);
  }
  auto it = std::partition_point(
      index_.begin() + lo, index_.begin() + hi,
      [&ikey](const IndexEntry& e) { return CompareInternalKey(e.last_key, ikey) < 0; });
  return static_cast<size_t>(it - index_.begin());
}

Status Table::ReadDataBlock(const ReadOptions& options, size_t i, PinnedBlock* pinned) const {
  const BlockHandle& h = index_[i].handle;
  const bool verify_always = options.verify_checksums || options_.paranoid_checks;

  if (mapped_) {
    // Uncompressed blocks of a mapped file are used in place; each is checked once. A mapped
    // file's Read returns memory the file owns and never touches scratch (env.h).
    const size_t n = static_cast<size_t>(h.size());
    Slice raw;
    Status s = file_->Read(h.offset(), n + kBlockTrailerSize, &raw, nullptr);
    if (!s.ok()) return s;
    if (raw.size() != n + kBlockTrailerSize) {
      return CorruptionAt(file_name_, h.offset(), "truncated block read");
    }
    if (static_cast<uint8_t>(raw[n]) == kBlockRaw) {
      if (verify_always || verified_[i].load(std::memory_order_relaxed) == 0) {
        const uint32_t stored = crc32c::Unmask(DecodeFixed32(raw.data() + n + 1));
        if (crc32c::Value(raw.data(), n + 1) != stored) {
          return CorruptionAt(file_name_, h.offset(), "block checksum mismatch");
        }
        verified_[i].store(1, std::memory_order_relaxed);
      }
      pinned->shared_.reset();
      pinned->view_ = Block(Slice(raw.data(), n), h.offset());
      pinned->block_ = &pinned->view_;
      return Status::OK();
    }
  }

  if (cache_ != nullptr && !verify_always) {
    std::shared_ptr<const Block> cached = cache_->Lookup(file_number_, h.offset());
    if (cached != nullptr) {
      pinned->block_ = cached.get();
      pinned->shared_ = std::move(cached);
      return Status::OK();
    }
  }
  BlockContents contents;
  Status s = ReadBlock(file_.get(), file_name_, h, /*verify_checksum=*/true, &contents);
  if (!s.ok()) return s;
  const bool owned = contents.owned();
  auto block = std::make_shared<const Block>(std::move(contents), h.offset());
  if (cache_ != nullptr && owned && options.fill_cache) {
    cache_->Insert(file_number_, h.offset(), block, block->size() + kCacheEntryOverhead);
  }
  pinned->block_ = block.get();
  pinned->shared_ = std::move(block);
  return Status::OK();
}

void Table::PrefetchDataBlock(size_t i) const {
  if (!mapped_) return;
  const BlockHandle& h = index_[i].handle;
  Slice raw;
  if (file_->Read(h.offset(), static_cast<size_t>(h.size()), &raw, nullptr).ok()) {
    PrefetchBytes(raw.data(), raw.size());
  }
}

bool Table::KeyMayMatch(const Slice& user_key) const {
  return !has_filter_ || filter_.MayMatch(user_key);
}

uint64_t Table::ApproximateOffsetOf(const Slice& ikey) const {
  const size_t i = FindBlock(ikey);
  return i < index_.size() ? index_[i].handle.offset() : data_end_;
}

// ---- Point lookup -----------------------------------------------------------------------

Status Table::Get(const ReadOptions& options, const LookupKey& key, std::string* value,
                  LookupResult* result, bool* bloom_skipped) const {
  *result = LookupResult::kAbsent;
  if (bloom_skipped != nullptr) *bloom_skipped = false;
  if (has_filter_ && !filter_.MayMatch(key.user_key())) {
    if (bloom_skipped != nullptr) *bloom_skipped = true;
    return Status::OK();
  }
  const Slice ikey = key.internal_key();
  const size_t i = FindBlock(ikey);
  if (i == index_.size()) return Status::OK();

  PinnedBlock pinned;
  Status s = ReadDataBlock(options, i, &pinned);
  if (!s.ok()) return s;
  BlockCursor cursor;
  cursor.Init(pinned.get(), &file_name_, BlockKind::kData);
  cursor.Seek(ikey);
  if (!cursor.Valid()) return cursor.status();
  ParsedInternalKey found;
  if (!ParseInternalKey(cursor.key(), &found)) {
    return CorruptionAt(file_name_, index_[i].handle.offset(), "bad internal key type in block");
  }
  if (found.user_key != key.user_key()) return Status::OK();
  if (found.type == kTypeValue) {
    value->assign(cursor.value().data(), cursor.value().size());
    *result = LookupResult::kFound;
  } else {
    *result = LookupResult::kDeleted;
  }
  return Status::OK();
}

// ---- Iterator ---------------------------------------------------------------------------

namespace {

// Walks the data blocks in index order with a BlockCursor over the current one. Errors are
// sticky: once status() is not OK the iterator stays invalid.
class TableIterator final : public Iterator {
 public:
  TableIterator(const Table* table, const ReadOptions& options)
      : table_(table), options_(options), num_blocks_(table->num_data_blocks()) {}

  bool Valid() const override { return loaded_ && cursor_.Valid(); }

  void SeekToFirst() override {
    if (!Load(0)) return;
    cursor_.SeekToFirst();
    SkipForward();
  }
  void SeekToLast() override {
    if (num_blocks_ == 0 || !Load(num_blocks_ - 1)) return;
    cursor_.SeekToLast();
    SkipBackward();
  }
  void Seek(const Slice& target) override {
    if (!Load(table_->FindBlock(target))) return;
    cursor_.Seek(target);
    SkipForward();
  }
  void Next() override {
    cursor_.Next();
    SkipForward();
  }
  void Prev() override {
    cursor_.Prev();
    SkipBackward();
  }
  Slice key() const override { return cursor_.key(); }
  Slice value() const override { return cursor_.value(); }
  Status status() const override {
    if (!status_.ok()) return status_;
    return loaded_ ? cursor_.status() : Status::OK();
  }

 private:
  // Makes block i current (not positioned). False if i is past the end or on error.
  bool Load(size_t i) {
    if (!status_.ok()) return false;
    if (loaded_ && !cursor_.status().ok()) {
      status_ = cursor_.status();
      loaded_ = false;
      return false;
    }
    if (i >= num_blocks_) {
      loaded_ = false;
      return false;
    }
    if (!loaded_ || i != block_) {
      loaded_ = false;
      Status s = table_->ReadDataBlock(options_, i, &pinned_);
      if (!s.ok()) {
        status_ = std::move(s);
        return false;
      }
      block_ = i;
      loaded_ = true;
    }
    cursor_.Init(pinned_.get(), &table_->file_name(), BlockKind::kData);
    return true;
  }
  void SkipForward() {
    while (loaded_ && !cursor_.Valid() && cursor_.status().ok()) {
      if (!Load(block_ + 1)) return;
      cursor_.SeekToFirst();
    }
  }
  void SkipBackward() {
    while (loaded_ && !cursor_.Valid() && cursor_.status().ok()) {
      if (block_ == 0) {
        loaded_ = false;
        return;
      }
      if (!Load(block_ - 1)) return;
      cursor_.SeekToLast();
    }
  }

  const Table* const table_;
  const ReadOptions options_;
  const size_t num_blocks_;
  size_t block_ = 0;
  bool loaded_ = false;
  Table::PinnedBlock pinned_;
  BlockCursor cursor_;
  Status status_;
};

// ---- Scan source ------------------------------------------------------------------------

// The bulk scan path: decodes one whole data block per call into entries_.
class TableScanSource final : public ScanSource {
 public:
  TableScanSource(const Table* table, const ReadOptions& options)
      : table_(table), options_(options), num_blocks_(table->num_data_blocks()) {
    entries_.reserve(kTypicalBlockEntries);
  }

  void Seek(const Slice& target_ikey) override {
    if (!status_.ok()) return;
    size_t i = table_->FindBlock(target_ikey);
    if (i >= num_blocks_) {
      Exhaust();
      return;
    }
    Load(i, &target_ikey);
    // The index key is the block's exact last key, so the block holds an entry >= target
    // unless the block and its index entry disagree; then move on rather than stall.
    while (status_.ok() && pos_ == entries_.size() && current_ + 1 < num_blocks_) {
      Load(current_ + 1, nullptr);
    }
  }

  std::span<const RawEntry> Entries() const override {
    return std::span<const RawEntry>(entries_.data() + pos_, entries_.size() - pos_);
  }
  void Consume(size_t n) override { pos_ += std::min(n, entries_.size() - pos_); }

  bool NextBlock() override {
    if (!status_.ok()) return false;
    const size_t next = NextIndex();
    if (next >= num_blocks_) {
      Exhaust();
      return false;
    }
    Load(next, nullptr);
    return status_.ok();
  }

  bool PeekNextBlock(Slice* last_ikey, Slice* summary) const override {
    if (!status_.ok()) return false;
    const size_t next = NextIndex();
    if (next >= num_blocks_) return false;
    *last_ikey = table_->BlockLastKey(next);
    *summary = table_->BlockSummary(next);
    return true;
  }
  void SkipNextBlock() override {
    const size_t next = NextIndex();
    if (!status_.ok() || next >= num_blocks_) return;
    current_ = next;
    Clear();
    blocks_skipped_++;
  }

  Status status() const override { return status_; }
  uint64_t blocks_read() const override { return blocks_read_; }
  uint64_t blocks_skipped() const override { return blocks_skipped_; }

 private:
  static constexpr size_t kUnpositioned = std::numeric_limits<size_t>::max();
  // Room reserved up front for a block's entries (a 4 KiB block of ~60-byte entries), so
  // that a short scan does not regrow the vector entry by entry.
  static constexpr size_t kTypicalBlockEntries = 64;

  size_t NextIndex() const {
    if (current_ == kUnpositioned) return 0;
    return current_ >= num_blocks_ ? num_blocks_ : current_ + 1;
  }
  void Clear() {
    entries_.clear();
    pos_ = 0;
    pinned_.Reset();
  }
  void Exhaust() {
    current_ = num_blocks_;
    Clear();
  }
  void Load(size_t i, const Slice* target) {
    Clear();
    current_ = i;
    Status s = table_->ReadDataBlock(options_, i, &pinned_);
    if (s.ok()) {
      blocks_read_++;
      s = DecodeBlockEntries(*pinned_.get(), BlockKind::kData, table_->file_name(), target,
                             &entries_, &key_buf_);
      // The merge works through this block before it needs the next one.
      if (i + 1 < num_blocks_) table_->PrefetchDataBlock(i + 1);
    }
    if (!s.ok()) {
      status_ = std::move(s);
      Clear();
    }
  }

  const Table* const table_;
  const ReadOptions options_;
  const size_t num_blocks_;
  size_t current_ = kUnpositioned;
  Table::PinnedBlock pinned_;
  std::vector<RawEntry> entries_;
  size_t pos_ = 0;
  std::string key_buf_;
  Status status_;
  uint64_t blocks_read_ = 0;
  uint64_t blocks_skipped_ = 0;
};

}  // namespace

std::unique_ptr<Iterator> Table::NewIterator(const ReadOptions& options) const {
  return std::make_unique<TableIterator>(this, options);
}

std::unique_ptr<ScanSource> Table::NewScanSource(const ReadOptions& options) const {
  return std::make_unique<TableScanSource>(this, options);
}

}  // namespace zworld::engine
