#include "zworld/engine/write_batch.h"

#include <gtest/gtest.h>

#include <string>

#include "coding.h"
#include "dbformat.h"
#include "memtable.h"
#include "write_batch_internal.h"

namespace zworld::engine {
namespace {

// Renders a batch's operations as "Put(k,v)Delete(k)...".
class Recorder : public WriteBatch::Handler {
 public:
  void Put(const Slice& key, const Slice& value) override {
    out += "Put(" + key.ToString() + "," + value.ToString() + ")";
  }
  void Delete(const Slice& key) override { out += "Delete(" + key.ToString() + ")"; }
  std::string out;
};

std::string Ops(const WriteBatch& b, Status* s = nullptr) {
  Recorder r;
  Status st = b.Iterate(&r);
  if (s != nullptr) *s = st;
  return r.out;
}

// Inserts b into a fresh memtable and renders its contents "key@seq=value" / "key@seqX".
std::string MemContents(const WriteBatch& b, Status* s) {
  auto* mem = new MemTable;
  mem->Ref();
  *s = WriteBatchInternal::InsertInto(&b, mem);
  std::string out;
  auto it = mem->NewIterator();
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    ParsedInternalKey p;
    EXPECT_TRUE(ParseInternalKey(it->key(), &p));
    out += p.user_key.ToString() + "@" + std::to_string(p.sequence);
    out += p.type == kTypeValue ? "=" + it->value().ToString() : std::string("X");
    out += " ";
  }
  it.reset();
  mem->Unref();
  return out;
}

TEST(WriteBatchTest, Empty) {
  WriteBatch b;
  EXPECT_EQ(b.Count(), 0u);
  EXPECT_EQ(b.ApproximateSize(), WriteBatchInternal::kHeader);
  EXPECT_EQ(WriteBatchInternal::Sequence(&b), 0u);
  Status s;
  EXPECT_EQ(Ops(b, &s), "");
  EXPECT_TRUE(s.ok());
}

TEST(WriteBatchTest, ExactByteLayout) {
  WriteBatch b;
  b.Put("ab", "xyz");
  b.Delete("q");
  WriteBatchInternal::SetSequence(&b, 0x0102030405ull);
  const std::string expected(
      "\x05\x04\x03\x02\x01\x00\x00\x00"  // sequence, fixed64 LE
      "\x02\x00\x00\x00"                  // count, fixed32 LE
      "\x01\x02"
      "ab"
      "\x03"
      "xyz"  // kTypeValue, key, value
      "\x00\x01"
      "q",  // kTypeDeletion, key
      12 + 8 + 3);
  EXPECT_EQ(WriteBatchInternal::Contents(&b).ToString(), expected);
  EXPECT_EQ(WriteBatchInternal::ByteSize(&b), expected.size());
  EXPECT_EQ(b.ApproximateSize(), expected.size());
}

TEST(WriteBatchTest, OperationsInOrderWithSequences) {
  WriteBatch b;
  b.Put("foo", "bar");
  b.Delete("box");
  b.Put("baz", "boo");
  b.Put("foo", "again");  // the same key twice gets two sequences
  WriteBatchInternal::SetSequence(&b, 100);
  EXPECT_EQ(b.Count(), 4u);
  EXPECT_EQ(WriteBatchInternal::Count(&b), 4u);
  EXPECT_EQ(WriteBatchInternal::Sequence(&b), 100u);
  EXPECT_EQ(Ops(b), "Put(foo,bar)Delete(box)Put(baz,boo)Put(foo,again)");
  Status s;
  EXPECT_EQ(MemContents(b, &s), "baz@102=boo box@101X foo@103=again foo@100=bar ");
  EXPECT_TRUE(s.ok());
}

TEST(WriteBatchTest, BinaryKeysAndLongValues) {
  WriteBatch b;
  std::string key("\x00\xff\x80k", 4);
  std::string value(100000, '\0');
  for (size_t i = 0; i < value.size(); i++) value[i] = static_cast<char>(i % 251);
  b.Put(key, value);
  b.Put("", "");
  b.Delete("");
  Recorder r;
  ASSERT_TRUE(b.Iterate(&r).ok());
  EXPECT_EQ(r.out, "Put(" + key + "," + value + ")Put(,)Delete()");
}

TEST(WriteBatchTest, ContentsRoundTrip) {
  WriteBatch b;
  b.Put("k1", "v1");
  b.Delete("k2");
  WriteBatchInternal::SetSequence(&b, 77);
  std::string bytes = WriteBatchInternal::Contents(&b).ToString();

  WriteBatch c;
  c.Put("stale", "x");
  ASSERT_TRUE(WriteBatchInternal::SetContents(&c, bytes).ok());
  EXPECT_EQ(WriteBatchInternal::Sequence(&c), 77u);
  EXPECT_EQ(c.Count(), 2u);
  EXPECT_EQ(Ops(c), "Put(k1,v1)Delete(k2)");

  Status s = WriteBatchInternal::SetContents(&c, Slice(bytes.data(), 11));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  // A failed SetContents leaves the batch as it was.
  EXPECT_EQ(Ops(c), "Put(k1,v1)Delete(k2)");
}

TEST(WriteBatchTest, AppendAndClear) {
  WriteBatch a, b;
  WriteBatchInternal::SetSequence(&a, 200);
  WriteBatchInternal::SetSequence(&b, 300);
  a.Append(b);
  EXPECT_EQ(Ops(a), "");
  b.Put("a", "va");
  a.Append(b);
  EXPECT_EQ(Ops(a), "Put(a,va)");
  b.Clear();
  b.Put("b", "vb");
  b.Delete("c");
  a.Append(b);
  EXPECT_EQ(Ops(a), "Put(a,va)Put(b,vb)Delete(c)");
  EXPECT_EQ(a.Count(), 3u);
  EXPECT_EQ(WriteBatchInternal::Sequence(&a), 200u);  // dst keeps its sequence

  a.Clear();
  EXPECT_EQ(a.Count(), 0u);
  EXPECT_EQ(a.ApproximateSize(), WriteBatchInternal::kHeader);
  EXPECT_EQ(WriteBatchInternal::Sequence(&a), 0u);
}

// Every truncation of a valid representation is caught: either a record is cut (bad
// record) or whole records are missing (count mismatch).
TEST(WriteBatchTest, EveryTruncationIsCorruption) {
  WriteBatch b;
  b.Put("key1", "value1");
  b.Delete("key2");
  b.Put(std::string(200, 'k'), std::string(300, 'v'));  // two-byte varints
  const std::string full = WriteBatchInternal::Contents(&b).ToString();
  for (size_t len = 0; len < full.size(); len++) {
    WriteBatch c;
    Status set = WriteBatchInternal::SetContents(&c, Slice(full.data(), len));
    if (len < WriteBatchInternal::kHeader) {
      EXPECT_TRUE(set.IsCorruption()) << len;
      continue;
    }
    ASSERT_TRUE(set.ok());
    Status s;
    Ops(c, &s);
    EXPECT_TRUE(s.IsCorruption()) << "length " << len << ": " << s.ToString();
    Status s2;
    MemContents(c, &s2);
    EXPECT_TRUE(s2.IsCorruption()) << "length " << len;
  }
}

TEST(WriteBatchTest, DamagedRecordsAreCorruption) {
  WriteBatch b;
  b.Put("k", "v");
  b.Delete("d");
  std::string rep = WriteBatchInternal::Contents(&b).ToString();

  {  // unknown record type
    std::string bad = rep;
    bad[12] = 9;
    WriteBatch c;
    ASSERT_TRUE(WriteBatchInternal::SetContents(&c, bad).ok());
    Status s;
    Ops(c, &s);
    EXPECT_TRUE(s.IsCorruption());
    EXPECT_NE(s.ToString().find("byte 12"), std::string::npos) << s.ToString();
  }
  {  // key length past the end
    std::string bad = rep;
    bad[13] = 100;
    WriteBatch c;
    ASSERT_TRUE(WriteBatchInternal::SetContents(&c, bad).ok());
    Status s;
    Ops(c, &s);
    EXPECT_TRUE(s.IsCorruption());
  }
  {  // the header claims more records than there are, or fewer
    for (uint32_t count : {0u, 1u, 3u, 1000u}) {
      WriteBatch c;
      ASSERT_TRUE(WriteBatchInternal::SetContents(&c, rep).ok());
      WriteBatchInternal::SetCount(&c, count);
      Status s;
      Ops(c, &s);
      EXPECT_TRUE(s.IsCorruption()) << count;
      EXPECT_NE(s.ToString().find("count"), std::string::npos) << s.ToString();
    }
  }
  {  // trailing garbage after the last record
    std::string bad = rep + "\x01";
    WriteBatch c;
    ASSERT_TRUE(WriteBatchInternal::SetContents(&c, bad).ok());
    Status s;
    Ops(c, &s);
    EXPECT_TRUE(s.IsCorruption());
  }
}

}  // namespace
}  // namespace zworld::engine
