// DecodeBlockEntries (engine/src/block.cc), the bulk decoder of the scan path: keys of every
// length with every shared-prefix length (the short fixed-size copies it uses for them),
// reuse of the key storage across calls, and a storage that starts too small.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "block.h"
#include "block_builder.h"
#include "dbformat.h"

namespace zworld::engine {
namespace {

const std::string kFile = "000009.sst";

using Entries = std::vector<std::pair<std::string, std::string>>;

std::string Build(const Entries& entries, int restart_interval, BlockKind kind) {
  BlockBuilder b(restart_interval, kind);
  for (const auto& [k, v] : entries) b.Add(k, v);
  return b.Finish().ToString();
}

void ExpectDecodes(const Entries& entries, const std::string& contents, BlockKind kind,
                   std::string* key_buf) {
  Block block(Slice(contents), 0);
  std::vector<RawEntry> raw;
  ASSERT_TRUE(DecodeBlockEntries(block, kind, kFile, nullptr, &raw, key_buf).ok());
  ASSERT_EQ(raw.size(), entries.size());
  for (size_t i = 0; i < raw.size(); i++) {
    ASSERT_EQ(raw[i].ikey.ToString(), entries[i].first) << i;
    ASSERT_EQ(raw[i].value.ToString(), entries[i].second) << i;
  }
}

// Internal keys whose user keys run from 0 to 70 bytes, each sharing every possible prefix
// length with the previous key: shared and unshared parts of all the sizes the decoder's
// short copies distinguish (0-3, 4-7, 8-15, 16-32 and longer).
TEST(BlockDecodeTest, EverySharedAndUnsharedLength) {
  Entries entries;
  std::string prev;
  for (size_t len = 0; len <= 70; len++) {
    for (size_t shared = 0; shared <= std::min(len, prev.size()); shared += 1 + shared / 16) {
      // The first `shared` bytes of prev, then a byte above prev's next one, then filler.
      std::string user = prev.substr(0, shared);
      if (shared < prev.size()) {
        if (prev[shared] >= 'z') continue;
        user.push_back(static_cast<char>(prev[shared] + 1));
      }
      while (user.size() < len) user.push_back(static_cast<char>('b' + user.size() * 7 % 20));
      if (user.size() != len || user <= prev) continue;  // keys must increase
      entries.emplace_back(InternalKey(user, 7, kTypeValue).Encode().ToString(),
                           "v" + std::to_string(entries.size()));
      prev = user;
    }
  }
  ASSERT_GT(entries.size(), 200u);
  std::string key_buf;
  for (BlockKind kind : {BlockKind::kData, BlockKind::kIndex}) {
    for (int interval : {1, 2, 16, 1000}) {
      SCOPED_TRACE("restart interval " + std::to_string(interval));
      ExpectDecodes(entries, Build(entries, interval, kind), kind, &key_buf);
    }
  }
}

// The key storage is reused without clearing; decoding a block whose assembled keys need
// more room than the block holds grows it and keeps the earlier keys of the same call right.
TEST(BlockDecodeTest, KeyStorageReusedAndGrown) {
  Entries small, big;
  for (int i = 0; i < 50; i++) {
    small.emplace_back(
        InternalKey("key" + std::to_string(100 + i), 1, kTypeValue).Encode().ToString(), "x");
    big.emplace_back(InternalKey(std::string(300, 'p') + std::to_string(100 + i), 1, kTypeValue)
                         .Encode()
                         .ToString(),
                     "");
  }
  for (BlockKind kind : {BlockKind::kData, BlockKind::kIndex}) {
    std::string key_buf;
    ExpectDecodes(small, Build(small, 16, kind), kind, &key_buf);
    // 50 keys of 311 bytes from a block of well under 1 KiB.
    ExpectDecodes(big, Build(big, 1000, kind), kind, &key_buf);
    EXPECT_GT(key_buf.size(), 50u * 300);
    ExpectDecodes(small, Build(small, 16, kind), kind, &key_buf);  // larger than needed
  }
}

}  // namespace
}  // namespace zworld::engine
