// The worked SSTable example of engine/FORMATS.md ("Part 2. SSTable", "Worked example"),
// built with TableBuilder and compared byte for byte with the bytes the document shows, then
// read back through Table.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "coding.h"
#include "crc32c.h"
#include "dbformat.h"
#include "support/test_util.h"
#include "table.h"
#include "table_builder.h"
#include "zworld/engine/env.h"

namespace zworld::engine {
namespace {

using test::StringSink;
using test::StringSource;

// Lowercase hex of s[offset, offset + n), bytes separated by spaces.
std::string Hex(const std::string& s, size_t offset, size_t n) {
  std::string out;
  char buf[4];
  for (size_t i = offset; i < offset + n && i < s.size(); i++) {
    std::snprintf(buf, sizeof(buf), i + 1 < offset + n ? "%02x " : "%02x",
                  static_cast<unsigned char>(s[i]));
    out += buf;
  }
  return out;
}

// "apple" -> "61 70 70 6c 65"
std::string HexText(const std::string& text) { return Hex(text, 0, text.size()); }

std::string BuildExample() {
  Options options;
  options.block_size = 36;
  options.block_restart_interval = 16;
  options.bloom_bits_per_key = 10;
  options.compression = Compression::kNone;
  StringSink sink;
  TableBuilder b(options, &sink, "000001.sst");
  b.Add(InternalKey("apple", 7, kTypeValue).Encode(), "red");
  b.Add(InternalKey("apple", 4, kTypeDeletion).Encode(), "");
  b.Add(InternalKey("apricot", 9, kTypeValue).Encode(), "orange");
  b.Add(InternalKey("banana", 8, kTypeValue).Encode(), "yellow");
  EXPECT_TRUE(b.Finish().ok());
  return sink.contents;
}

std::string Zeros(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; i++) out += i + 1 < n ? "00 " : "00";
  return out;
}

TEST(SSTableExample, BytesMatchFormatsMd) {
  const std::string f = BuildExample();
  // The bytes the document lists, region by region, at the document's offsets. The filter
  // bits and most of the properties block are not listed; their trailers' CRCs are.
  ASSERT_EQ(675u, f.size());
  // 0x000 data block 0, 39 bytes, and its trailer.
  EXPECT_EQ("00 05 03 " + HexText("apple") + " 0f " + HexText("red") +  //
                " 05 00 00 0d" +                                        //
                " 02 05 06 " + HexText("ricot") + " 16 " + HexText("orange") +
                " 00 00 00 00 01 00 00 00",
            Hex(f, 0x000, 39));
  EXPECT_EQ("00 14 98 28 49", Hex(f, 0x027, 5));
  // 0x02c data block 1, 24 bytes, and its trailer.
  EXPECT_EQ(
      "00 06 06 " + HexText("banana") + " 11 " + HexText("yellow") + " 00 00 00 00 01 00 00 00",
      Hex(f, 0x02c, 24));
  EXPECT_EQ("00 ed fa 2c b4", Hex(f, 0x044, 5));
  // 0x049 zero padding up to the filter at 0x080.
  EXPECT_EQ(Zeros(55), Hex(f, 0x049, 55));
  // 0x080 filter block: 64 bytes of bits, k = 7, kind 1; trailer.
  EXPECT_EQ("07 01", Hex(f, 0x0c0, 2));
  EXPECT_EQ("00 28 18 31 5a", Hex(f, 0x0c2, 5));
  // 0x0c7 properties block, 337 bytes: its first entries, the count of restarts; trailer.
  EXPECT_EQ("00 15 00 " + HexText("zworld.collector.name"), Hex(f, 0x0c7, 24));
  EXPECT_EQ("00 12 0e " + HexText("zworld.largest_key") + " " + HexText("banana") +
                " 01 08 00 00 00 00 00 00",
            Hex(f, 0x0fa, 35));
  EXPECT_EQ("00 13 01 " + HexText("zworld.max_sequence") + " 09", Hex(f, 0x11d, 23));
  EXPECT_EQ("0b 00 00 00", Hex(f, 0x214, 4));
  EXPECT_EQ("00 8a 34 cd 8b", Hex(f, 0x218, 5));
  // 0x21d index block, 53 bytes; trailer.
  EXPECT_EQ("00 0f 03 " + HexText("apricot") + " 01 09 00 00 00 00 00 00 00 27 00" + " 00 0e 03 " +
                HexText("banana") + " 01 08 00 00 00 00 00 00 2c 18 00" +
                " 00 00 00 00 15 00 00 00 02 00 00 00",
            Hex(f, 0x21d, 53));
  EXPECT_EQ("00 4b 8f 0a e1", Hex(f, 0x252, 5));
  // 0x257 footer.
  EXPECT_EQ("80 01 42 c7 01 d1 02 9d 04 35 " + Zeros(50) + " 03 00 00 00 59 c9 1c fe " +
                HexText("ZWSSTABL"),
            Hex(f, 0x257, 76));
}

// The document's lookups: apricot at sequence 10 finds orange; apple at 5 finds the deletion.
TEST(SSTableExample, LookupsOfTheDocument) {
  const std::string f = BuildExample();
  Options options;
  std::unique_ptr<Table> table;
  ASSERT_TRUE(Table::Open(options, "000001.sst", 1, std::make_unique<StringSource>(&f), f.size(),
                          nullptr, &table)
                  .ok());
  std::string value;
  LookupResult result;
  ASSERT_TRUE(table->Get(ReadOptions(), LookupKey("apricot", 10), &value, &result).ok());
  EXPECT_EQ(LookupResult::kFound, result);
  EXPECT_EQ("orange", value);
  ASSERT_TRUE(table->Get(ReadOptions(), LookupKey("apple", 5), &value, &result).ok());
  EXPECT_EQ(LookupResult::kDeleted, result);
  ASSERT_TRUE(table->Get(ReadOptions(), LookupKey("apple", 8), &value, &result).ok());
  EXPECT_EQ(LookupResult::kFound, result);
  EXPECT_EQ("red", value);
}

// A well-formed footer of another format version (versions 1 and 2 included: their data
// blocks store whole internal keys or varint tags, which this build does not read) is
// NotSupported.
TEST(SSTableExample, OtherFormatVersionsAreNotSupported) {
  const std::string good = BuildExample();
  for (uint32_t version : {0u, 1u, 2u, 4u}) {
    std::string f = good;
    const size_t footer = f.size() - 76;
    EncodeFixed32(f.data() + footer + 60, version);
    EncodeFixed32(f.data() + footer + 64, crc32c::Mask(crc32c::Value(f.data() + footer, 64)));
    std::unique_ptr<Table> table;
    Status s = Table::Open(Options(), "000001.sst", 1, std::make_unique<StringSource>(&f), f.size(),
                           nullptr, &table);
    EXPECT_TRUE(s.IsNotSupported()) << version << ": " << s.ToString();
    EXPECT_EQ(nullptr, table);
  }
}

}  // namespace
}  // namespace zworld::engine
