// The data block entry layout of table format version 3 (engine/FORMATS.md, "Block layout"):
// user key prefix-compressed against the previous user key, then the tag's code C = seq << 1
// | type as a varint64, whole when the entry shares nothing, else as zigzag(C - previous C).
// Exact bytes, round trips of sequence 0, large sequences and both types across restart
// points, and Corruption for a cut, over-long or out-of-range tag or a shared prefix longer
// than the previous user key.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "block.h"
#include "block_builder.h"
#include "coding.h"
#include "dbformat.h"
#include "support/test_util.h"

namespace zworld::engine {
namespace {

const std::string kFile = "000011.sst";

using Entries = std::vector<std::pair<std::string, std::string>>;

std::string IKey(const std::string& user, SequenceNumber seq, ValueType t) {
  return InternalKey(user, seq, t).Encode().ToString();
}

std::string Build(const Entries& entries, int restart_interval) {
  BlockBuilder b(restart_interval, BlockKind::kData);
  for (const auto& [k, v] : entries) b.Add(k, v);
  const size_t estimate = b.CurrentSizeEstimate();
  std::string out = b.Finish().ToString();
  EXPECT_EQ(estimate, out.size());
  EXPECT_EQ(entries.empty() ? "" : entries.back().first, b.last_key().ToString());
  return out;
}

std::string Hex(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof(buf), "%02x ", c);
    out += buf;
  }
  return out;
}

std::string Bytes(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes) s.push_back(static_cast<char>(b));
  return s;
}

// Every way of reading the block gives back entries exactly; returns the cursor's status.
void ExpectReadsBack(const Entries& entries, const std::string& contents) {
  Block block(Slice(contents), 0);
  ASSERT_TRUE(block.well_formed());
  BlockCursor c;
  c.Init(&block, &kFile, BlockKind::kData);
  size_t i = 0;
  for (c.SeekToFirst(); c.Valid(); c.Next(), i++) {
    ASSERT_LT(i, entries.size());
    ASSERT_EQ(entries[i].first, c.key().ToString()) << i;
    ASSERT_EQ(entries[i].second, c.value().ToString()) << i;
  }
  ASSERT_TRUE(c.status().ok()) << c.status().ToString();
  ASSERT_EQ(entries.size(), i);
  for (c.SeekToLast(); c.Valid(); c.Prev()) {
    ASSERT_GT(i, 0u);
    i--;
    ASSERT_EQ(entries[i].first, c.key().ToString()) << i;
  }
  ASSERT_EQ(0u, i);
  for (size_t j = 0; j < entries.size(); j++) {
    c.Seek(entries[j].first);
    ASSERT_TRUE(c.Valid());
    ASSERT_EQ(entries[j].first, c.key().ToString());
    if (j > 0) {
      c.Prev();
      ASSERT_TRUE(c.Valid());
      ASSERT_EQ(entries[j - 1].first, c.key().ToString());
    }
  }
  std::vector<RawEntry> raw;
  std::string key_buf;
  ASSERT_TRUE(DecodeBlockEntries(block, BlockKind::kData, kFile, nullptr, &raw, &key_buf).ok());
  ASSERT_EQ(entries.size(), raw.size());
  for (size_t j = 0; j < raw.size(); j++) {
    ASSERT_EQ(entries[j].first, raw[j].ikey.ToString()) << j;
    ASSERT_EQ(entries[j].second, raw[j].value.ToString()) << j;
  }
  for (size_t j = 0; j < entries.size(); j++) {
    raw.clear();
    Slice target(entries[j].first);
    ASSERT_TRUE(DecodeBlockEntries(block, BlockKind::kData, kFile, &target, &raw, &key_buf).ok());
    ASSERT_EQ(entries.size() - j, raw.size());
    ASSERT_EQ(entries[j].first, raw[0].ikey.ToString());
  }
}

