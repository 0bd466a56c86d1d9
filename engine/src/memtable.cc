#include "memtable.h"

#include <algorithm>
#include <array>
#include <cassert>

#include "coding.h"

namespace zworld::engine {

namespace {

// Writes the varint32-prefixed internal key into *scratch and returns the entry-form key the
// skiplist compares (only its key part is read).
const char* EncodeSeekKey(const Slice& ikey, std::string* scratch) {
  scratch->clear();
  PutVarint32(scratch, static_cast<uint32_t>(ikey.size()));
  scratch->append(ikey.data(), ikey.size());
  return scratch->data();
}

// The internal key and value of the entry at p.
inline void DecodeEntry(const char* p, Slice* ikey, Slice* value) {
  *ikey = GetLengthPrefixedEntryField(p);
  *value = GetLengthPrefixedEntryField(ikey->data() + ikey->size());
}

class MemTableIterator final : public Iterator {
 public:
  explicit MemTableIterator(const MemTable::Table* table) : iter_(table) {}

  bool Valid() const override { return iter_.Valid(); }
  void SeekToFirst() override { iter_.SeekToFirst(); }
  void SeekToLast() override { iter_.SeekToLast(); }
  void Seek(const Slice& target) override { iter_.Seek(EncodeSeekKey(target, &scratch_)); }
  void Next() override { iter_.Next(); }
  void Prev() override { iter_.Prev(); }
  Slice key() const override { return GetLengthPrefixedEntryField(iter_.key()); }
  Slice value() const override {
    Slice k = GetLengthPrefixedEntryField(iter_.key());
    return GetLengthPrefixedEntryField(k.data() + k.size());
  }
  Status status() const override { return Status::OK(); }

 private:
  MemTable::Table::Iterator iter_;
  std::string scratch_;
};

// Reads the skiplist a block of up to kScanBlockEntries entries at a time through a
// BatchReader, which keeps many of the nodes' cache misses in flight at once (skiplist.h).
// reader_ always rests on the first entry not yet loaded.
class MemTableScanSource final : public ScanSource {
 public:
  explicit MemTableScanSource(const MemTable::Table* table) : reader_(table) {}

  void Seek(const Slice& target_ikey) override {
    reader_.Seek(EncodeSeekKey(target_ikey, &scratch_));
    started_ = true;
    // Ramp up: a spatial query may want a handful of keys after a seek, a range scan many;
    // each Load after this one reads twice as many as the last, up to a full block.
    want_ = kFirstLoad;
    Load();
  }
  std::span<const RawEntry> Entries() const override {
    return std::span<const RawEntry>(entries_.data() + pos_, count_ - pos_);
  }
  void Consume(size_t n) override {
    assert(n <= count_ - pos_);
    pos_ += n;
  }
  bool NextBlock() override {
    if (!started_) {
      reader_.SeekToFirst();
      started_ = true;
    }
    Load();
    return count_ > 0;
  }
  Status status() const override { return Status::OK(); }
  uint64_t blocks_read() const override { return blocks_read_; }

 private:
  void Load() {
    std::array<const char*, MemTable::kScanBlockEntries> keys;
    pos_ = 0;
    count_ = reader_.Read(keys.data(), want_);
    want_ = std::min(2 * want_, keys.size());
    for (size_t i = 0; i < count_; i++) DecodeEntry(keys[i], &entries_[i].ikey, &entries_[i].value);
    if (count_ > 0) blocks_read_++;
  }

