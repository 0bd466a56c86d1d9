// Blocks: BlockBuilder -> Block -> BlockCursor / DecodeBlockEntries round trips over many
// restart intervals and both internal-key block kinds (data: user key + varint tag; index:
// whole internal keys), positioning (Seek/Next/Prev/SeekToLast), and malformed blocks.
#include "block.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "block_builder.h"
#include "dbformat.h"
#include "support/test_util.h"

namespace zworld::engine {
namespace {

using Entries = std::vector<std::pair<std::string, std::string>>;

const std::string kFile = "000007.sst";

// Sorted, distinct internal keys with long shared prefixes (so prefix compression matters)
// and several versions of some user keys.
Entries MakeInternalEntries(test::Random* rnd, int n) {
  Entries out;
  std::vector<std::string> ikeys;
  for (int i = 0; i < n; i++) {
    std::string user = "user/" + test::NumberKey(rnd->Uniform(n * 2), 8, "k");
    if (rnd->OneIn(5)) user += rnd->Bytes(rnd->Uniform(20));
    ikeys.push_back(
        InternalKey(user, rnd->Uniform(1000), rnd->OneIn(4) ? kTypeDeletion : kTypeValue)
            .Encode()
            .ToString());
  }
  std::sort(ikeys.begin(), ikeys.end(), [](const std::string& a, const std::string& b) {
    return CompareInternalKey(a, b) < 0;
  });
  ikeys.erase(std::unique(ikeys.begin(), ikeys.end()), ikeys.end());
  for (auto& k : ikeys) out.emplace_back(k, rnd->Bytes(rnd->Skewed(7)));
  return out;
}

std::string BuildBlock(const Entries& entries, int restart_interval,
                       BlockKind kind = BlockKind::kData) {
  BlockBuilder b(restart_interval, kind);
  for (const auto& [k, v] : entries) b.Add(k, v);
  const size_t estimate = b.CurrentSizeEstimate();
  EXPECT_EQ(estimate, b.Finish().size());
  EXPECT_EQ(estimate, b.CurrentSizeEstimate());
  return b.Finish().ToString();
}

class BlockRoundTrip : public testing::TestWithParam<std::tuple<int, BlockKind>> {};

TEST_P(BlockRoundTrip, CursorAndBulkDecode) {
  const int interval = std::get<0>(GetParam());
  const BlockKind kind = std::get<1>(GetParam());
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  for (int n : {0, 1, 2, 17, 500}) {
    SCOPED_TRACE("n=" + std::to_string(n));
    Entries entries = MakeInternalEntries(&rnd, n);
    std::string contents = BuildBlock(entries, interval, kind);
    Block block(Slice(contents), 4096);
    ASSERT_TRUE(block.well_formed());
    EXPECT_EQ(block.num_restarts(),
              entries.empty() ? 1u : (entries.size() + interval - 1) / interval);

    BlockCursor c;
    c.Init(&block, &kFile, kind);
    // Forward.
    size_t i = 0;
    for (c.SeekToFirst(); c.Valid(); c.Next(), i++) {
      ASSERT_LT(i, entries.size());
      ASSERT_EQ(entries[i].first, c.key().ToString());
      ASSERT_EQ(entries[i].second, c.value().ToString());
    }
    ASSERT_TRUE(c.status().ok()) << c.status().ToString();
    ASSERT_EQ(entries.size(), i);
    // Backward.
    i = entries.size();
    for (c.SeekToLast(); c.Valid(); c.Prev()) {
      ASSERT_GT(i, 0u);
      i--;
      ASSERT_EQ(entries[i].first, c.key().ToString());
      ASSERT_EQ(entries[i].second, c.value().ToString());
    }
    ASSERT_EQ(0u, i);
    ASSERT_TRUE(c.status().ok());

    // Seek to every key, and to keys between them, then step both ways.
    for (size_t j = 0; j < entries.size(); j++) {
      c.Seek(entries[j].first);
      ASSERT_TRUE(c.Valid());
      ASSERT_EQ(entries[j].first, c.key().ToString());
      // The same user key at a higher sequence sorts just before: Seek lands on entry j
      // unless entry j-1 is that key.
      ParsedInternalKey p;
      ASSERT_TRUE(ParseInternalKey(entries[j].first, &p));
      InternalKey before(p.user_key, p.sequence + 1, kTypeValue);
      c.Seek(before.Encode());
      ASSERT_TRUE(c.Valid());
      size_t expect = j;
      if (j > 0 && CompareInternalKey(entries[j - 1].first, before.Encode()) >= 0) expect = j - 1;
      ASSERT_EQ(entries[expect].first, c.key().ToString());
      if (j % 7 == 0) {
        c.Seek(entries[j].first);
        c.Prev();
        if (j == 0) {
          ASSERT_FALSE(c.Valid());
        } else {
          ASSERT_TRUE(c.Valid());
          ASSERT_EQ(entries[j - 1].first, c.key().ToString());
          c.Next();
          ASSERT_EQ(entries[j].first, c.key().ToString());
        }
      }
    }
    // Past the last key.
    c.Seek(InternalKey("zzzz", 0, kTypeDeletion).Encode());
    EXPECT_FALSE(c.Valid());
    EXPECT_TRUE(c.status().ok());

    // Bulk decode: everything, then from assorted targets.
    std::vector<RawEntry> raw;
    std::string key_buf;
    ASSERT_TRUE(DecodeBlockEntries(block, kind, kFile, nullptr, &raw, &key_buf).ok());
    ASSERT_EQ(entries.size(), raw.size());
    for (size_t j = 0; j < raw.size(); j++) {
      ASSERT_EQ(entries[j].first, raw[j].ikey.ToString());
      ASSERT_EQ(entries[j].second, raw[j].value.ToString());
    }
    for (size_t j = 0; j < entries.size(); j += 1 + entries.size() / 30) {
      raw.clear();
      Slice target(entries[j].first);
      ASSERT_TRUE(DecodeBlockEntries(block, kind, kFile, &target, &raw, &key_buf).ok());
      ASSERT_EQ(entries.size() - j, raw.size());
      for (size_t k = 0; k < raw.size(); k++) {
        ASSERT_EQ(entries[j + k].first, raw[k].ikey.ToString());
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(RestartIntervals, BlockRoundTrip,
                         testing::Combine(testing::Values(1, 2, 3, 4, 7, 16, 64, 1000),
                                          testing::Values(BlockKind::kData, BlockKind::kIndex)),
                         [](const testing::TestParamInfo<std::tuple<int, BlockKind>>& info) {
                           return std::string(std::get<1>(info.param) == BlockKind::kData
                                                  ? "Data"
                                                  : "Index") +
                                  std::to_string(std::get<0>(info.param));
                         });

TEST(Block, BulkDecodeOfLongSharedKeysGrowsTheKeyBuffer) {
  // 2 KiB keys sharing all but their last bytes: the block is small, the decoded keys are
  // not, so the key buffer must grow and earlier Slices must follow it.
  Entries entries;
  std::string base(2048, 'p');
  for (int i = 0; i < 100; i++) {
    entries.emplace_back(
        InternalKey(base + test::NumberKey(i, 4, ""), 5, kTypeValue).Encode().ToString(),
        "v" + std::to_string(i));
  }
  std::string contents = BuildBlock(entries, 50);
  Block block(Slice(contents), 0);
  std::vector<RawEntry> raw;
  std::string key_buf;
  ASSERT_TRUE(DecodeBlockEntries(block, BlockKind::kData, kFile, nullptr, &raw, &key_buf).ok());
  ASSERT_EQ(entries.size(), raw.size());
  for (size_t j = 0; j < raw.size(); j++) {
    ASSERT_EQ(entries[j].first, raw[j].ikey.ToString()) << j;
    ASSERT_EQ(entries[j].second, raw[j].value.ToString()) << j;
  }
  EXPECT_LT(contents.size(), key_buf.size());
}

TEST(Block, BytewiseOrderAndIteratorWrapper) {
  BlockBuilder b(3, BlockKind::kProperties);
  std::vector<std::string> keys = {"", "a", "ab", "abc", "b", "ba", "zzz"};
  for (const auto& k : keys) b.Add(k, "value-of-" + k);
  // An owning block: the iterator keeps it alive after the builder is gone.
  std::string contents = b.Finish().ToString();
  BlockContents owned;
  owned.heap = std::make_unique<char[]>(contents.size());
  std::memcpy(owned.heap.get(), contents.data(), contents.size());
  owned.data = Slice(owned.heap.get(), contents.size());
  auto block = std::make_shared<const Block>(std::move(owned), 0);
  EXPECT_EQ(contents.size(), block->heap_bytes());

  auto it = NewBlockIterator(block, kFile, BlockKind::kProperties);
  size_t i = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next(), i++) {
    ASSERT_EQ(keys[i], it->key().ToString());
    ASSERT_EQ("value-of-" + keys[i], it->value().ToString());
  }
  EXPECT_EQ(keys.size(), i);
  it->Seek("abd");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ("b", it->key().ToString());
  it->Prev();
  EXPECT_EQ("abc", it->key().ToString());
  it->SeekToLast();
  EXPECT_EQ("zzz", it->key().ToString());
  it->Seek("zzzz");
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

// Every byte flipped, every truncation, and random garbage: cursors and the bulk decoder
// return entries or Corruption naming the file and block offset, and never read out of
// bounds (this test is meant to run under AddressSanitizer too).
TEST(Block, MalformedBlocksNeverCrash) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  Entries entries = MakeInternalEntries(&rnd, 60);
  for (BlockKind kind : {BlockKind::kData, BlockKind::kIndex}) {
    SCOPED_TRACE(kind == BlockKind::kData ? "data block" : "index block");
    const std::string good = BuildBlock(entries, 4, kind);

    auto exercise = [&](const std::string& bytes) {
      // Exact-size heap copy so AddressSanitizer sees any overrun.
      BlockContents contents;
      contents.heap = std::make_unique<char[]>(bytes.size() + 1);
      std::memcpy(contents.heap.get(), bytes.data(), bytes.size());
      contents.data = Slice(contents.heap.get(), bytes.size());
      Block block(std::move(contents), 12345);
      int corruptions = 0;
      auto check = [&](const Status& s) {
        if (s.ok()) return;
        ASSERT_TRUE(s.IsCorruption()) << s.ToString();
        ASSERT_NE(std::string::npos, s.message().find(kFile + ":")) << s.ToString();
        ASSERT_NE(std::string::npos, s.message().find("offset 12345")) << s.ToString();
        corruptions++;
      };
      BlockCursor c;
      c.Init(&block, &kFile, kind);
      int steps = 0;
      for (c.SeekToFirst(); c.Valid() && steps < 10000; c.Next()) steps++;
      check(c.status());
      c.Init(&block, &kFile, kind);
      for (c.SeekToLast(); c.Valid() && steps < 20000; c.Prev()) steps++;
      check(c.status());
      for (size_t j = 0; j < entries.size(); j += 9) {
        c.Init(&block, &kFile, kind);
        c.Seek(entries[j].first);
        if (c.Valid()) c.Prev();
        if (c.Valid()) c.Next();
        check(c.status());
      }
      std::vector<RawEntry> raw;
      std::string key_buf;
      check(DecodeBlockEntries(block, kind, kFile, nullptr, &raw, &key_buf));
      raw.clear();
      Slice target(entries[entries.size() / 2].first);
      check(DecodeBlockEntries(block, kind, kFile, &target, &raw, &key_buf));
      return corruptions;
    };

    EXPECT_EQ(0, exercise(good));
    int detected = 0;
    for (size_t pos = 0; pos < good.size(); pos++) {
      for (int bit : {0, 7}) {
        std::string bad = good;
        bad[pos] = static_cast<char>(bad[pos] ^ (1 << bit));
        detected += exercise(bad) > 0;
      }
    }
    for (size_t len = 0; len < good.size(); len++) detected += exercise(good.substr(0, len)) > 0;
    for (int i = 0; i < 500; i++) exercise(rnd.Bytes(rnd.Uniform(200)));
    // Flips inside keys and values are not detectable without the CRC (Table checks it), but
    // flips in lengths and the restart array mostly are.
    EXPECT_GT(detected, static_cast<int>(good.size() / 4));
  }
}

TEST(BlockBuilder, ResetAndEstimates) {
  BlockBuilder b(16, BlockKind::kProperties);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(8u, b.CurrentSizeEstimate());  // one restart point and the count
  b.Add("key1", "v");
  EXPECT_EQ("key1", b.last_key().ToString());
  EXPECT_EQ(1u, b.num_entries());
  size_t before = b.CurrentSizeEstimate();
  b.Add("key2", "v");
  // Shared prefix "key": header (3) + suffix (1) + value (1).
  EXPECT_EQ(before + 5, b.CurrentSizeEstimate());
  b.Finish();
  b.Reset();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(8u, b.CurrentSizeEstimate());
  EXPECT_EQ("", b.last_key().ToString());
}

}  // namespace
}  // namespace zworld::engine