TEST(DataBlockFormat, ExactBytes) {
  const Entries entries = {
      {IKey("apple", 7, kTypeValue), "red"},  // C = 15: whole, 0f
      {IKey("apple", 4, kTypeDeletion), ""},  // C = 8: delta -7, zigzag 0d
      {IKey("apricot", 0, kTypeValue), "o"},  // C = 1: delta -7, zigzag 0d
      {IKey("b", 0, kTypeDeletion), ""},      // restart point (interval 3); C = 0 whole
  };
  const std::string expected = Bytes({0x00, 0x05, 0x03}) + "apple" + Bytes({0x0f}) + "red" +  //
                               Bytes({0x05, 0x00, 0x00, 0x0d}) +  // all 5 bytes shared
                               Bytes({0x02, 0x05, 0x01}) + "ricot" + Bytes({0x0d}) + "o" +  //
                               Bytes({0x00, 0x01, 0x00}) + "b" + Bytes({0x00}) +            //
                               Bytes({0, 0, 0, 0, 26, 0, 0, 0, 2, 0, 0, 0});  // restarts 0, 26
  const std::string got = Build(entries, 3);
  EXPECT_EQ(Hex(expected), Hex(got));
  ExpectReadsBack(entries, got);
}

// Positive and negative deltas, a non-restart entry that shares nothing (its code is stored
// whole), and the largest deltas (sequence 0 <-> 2^56 - 1: 9 bytes, never more).
TEST(DataBlockFormat, DeltaCodedTags) {
  const Entries entries = {
      {IKey("k01", 100, kTypeValue), "v"},   // C = 201 whole: c9 01
      {IKey("k02", 101, kTypeValue), "v"},   // C = 203: delta +2, zigzag 04
      {IKey("k03", 99, kTypeDeletion), ""},  // C = 198: delta -5, zigzag 09
      {IKey("z", 5, kTypeValue), ""},        // shares nothing, not a restart: C = 11 whole
      {IKey("z1", 0, kTypeDeletion), ""},    // C = 0: delta -11, zigzag 15
      {IKey("z2", kMaxSequenceNumber, kTypeValue), ""},  // C = 2^57 - 1: zigzag 2^58 - 2
      {IKey("z3", 0, kTypeValue), ""},  // C = 1: delta -(2^57 - 2), zigzag 2^58 - 5
  };
  std::string big_up, big_down;
  PutVarint64(&big_up, (uint64_t{1} << 58) - 2);
  PutVarint64(&big_down, (uint64_t{1} << 58) - 5);
  ASSERT_EQ(9u, big_up.size());
  ASSERT_EQ(9u, big_down.size());
  const std::string expected = Bytes({0x00, 0x03, 0x01}) + "k01" + Bytes({0xc9, 0x01}) + "v" +  //
                               Bytes({0x02, 0x01, 0x01}) + "2" + Bytes({0x04}) + "v" +          //
                               Bytes({0x02, 0x01, 0x00}) + "3" + Bytes({0x09}) +                //
                               Bytes({0x00, 0x01, 0x00}) + "z" + Bytes({0x0b}) +                //
                               Bytes({0x01, 0x01, 0x00}) + "1" + Bytes({0x15}) +                //
                               Bytes({0x01, 0x01, 0x00}) + "2" + big_up +                       //
                               Bytes({0x01, 0x01, 0x00}) + "3" + big_down +                     //
                               Bytes({0, 0, 0, 0, 1, 0, 0, 0});  // one restart, at 0
  const std::string got = Build(entries, 16);
  EXPECT_EQ(Hex(expected), Hex(got));
  ExpectReadsBack(entries, got);
}

// Sequence 0, 1, around varint byte boundaries and up to 2^56 - 1, both types, several
// versions of one user key and long shared prefixes, over several restart intervals.
TEST(DataBlockFormat, RoundTripOfSequencesTypesAndSharedPrefixes) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  const std::vector<SequenceNumber> special = {0,
                                               1,
                                               (1u << 7) - 1,
                                               1u << 7,
                                               (1u << 14) - 1,
                                               1u << 21,
                                               uint64_t{1} << 48,
                                               (uint64_t{1} << 49) - 1,
                                               kMaxSequenceNumber - 1,
                                               kMaxSequenceNumber};
  std::vector<std::string> ikeys;
  for (int i = 0; i < 300; i++) {
    std::string user = "prefix/shared/" + test::NumberKey(rnd.Uniform(80), 6, "u");
    if (rnd.OneIn(4)) user += rnd.Bytes(rnd.Uniform(12));
    if (rnd.OneIn(10)) user = user.substr(0, rnd.Uniform(static_cast<uint32_t>(user.size())));
    const SequenceNumber seq = rnd.OneIn(2)
                                   ? special[rnd.Uniform(static_cast<uint32_t>(special.size()))]
                                   : rnd.Next() & kMaxSequenceNumber;
    ikeys.push_back(IKey(user, seq, rnd.OneIn(3) ? kTypeDeletion : kTypeValue));
  }
  for (SequenceNumber seq : special) {
    ikeys.push_back(IKey("prefix/shared/u000001", seq, kTypeValue));
    ikeys.push_back(IKey("prefix/shared/u000001", seq, kTypeDeletion));
  }
  std::sort(ikeys.begin(), ikeys.end(), [](const std::string& a, const std::string& b) {
    return CompareInternalKey(a, b) < 0;
  });
  ikeys.erase(std::unique(ikeys.begin(), ikeys.end()), ikeys.end());
  Entries entries;
  for (const auto& k : ikeys) {
    entries.emplace_back(k, ExtractTag(k) & 1 ? rnd.Bytes(rnd.Skewed(6)) : std::string());
  }
  for (int interval : {1, 2, 3, 16, 1000}) {
    SCOPED_TRACE("restart interval " + std::to_string(interval));
    ExpectReadsBack(entries, Build(entries, interval));
  }
}

