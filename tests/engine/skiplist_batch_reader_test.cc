// SkipList::BatchReader (engine/src/skiplist.h): the batched, prefetching reader behind the
// memtable's scan source must return exactly what a walk of the bottom level returns, from
// any position, in any batch sizes, on lists of every height, and while a writer inserts.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "arena.h"
#include "skiplist.h"
#include "support/test_util.h"

namespace zworld::engine {
namespace {

using Key = uint64_t;

struct U64Compare {
  int operator()(const Key& a, const Key& b) const { return a < b ? -1 : (a > b ? 1 : 0); }
};
using List = SkipList<Key, U64Compare>;

// Reads up to `want` keys from reader in calls of pseudo-random sizes in [1, max_call].
std::vector<Key> ReadSome(List::BatchReader* reader, size_t want, size_t max_call,
                          test::Random* rnd) {
  std::vector<Key> out;
  std::vector<Key> buf(max_call);
  while (out.size() < want) {
    const size_t ask = std::min(want - out.size(), 1 + static_cast<size_t>(rnd->Uniform(max_call)));
    const size_t got = reader->Read(buf.data(), ask);
    out.insert(out.end(), buf.begin(), buf.begin() + got);
    if (got < ask) break;  // the end of the list
  }
  return out;
}

TEST(SkipListBatchReaderTest, EmptyList) {
  Arena arena;
  List list(U64Compare(), &arena);
  List::BatchReader reader(&list);
  Key k;
  EXPECT_EQ(reader.Read(&k, 1), 0u);  // before any Seek
  reader.SeekToFirst();
  EXPECT_EQ(reader.Read(&k, 1), 0u);
  reader.Seek(5);
  EXPECT_EQ(reader.Read(&k, 1), 0u);
}

// Lists from 1 to 40 keys (few levels, often no node at the upper levels the reader uses):
// every seek target, read in one call.
TEST(SkipListBatchReaderTest, SmallListsEverySeek) {
  for (Key n = 1; n <= 40; n++) {
    Arena arena;
    List list(U64Compare(), &arena);
    std::vector<Key> keys;
    for (Key i = 0; i < n; i++) keys.push_back(10 * i + 10);
    for (Key k : keys) list.Insert(k);
    List::BatchReader reader(&list);
    for (Key target = 0; target <= 10 * n + 20; target += 5) {
      reader.Seek(target);
      std::vector<Key> got(n + 1);
      got.resize(reader.Read(got.data(), got.size()));
      std::vector<Key> want(std::lower_bound(keys.begin(), keys.end(), target), keys.end());
      ASSERT_EQ(got, want) << "n=" << n << " target=" << target;
    }
    reader.SeekToFirst();
    std::vector<Key> got(n + 5);
    got.resize(reader.Read(got.data(), got.size()));
    ASSERT_EQ(got, keys) << "n=" << n;
  }
}

// A list tall enough that batches cross many upper-level nodes; random seeks, random call
// sizes (smaller and larger than a batch), reads that stop anywhere and restart with a Seek.
TEST(SkipListBatchReaderTest, MatchesSetFromRandomPositions) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  Arena arena;
  List list(U64Compare(), &arena);
  std::set<Key> model;
  const int n = test::UnderSanitizer() ? 20000 : 100000;
  while (model.size() < static_cast<size_t>(n)) {
    const Key k = rnd.Uniform(50 * static_cast<uint64_t>(n));
    if (model.insert(k).second) list.Insert(k);
  }

  List::BatchReader reader(&list);
  reader.SeekToFirst();
  std::vector<Key> all = ReadSome(&reader, model.size() + 10, 500, &rnd);
  ASSERT_EQ(all, std::vector<Key>(model.begin(), model.end()));
  Key k;
  EXPECT_EQ(reader.Read(&k, 1), 0u);

