// MemTable: the sorted in-memory write buffer, a lock-free skiplist of entries in an arena.
//
// Entry encoding (stored in the same arena allocation as its skiplist node, which points at it):
//   varint32 internal-key length ++ internal key ++ varint32 value length ++ value
// Entries are ordered by internal key (dbformat.h CompareInternalKey): user key ascending,
// then sequence descending.
//
// Thread safety: reference counted. One writer at a time (the caller serialises Add);
// any number of readers (Get, iterators, scan sources, the size getters) run concurrently
// with the writer and with each other without locks. Nothing is ever removed: the memory
// lives until the last reference is dropped.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "arena.h"
#include "dbformat.h"
#include "scan_source.h"
#include "skiplist.h"
#include "zworld/engine/iterator.h"
#include "zworld/engine/slice.h"

namespace zworld::engine {

class MemTable {
 public:
  // Starts with a reference count of zero: the creator calls Ref().
  MemTable();

  MemTable(const MemTable&) = delete;
  MemTable& operator=(const MemTable&) = delete;

  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // Deletes the memtable when the count reaches zero.
  void Unref();

  // Bytes taken from the arena so far (entries and skiplist nodes). Safe to call
  // concurrently with Add.
  size_t ApproximateMemoryUsage() const;
  // Entries added so far. Safe to call concurrently with Add.
  uint64_t NumEntries() const { return num_entries_.load(std::memory_order_relaxed); }

  // Adds an entry for user_key at seq (value is ignored, and stored empty, for deletions).
  // Precondition: no entry with the same user key and seq exists.
  void Add(SequenceNumber seq, ValueType type, const Slice& user_key, const Slice& value);

  // Looks up the newest version of key.user_key() with a sequence <= the key's sequence.
  // kFound: *value holds the value. kDeleted: the newest such version is a deletion.
  // kAbsent: no such version here.
  LookupResult Get(const LookupKey& key, std::string* value) const;

  // An iterator over the entries: key() is the internal key, value() the value. Seek takes
  // an internal key. The memtable must outlive the iterator (hold a reference). The
  // iterator sees entries added after it was created if it reaches them.
  std::unique_ptr<Iterator> NewIterator() const;

  // The bulk scan path over the entries (scan_source.h). Before its first Seek the source is
  // positioned before the first entry, so NextBlock() loads the first block. Blocks hold up
  // to kScanBlockEntries entries. Its status() is always OK. The memtable must outlive it.
  std::unique_ptr<ScanSource> NewScanSource() const;
  static constexpr size_t kScanBlockEntries = 64;

  // Orders length-prefixed entries by internal key. Public for the iterator classes.
  struct KeyComparator {
    int operator()(const char* a, const char* b) const;
  };
  using Table = SkipList<const char*, KeyComparator>;

  // Adds many entries at once, for a large WriteBatch: Add encodes each entry, Finish sorts
  // them by internal key and links them into the skiplist in that order, each search
  // starting where the previous one ended (SkipList::InsertPending). The entries become
  // visible to readers during Finish, like a series of Add calls (the DB publishes the
  // batch's sequence numbers only afterwards). One writer at a time, as for Add.
  class BulkInserter {
   public:
    explicit BulkInserter(MemTable* mem, size_t expected_entries);
    void Add(SequenceNumber seq, ValueType type, const Slice& user_key, const Slice& value);
    void Finish();

   private:
    struct Pending {
      uint64_t prefix[2];  // the user key's first 16 bytes, big-endian, zero-padded
      Table::PendingNode node;
    };
    MemTable* const mem_;
    std::vector<Pending> pending_;
  };
  // Below this many entries a batch is inserted entry by entry.
  static constexpr size_t kBulkInsertMinEntries = 64;

 private:
  ~MemTable();  // only through Unref

  std::atomic<int> refs_{0};
  std::atomic<uint64_t> num_entries_{0};
  Arena arena_;
  Table table_;
};

// Decodes the varint32-prefixed slice at p (an entry field). Fast path for one-byte lengths.
inline Slice GetLengthPrefixedEntryField(const char* p) {
  uint32_t len;
  p = DecodeVarint32Fast(p, p + 5, &len);
  return Slice(p, len);
}

inline int MemTable::KeyComparator::operator()(const char* a, const char* b) const {
  Slice ka = GetLengthPrefixedEntryField(a);
  Slice kb = GetLengthPrefixedEntryField(b);
  return CompareInternalKey(ka, kb);
}

}  // namespace zworld::engine