  MemTable::Table::BatchReader reader_;
  std::array<RawEntry, MemTable::kScanBlockEntries> entries_;
  size_t pos_ = 0;
  size_t count_ = 0;
  static constexpr size_t kFirstLoad = 8;
  size_t want_ = MemTable::kScanBlockEntries;
  bool started_ = false;
  uint64_t blocks_read_ = 0;
  std::string scratch_;
};

}  // namespace

MemTable::MemTable() : table_(KeyComparator(), &arena_) {}

MemTable::~MemTable() { assert(refs_.load() == 0); }

void MemTable::Unref() {
  int before = refs_.fetch_sub(1, std::memory_order_acq_rel);
  assert(before > 0);
  if (before == 1) delete this;
}

size_t MemTable::ApproximateMemoryUsage() const { return arena_.MemoryUsage(); }

namespace {

// The memtable entry of one write: varint32 internal key length, internal key, varint32
// value length, value (empty for a deletion). Allocates it with allocate(length) and
// returns it.
template <typename Allocate>
char* EncodeEntry(SequenceNumber seq, ValueType type, const Slice& user_key, const Slice& value,
                  Allocate allocate) {
  const Slice v = type == kTypeDeletion ? Slice() : value;
  const size_t ikey_len = user_key.size() + kTagSize;
  const size_t entry_len = VarintLength(ikey_len) + ikey_len + VarintLength(v.size()) + v.size();
  char* buf = allocate(entry_len);
  char* p = EncodeVarint32(buf, static_cast<uint32_t>(ikey_len));
  std::memcpy(p, user_key.data(), user_key.size());
  p += user_key.size();
  EncodeFixed64(p, PackTag(seq, type));
  p += kTagSize;
  p = EncodeVarint32(p, static_cast<uint32_t>(v.size()));
  if (!v.empty()) std::memcpy(p, v.data(), v.size());
  assert(p + v.size() == buf + entry_len);
  return buf;
}

}  // namespace

void MemTable::Add(SequenceNumber seq, ValueType type, const Slice& user_key, const Slice& value) {
  char* entry =
      EncodeEntry(seq, type, user_key, value, [this](size_t n) { return table_.AllocateKey(n); });
  table_.Insert(entry);
  num_entries_.store(num_entries_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
}

MemTable::BulkInserter::BulkInserter(MemTable* mem, size_t expected_entries) : mem_(mem) {
  pending_.reserve(expected_entries);
}

void MemTable::BulkInserter::Add(SequenceNumber seq, ValueType type, const Slice& user_key,
                                 const Slice& value) {
  Pending& pending = pending_.emplace_back();
  EncodeEntry(seq, type, user_key, value,
              [&](size_t n) { return mem_->table_.AllocatePending(n, &pending.node); });
  char padded[16] = {};
  std::memcpy(padded, user_key.data(), std::min<size_t>(16, user_key.size()));
  pending.prefix[0] = DecodeBigEndian64(padded);
  pending.prefix[1] = DecodeBigEndian64(padded + 8);
}

void MemTable::BulkInserter::Finish() {
  // Sort by the 16-byte prefix, which orders user keys bytewise except among keys that
  // share it (or are shorter than 16 bytes and equal up to the padding): those fall back to
  // the full internal-key comparison.
  const KeyComparator cmp;
  std::sort(pending_.begin(), pending_.end(), [&cmp](const Pending& a, const Pending& b) {
    if (a.prefix[0] != b.prefix[0]) return a.prefix[0] < b.prefix[0];
    if (a.prefix[1] != b.prefix[1]) return a.prefix[1] < b.prefix[1];
    return cmp(Table::PendingKey(a.node), Table::PendingKey(b.node)) < 0;
  });
  std::vector<Table::PendingNode> nodes;
  nodes.reserve(pending_.size());
  for (const Pending& p : pending_) nodes.push_back(p.node);
  mem_->table_.InsertPending(nodes.data(), nodes.size());
  mem_->num_entries_.store(mem_->num_entries_.load(std::memory_order_relaxed) + nodes.size(),
                           std::memory_order_relaxed);
  pending_.clear();
}

LookupResult MemTable::Get(const LookupKey& key, std::string* value) const {
  Table::Iterator iter(&table_);
  iter.Seek(key.memtable_key().data());
  if (!iter.Valid()) return LookupResult::kAbsent;
  Slice ikey, v;
  DecodeEntry(iter.key(), &ikey, &v);
  if (ExtractUserKey(ikey) != key.user_key()) return LookupResult::kAbsent;
  switch (static_cast<ValueType>(ExtractTag(ikey) & 0xff)) {
    case kTypeValue:
      value->assign(v.data(), v.size());
      return LookupResult::kFound;
    case kTypeDeletion:
      return LookupResult::kDeleted;
  }
  return LookupResult::kAbsent;  // unreachable: Add only stores the two types
}

std::unique_ptr<Iterator> MemTable::NewIterator() const {
  return std::make_unique<MemTableIterator>(&table_);
}

std::unique_ptr<ScanSource> MemTable::NewScanSource() const {
  return std::make_unique<MemTableScanSource>(&table_);
}

}  // namespace zworld::engine