// The tag of a sequence-0 entry is one byte, and so is the tag of a non-restart entry whose
// sequence is 1 above the previous entry's (a bulk load: delta 2, zigzag 04): with 40 keys and
// a restart interval of 16, a block at sequences 2^47, 2^47 + 1, ... is larger than the
// sequence-0 block only by its 3 restart tags (7 bytes instead of 1).
TEST(DataBlockFormat, SequenceZeroAndConsecutiveSequenceTagsAreOneByte) {
  Entries zero, big;
  for (int i = 0; i < 40; i++) {
    const std::string user = test::NumberKey(i, 8, "key");
    zero.emplace_back(IKey(user, 0, kTypeValue), "v");
    big.emplace_back(IKey(user, (uint64_t{1} << 47) + i, kTypeValue), "v");
  }
  const std::string a = Build(zero, 16), b = Build(big, 16);
  EXPECT_EQ(b.size() - a.size(), 3u * 6);
  ExpectReadsBack(zero, a);
  ExpectReadsBack(big, b);
}

// A block of the given entry bytes followed by a restart array of one restart at 0.
std::string WithOneRestart(const std::string& entry_bytes) {
  std::string s = entry_bytes;
  PutFixed32(&s, 0);
  PutFixed32(&s, 1);
  return s;
}

// Every reader reports Corruption naming the file, the block offset and what.
void ExpectCorruption(const std::string& contents, const Slice& seek_target, const char* what) {
  // Exact-size heap copy so AddressSanitizer sees any overrun.
  BlockContents bc;
  bc.heap = std::make_unique<char[]>(contents.size());
  std::memcpy(bc.heap.get(), contents.data(), contents.size());
  bc.data = Slice(bc.heap.get(), contents.size());
  Block block(std::move(bc), 777);
  auto check = [&](const Status& s) {
    ASSERT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find(kFile + ":")) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find("offset 777")) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find(what)) << s.ToString();
  };
  BlockCursor c;
  c.Init(&block, &kFile, BlockKind::kData);
  for (c.SeekToFirst(); c.Valid(); c.Next()) {
  }
  check(c.status());
  c.Init(&block, &kFile, BlockKind::kData);
  c.SeekToLast();
  check(c.status());
  c.Init(&block, &kFile, BlockKind::kData);
  c.Seek(seek_target);
  check(c.status());
  std::vector<RawEntry> raw;
  std::string key_buf;
  check(DecodeBlockEntries(block, BlockKind::kData, kFile, nullptr, &raw, &key_buf));
  raw.clear();
  check(DecodeBlockEntries(block, BlockKind::kData, kFile, &seek_target, &raw, &key_buf));
}

