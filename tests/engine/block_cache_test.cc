// BlockCache: hits and misses, LRU eviction within the byte budget, EraseFile, blocks kept
// alive by readers after eviction, and concurrent use.
#include "block_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.h"

namespace zworld::engine {
namespace {

// An owning block of size bytes (its contents do not matter to the cache).
std::shared_ptr<const Block> MakeBlock(size_t size, char fill = 'x') {
  BlockContents c;
  c.heap = std::make_unique<char[]>(size);
  std::memset(c.heap.get(), fill, size);
  c.data = Slice(c.heap.get(), size);
  return std::make_shared<const Block>(std::move(c), 0);
}

TEST(BlockCache, HitsAndMisses) {
  BlockCache cache(1 << 20);
  EXPECT_EQ(nullptr, cache.Lookup(1, 0));
  auto b = MakeBlock(100);
  cache.Insert(1, 0, b, 100);
  EXPECT_EQ(b, cache.Lookup(1, 0));
  EXPECT_EQ(nullptr, cache.Lookup(1, 4096));  // other offset
  EXPECT_EQ(nullptr, cache.Lookup(2, 0));     // other file
  EXPECT_EQ(1u, cache.hits());
  EXPECT_EQ(3u, cache.misses());
  EXPECT_EQ(100u, cache.usage());

  // Replacing a key replaces the charge too.
  auto b2 = MakeBlock(300);
  cache.Insert(1, 0, b2, 300);
  EXPECT_EQ(b2, cache.Lookup(1, 0));
  EXPECT_EQ(300u, cache.usage());
}

TEST(BlockCache, EvictsLeastRecentlyUsedWithinBudget) {
  // One shard's share is capacity / 16; keep all blocks of this test in one file and let the
  // shard hashing spread them: the total must stay within the budget, recently used blocks
  // must survive.
  const size_t capacity = 16 * 10000;
  BlockCache cache(capacity);
  for (uint64_t i = 0; i < 1000; i++) {
    cache.Insert(7, i * 4096, MakeBlock(1000), 1000);
    // Keep block 0 hot.
    EXPECT_NE(nullptr, cache.Lookup(7, 0)) << i;
    ASSERT_LE(cache.usage(), capacity);
  }
  EXPECT_GT(cache.usage(), capacity / 2);
  int present = 0;
  for (uint64_t i = 0; i < 1000; i++) present += cache.Lookup(7, i * 4096) != nullptr;
  EXPECT_LT(present, 200);
  EXPECT_GT(present, 50);
  // The most recent inserts are there.
  EXPECT_NE(nullptr, cache.Lookup(7, 999 * 4096));
}

TEST(BlockCache, BlockOutlivesEviction) {
  BlockCache cache(16 * 100);
  cache.Insert(1, 0, MakeBlock(50, 'a'), 50);
  std::shared_ptr<const Block> held = cache.Lookup(1, 0);
  ASSERT_NE(nullptr, held);
  cache.EraseFile(1);
  EXPECT_EQ(nullptr, cache.Lookup(1, 0));
  EXPECT_EQ(0u, cache.usage());
  EXPECT_EQ(50u, held->size());
  EXPECT_EQ('a', held->data()[49]);  // still readable (AddressSanitizer would catch a free)
}

TEST(BlockCache, OversizedBlockIsNotKept) {
  BlockCache cache(16 * 100);
  cache.Insert(1, 0, MakeBlock(1000), 1000);
  EXPECT_EQ(nullptr, cache.Lookup(1, 0));
  EXPECT_EQ(0u, cache.usage());
}

TEST(BlockCache, ZeroCapacityCachesNothing) {
  BlockCache cache(0);
  cache.Insert(1, 0, MakeBlock(10), 10);
  EXPECT_EQ(nullptr, cache.Lookup(1, 0));
  EXPECT_EQ(0u, cache.usage());
}

TEST(BlockCache, EraseFileDropsOnlyThatFile) {
  BlockCache cache(1 << 20);
  for (uint64_t f = 1; f <= 3; f++) {
    for (uint64_t o = 0; o < 50; o++) cache.Insert(f, o * 100, MakeBlock(10), 10);
  }
  EXPECT_EQ(1500u, cache.usage());
  cache.EraseFile(2);
  EXPECT_EQ(1000u, cache.usage());
  for (uint64_t o = 0; o < 50; o++) {
    EXPECT_NE(nullptr, cache.Lookup(1, o * 100));
    EXPECT_EQ(nullptr, cache.Lookup(2, o * 100));
    EXPECT_NE(nullptr, cache.Lookup(3, o * 100));
  }
}

TEST(BlockCache, ConcurrentUse) {
  BlockCache cache(16 * 20000);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  const int kOps = test::UnderSanitizer() ? 20000 : 100000;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&cache, &wrong, t, kOps] {
      test::Random rnd(t + 1);
      for (int i = 0; i < kOps; i++) {
        uint64_t file = rnd.Uniform(4), offset = rnd.Uniform(200);
        if (rnd.OneIn(3)) {
          cache.Insert(file, offset, MakeBlock(100, static_cast<char>('a' + file)), 100);
        } else if (rnd.OneIn(5000)) {
          cache.EraseFile(file);
        } else if (auto b = cache.Lookup(file, offset)) {
          if (b->data()[0] != static_cast<char>('a' + file)) wrong++;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(0, wrong.load());
  EXPECT_LE(cache.usage(), cache.capacity());
  EXPECT_GT(cache.hits() + cache.misses(), 0u);
}

}  // namespace
}  // namespace zworld::engine
