// VersionEdit encoding: every field survives a round trip, and damaged records are refused
// with Corruption rather than misread.
#include "version_edit.h"

#include <gtest/gtest.h>

#include <string>

#include "coding.h"

namespace zworld::engine {
namespace {

InternalKey IK(const std::string& user_key, SequenceNumber seq, ValueType t = kTypeValue) {
  return InternalKey(user_key, seq, t);
}

VersionEdit FullEdit() {
  VersionEdit e;
  e.SetLogNumber(17);
  e.SetNextFileNumber(1ull << 40);
  e.SetLastSequence(kMaxSequenceNumber);
  e.SetCompactPointer(3, IK("pointer", 99));
  e.RemoveFile(1, 12);
  e.RemoveFile(0, 13);
  e.AddFile(0, 21, 4096, IK("a", 5), IK("m", 7, kTypeDeletion));
  e.AddFile(6, 22, 1ull << 33, IK(std::string("\x00\xff", 2), 1), IK("zz", 2));
  return e;
}

TEST(VersionEditTest, RoundTripKeepsEveryField) {
  VersionEdit e = FullEdit();
  std::string rec;
  e.EncodeTo(&rec);
  VersionEdit d;
  ASSERT_TRUE(d.DecodeFrom(rec).ok());
  EXPECT_TRUE(d.has_log_number());
  EXPECT_EQ(17u, d.log_number());
  EXPECT_EQ(1ull << 40, d.next_file_number());
  EXPECT_EQ(kMaxSequenceNumber, d.last_sequence());
  ASSERT_EQ(1u, d.compact_pointers().size());
  EXPECT_EQ(3, d.compact_pointers()[0].first);
  EXPECT_EQ(IK("pointer", 99).Encode(), d.compact_pointers()[0].second.Encode());
  EXPECT_EQ(e.deleted_files(), d.deleted_files());
  ASSERT_EQ(2u, d.new_files().size());
  for (size_t i = 0; i < 2; ++i) {
    const auto& [la, fa] = e.new_files()[i];
    const auto& [lb, fb] = d.new_files()[i];
    EXPECT_EQ(la, lb);
    EXPECT_EQ(fa.number, fb.number);
    EXPECT_EQ(fa.file_size, fb.file_size);
    EXPECT_EQ(fa.smallest.Encode(), fb.smallest.Encode());
    EXPECT_EQ(fa.largest.Encode(), fb.largest.Encode());
  }
  // Re-encoding gives the same bytes.
  std::string again;
  d.EncodeTo(&again);
  EXPECT_EQ(rec, again);
  EXPECT_NE(std::string::npos, d.DebugString().find("add_file: L6 000022"));
}

TEST(VersionEditTest, EmptyEditIsEmptyRecord) {
  VersionEdit e;
  std::string rec;
  e.EncodeTo(&rec);
  EXPECT_TRUE(rec.empty());
  VersionEdit d;
  ASSERT_TRUE(d.DecodeFrom(rec).ok());
  EXPECT_FALSE(d.has_log_number());
  EXPECT_FALSE(d.has_next_file_number());
  EXPECT_FALSE(d.has_last_sequence());
}

TEST(VersionEditTest, UnknownTagIsCorruption) {
  std::string rec;
  FullEdit().EncodeTo(&rec);
  PutVarint32(&rec, 99);
  PutVarint64(&rec, 1);
  VersionEdit d;
  Status s = d.DecodeFrom(rec);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find("99")) << s.ToString();
}

TEST(VersionEditTest, EveryTruncationIsCorruptionOrAPrefixEdit) {
  std::string rec;
  FullEdit().EncodeTo(&rec);
  int corrupt = 0;
  for (size_t len = 0; len < rec.size(); ++len) {
    VersionEdit d;
    Status s = d.DecodeFrom(Slice(rec.data(), len));
    if (!s.ok()) {
      EXPECT_TRUE(s.IsCorruption()) << len << ": " << s.ToString();
      corrupt++;
      continue;
    }
    // A cut that falls between fields decodes to fewer files, never to other files.
    EXPECT_LE(d.new_files().size(), 2u);
    for (const auto& [level, f] : d.new_files()) EXPECT_TRUE(f.number == 21 || f.number == 22);
  }
  EXPECT_GT(corrupt, static_cast<int>(rec.size()) / 2);
}

TEST(VersionEditTest, BadLevelsAndKeysAreCorruption) {
  {
    std::string rec;
    PutVarint32(&rec, 5);  // deleted file
    PutVarint32(&rec, kMaxNumLevels);
    PutVarint64(&rec, 3);
    VersionEdit d;
    EXPECT_TRUE(d.DecodeFrom(rec).IsCorruption());
  }
  {
    std::string rec;
    PutVarint32(&rec, 6);  // new file whose smallest key is shorter than a tag
    PutVarint32(&rec, 1);
    PutVarint64(&rec, 3);
    PutVarint64(&rec, 100);
    PutLengthPrefixedSlice(&rec, "short");
    PutLengthPrefixedSlice(&rec, IK("z", 1).Encode());
    VersionEdit d;
    EXPECT_TRUE(d.DecodeFrom(rec).IsCorruption());
  }
  {
    std::string rec;
    PutVarint32(&rec, 3);  // last sequence beyond 56 bits
    PutVarint64(&rec, kMaxSequenceNumber + 1);
    VersionEdit d;
    EXPECT_TRUE(d.DecodeFrom(rec).IsCorruption());
  }
}

}  // namespace
}  // namespace zworld::engine