TEST(DataBlockFormat, CutTagIsCorruption) {
  const std::string target = IKey("k", 5, kTypeValue);
  // One entry "k" with the largest code, 2^57 - 1 (9 varint bytes), cut after 0-8 of them:
  // the varint runs into the restart array's offset and stops there or runs out.
  std::string tag;
  PutVarint64(&tag, TagCode(PackTag(kMaxSequenceNumber, kTypeValue)));
  ASSERT_EQ(9u, tag.size());
  for (size_t cut = 0; cut < tag.size(); cut++) {
    SCOPED_TRACE("tag cut to " + std::to_string(cut) + " bytes");
    ExpectCorruption(WithOneRestart(Bytes({0x00, 0x01, 0x00}) + "k" + tag.substr(0, cut)), target,
                     "bad tag");
  }
  // The second entry's tag is cut: the first entry reads, then Corruption.
  ExpectCorruption(
      WithOneRestart(Bytes({0x00, 0x01, 0x00}) + "k" + Bytes({0x0f}) + Bytes({0x01, 0x00, 0x00}) +
                     Bytes({0x80})),  // "k" again, tag 80 ..cut
      IKey("k", 3, kTypeValue), "bad tag");
  // A value that runs past the entries after a whole tag.
  ExpectCorruption(WithOneRestart(Bytes({0x00, 0x01, 0x05}) + "k" + Bytes({0x01}) + "ab"), target,
                   "runs past the end");
}

// A whole code of 2^57 or more (a sequence above 2^56 - 1), or a longer varint, is damage.
TEST(DataBlockFormat, OverLongTagIsCorruption) {
  const std::string target = IKey("k", 5, kTypeValue);
  for (uint64_t code : {uint64_t{1} << 57, (uint64_t{1} << 63) + 1, ~uint64_t{0}}) {
    SCOPED_TRACE("code " + std::to_string(code));
    std::string tag;
    PutVarint64(&tag, code);
    ExpectCorruption(WithOneRestart(Bytes({0x00, 0x01, 0x00}) + "k" + tag), target, "bad tag");
  }
  // An 11-byte varint.
  ExpectCorruption(
      WithOneRestart(Bytes({0x00, 0x01, 0x00}) + "k" +
                     Bytes({0x81, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00})),
      target, "bad tag");
}

// A delta that takes the code below 0 or to 2^57 or above is damage; the entry before it
// reads.
TEST(DataBlockFormat, DeltaOutOfRangeIsCorruption) {
  // "k" code 1 (k@0 value), then "k" again with delta -2 (zigzag 03): code -1.
  ExpectCorruption(WithOneRestart(Bytes({0x00, 0x01, 0x00}) + "k" + Bytes({0x01}) +
                                  Bytes({0x01, 0x00, 0x00}) + Bytes({0x03})),
                   IKey("k", 0, kTypeDeletion), "bad tag");
  // Code 1, then the most negative delta (zigzag 2^64 - 1).
  std::string most_negative;
  PutVarint64(&most_negative, ~uint64_t{0});
  ExpectCorruption(WithOneRestart(Bytes({0x00, 0x01, 0x00}) + "k" + Bytes({0x01}) +
                                  Bytes({0x01, 0x00, 0x00}) + most_negative),
                   IKey("k", 0, kTypeDeletion), "bad tag");
  // "k" code 2^57 - 1 (k@max value), then "kk" with delta +1 (zigzag 02): code 2^57.
  std::string max_code;
  PutVarint64(&max_code, kTagCodeLimit - 1);
  ExpectCorruption(WithOneRestart(Bytes({0x00, 0x01, 0x00}) + "k" + max_code +
                                  Bytes({0x01, 0x01, 0x00}) + "k" + Bytes({0x02})),
                   IKey("kk", 0, kTypeValue), "bad tag");
  // Code 0, then the largest positive delta (zigzag 2^64 - 2).
  std::string most_positive;
  PutVarint64(&most_positive, ~uint64_t{0} - 1);
  ExpectCorruption(WithOneRestart(Bytes({0x00, 0x01, 0x00}) + "k" + Bytes({0x00}) +
                                  Bytes({0x01, 0x01, 0x00}) + "k" + most_positive),
                   IKey("kk", 0, kTypeValue), "bad tag");
}

TEST(DataBlockFormat, SharedLongerThanThePreviousUserKeyIsCorruption) {
  // The first key "ab" (2 user bytes, a whole internal key of 10): shared 3 > 2 is damage
  // even though the previous internal key is longer.
  ExpectCorruption(WithOneRestart(Bytes({0x00, 0x02, 0x00}) + "ab" + Bytes({0x01}) +
                                  Bytes({0x03, 0x01, 0x00}) + "c" + Bytes({0x01})),
                   IKey("abc", 0, kTypeValue), "shared key prefix");
}

}  // namespace
}  // namespace zworld::engine