  for (int round = 0; round < 300; round++) {
    const Key target = rnd.Uniform(50 * static_cast<uint64_t>(n) + 100);
    const size_t want = rnd.OneIn(10) ? model.size() : 1 + rnd.Uniform(2000);
    const size_t max_call = 1 + rnd.Uniform(rnd.OneIn(2) ? 8 : 400);
    reader.Seek(target);
    const std::vector<Key> got = ReadSome(&reader, want, max_call, &rnd);
    std::vector<Key> expected;
    for (auto it = model.lower_bound(target); it != model.end() && expected.size() < want; ++it) {
      expected.push_back(*it);
    }
    ASSERT_EQ(got, expected) << "target=" << target << " want=" << want << " max_call=" << max_call;
  }
}

// Keys carry a check value in their low bits, so a reader that saw a half-built node
// (garbage key) notices.
Key MakeKey(uint64_t v) { return (v << 16) | ((v * 0x9e3779b1u) >> 7 & 0xffff); }
bool KeyIsWellFormed(Key k) { return MakeKey(k >> 16) == k; }

// One writer inserts keys in a scattered order while readers read long stretches in
// batches. Every key published before a reader's Seek that lies in the range it read must
// be there; keys must be whole and strictly increasing.
TEST(SkipListBatchReaderTest, ConcurrentWriter) {
  const uint64_t kKeys = test::UnderSanitizer() ? 30000 : 120000;
  std::vector<uint64_t> order(kKeys);
  std::iota(order.begin(), order.end(), 0);
  {
    test::Random rnd(test::TestSeed());
    for (size_t i = kKeys - 1; i > 0; i--) std::swap(order[i], order[rnd.Uniform(i + 1)]);
  }
  Arena arena;
  List list(U64Compare(), &arena);
  std::vector<std::atomic<bool>> published(kKeys);
  std::atomic<uint64_t> inserted{0};
  std::atomic<bool> failed{false};
  std::atomic<int> ready{0};
  std::atomic<int> rounds_during_writes{0};

  auto reader_thread = [&](uint64_t seed) {
    test::Random rnd(seed);
    List::BatchReader reader(&list);
    std::vector<Key> buf(300);
    int rounds = 0;
    ready++;
    while (!failed.load() && (inserted.load() < kKeys || rounds < 20)) {
      rounds++;
      if (inserted.load() < kKeys) rounds_during_writes++;
      const uint64_t start = rnd.Uniform(kKeys);
      // Keys published now must be seen by the reads below.
      std::vector<bool> before(kKeys);
      for (uint64_t v = start; v < std::min(kKeys, start + 3000); v++) {
        before[v] = published[v].load(std::memory_order_acquire);
      }
      reader.Seek(MakeKey(start));
      uint64_t expect_next = start;  // every published value below this was checked
      Key prev = 0;
      bool first = true;
      size_t total = 0;
      while (total < 2000) {
        const size_t got = reader.Read(buf.data(), 1 + rnd.Uniform(buf.size()));
        if (got == 0) {
          // The end of the list: nothing published before the Seek may lie beyond it.
          for (uint64_t v = expect_next; v < std::min(kKeys, start + 3000); v++) {
            if (before[v]) {
              ADD_FAILURE() << "published key " << v << " missing at the end of the list";
              failed = true;
              return;
            }
          }
          break;
        }
        for (size_t i = 0; i < got; i++) {
          const Key k = buf[i];
          if (!KeyIsWellFormed(k) || (!first && k <= prev) || (k >> 16) < start) {
            ADD_FAILURE() << "bad key or order: " << prev << " then " << k;
            failed = true;
            return;
          }
          for (uint64_t v = expect_next; v < (k >> 16); v++) {
            if (v < start + 3000 && before[v]) {
              ADD_FAILURE() << "published key " << v << " skipped (start " << start << ")";
              failed = true;
              return;
            }
          }
          expect_next = (k >> 16) + 1;
          prev = k;
          first = false;
        }
        total += got;
      }
    }
  };

  std::thread r1(reader_thread, 1), r2(reader_thread, 2);
  while (ready.load() < 2) std::this_thread::yield();
  for (uint64_t i = 0; i < kKeys; i++) {
    list.Insert(MakeKey(order[i]));
    published[order[i]].store(true, std::memory_order_release);
    inserted.store(i + 1, std::memory_order_release);
    if (i % 256 == 0) std::this_thread::yield();  // let the readers run (two cores or one)
  }
  r1.join();
  r2.join();
  EXPECT_FALSE(failed.load());
  RecordProperty("reader_rounds_during_writes", rounds_during_writes.load());
}

}  // namespace
}  // namespace zworld::engine
