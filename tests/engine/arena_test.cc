#include "arena.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace zworld::engine {
namespace {

TEST(ArenaTest, EmptyUsesNothing) {
  Arena arena;
  EXPECT_EQ(arena.MemoryUsage(), 0u);
}

TEST(ArenaTest, AllocationsDoNotOverlapAndKeepTheirBytes) {
  Arena arena;
  std::mt19937 rng(301);
  std::vector<std::pair<char*, size_t>> allocated;
  size_t requested = 0;
  for (int i = 0; i < 20000; i++) {
    size_t n;
    switch (rng() % 10) {
      case 0:
        n = 1 + rng() % 6000;
        break;  // often larger than a quarter block
      case 1:
        n = 1 + rng() % 200000;
        break;  // a block of its own
      default:
        n = 1 + rng() % 64;
        break;
    }
    char* p = (i % 3 == 0) ? arena.AllocateAligned(n) : arena.Allocate(n);
    if (i % 3 == 0) {
      EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % Arena::kAlignment, 0u) << "allocation " << i;
    }
    for (size_t j = 0; j < n; j++) p[j] = static_cast<char>(i + j);
    allocated.emplace_back(p, n);
    requested += n;
    ASSERT_GE(arena.MemoryUsage(), requested);
  }
  for (size_t i = 0; i < allocated.size(); i++) {
    const auto& [p, n] = allocated[i];
    for (size_t j = 0; j < n; j++) {
      ASSERT_EQ(p[j], static_cast<char>(i + j)) << "allocation " << i << " byte " << j;
    }
  }
  // Growing blocks keep the waste small relative to what was asked for.
  EXPECT_LE(arena.MemoryUsage(), requested + requested / 4 + (64 << 10));
}

TEST(ArenaTest, SmallArenaStaysSmall) {
  Arena arena;
  for (int i = 0; i < 10; i++) arena.Allocate(100);
  EXPECT_GE(arena.MemoryUsage(), 1000u);
  EXPECT_LT(arena.MemoryUsage(), 2000u);  // counts use, not the reserved block
}

}  // namespace
}  // namespace zworld::engine
