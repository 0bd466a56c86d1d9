#include "skiplist.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <numeric>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "arena.h"

namespace zworld::engine {
namespace {

using Key = uint64_t;

struct U64Compare {
  int operator()(const Key& a, const Key& b) const { return a < b ? -1 : (a > b ? 1 : 0); }
};
using List = SkipList<Key, U64Compare>;

TEST(SkipListTest, Empty) {
  Arena arena;
  List list(U64Compare(), &arena);
  EXPECT_FALSE(list.Contains(10));
  List::Iterator it(&list);
  EXPECT_FALSE(it.Valid());
  it.SeekToFirst();
  EXPECT_FALSE(it.Valid());
  it.Seek(100);
  EXPECT_FALSE(it.Valid());
  it.SeekToLast();
  EXPECT_FALSE(it.Valid());
}

TEST(SkipListTest, MatchesSetForwardBackwardAndSeek) {
  Arena arena;
  List list(U64Compare(), &arena);
  std::set<Key> model;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; i++) {
    Key k = rng() % 100000;
    if (model.insert(k).second) list.Insert(k);
  }
  for (Key k = 0; k < 100000; k += 7) {
    ASSERT_EQ(list.Contains(k), model.count(k) == 1) << k;
  }

  List::Iterator it(&list);
  it.SeekToFirst();
  for (Key k : model) {
    ASSERT_TRUE(it.Valid());
    ASSERT_EQ(it.key(), k);
    it.Next();
  }
  EXPECT_FALSE(it.Valid());

  it.SeekToLast();
  for (auto r = model.rbegin(); r != model.rend(); ++r) {
    ASSERT_TRUE(it.Valid());
    ASSERT_EQ(it.key(), *r);
    it.Prev();
  }
  EXPECT_FALSE(it.Valid());

  for (int i = 0; i < 2000; i++) {
    Key target = rng() % 100010;
    it.Seek(target);
    auto m = model.lower_bound(target);
    if (m == model.end()) {
      ASSERT_FALSE(it.Valid()) << target;
    } else {
      ASSERT_TRUE(it.Valid()) << target;
      ASSERT_EQ(it.key(), *m) << target;
    }
  }
}

// Keys carry a check value in their low bits, so a reader that saw a half-built node
// (garbage key) notices.
Key MakeKey(uint64_t v) { return (v << 16) | ((v * 0x9e3779b1u) >> 7 & 0xffff); }
bool KeyIsWellFormed(Key k) { return MakeKey(k >> 16) == k; }

// One writer inserts a shuffled sequence of keys while readers scan and seek. Every key the
// writer published before a reader looked must be visible, every key seen must be whole,
// and scans must be strictly increasing.
TEST(SkipListTest, ConcurrentReadersSeeConsistentList) {
  constexpr uint64_t kKeys = 60000;
  std::vector<uint64_t> order(kKeys);
  std::iota(order.begin(), order.end(), 0);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(99));

  Arena arena;
  List list(U64Compare(), &arena);
  std::atomic<uint64_t> published{0};
  std::atomic<bool> failed{false};

  auto reader = [&](int seed) {
    std::mt19937_64 rng(seed);
    int rounds = 0;
    while (!failed.load()) {
      const uint64_t n = published.load(std::memory_order_acquire);
      // Point checks against keys published before this round.
      for (int i = 0; i < 50 && n > 0; i++) {
        Key k = MakeKey(order[rng() % n]);
        if (!list.Contains(k)) {
          ADD_FAILURE() << "published key missing: " << k;
          failed = true;
        }
      }
      // A partial scan from a random point: strictly increasing, well-formed keys.
      List::Iterator it(&list);
      it.Seek(MakeKey(rng() % kKeys));
      Key prev = 0;
      bool first = true;
      for (int i = 0; i < 2000 && it.Valid(); i++, it.Next()) {
        Key k = it.key();
        if (!KeyIsWellFormed(k) || (!first && k <= prev)) {
          ADD_FAILURE() << "bad key or order: " << prev << " then " << k;
          failed = true;
          break;
        }
        prev = k;
        first = false;
      }
      rounds++;
      if (n == kKeys && rounds > 20) break;
    }
  };

  std::thread r1(reader, 1), r2(reader, 2);
  for (uint64_t i = 0; i < kKeys; i++) {
    list.Insert(MakeKey(order[i]));
    published.store(i + 1, std::memory_order_release);
  }
  r1.join();
  r2.join();
  EXPECT_FALSE(failed.load());

  // Afterwards the whole list is there, in order.
  List::Iterator it(&list);
  it.SeekToFirst();
  for (uint64_t v = 0; v < kKeys; v++, it.Next()) {
    ASSERT_TRUE(it.Valid());
    ASSERT_EQ(it.key(), MakeKey(v));
  }
  EXPECT_FALSE(it.Valid());
}

}  // namespace
}  // namespace zworld::engine
