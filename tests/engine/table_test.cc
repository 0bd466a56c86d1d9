// SSTables end to end: TableBuilder -> Table, checked against a std::map model through Get,
// the iterator and the scan source, under several option sets (mapped or read files, block
// cache or none, zstd, restart intervals); collector summaries; checksum policy; and a
// corruption sweep (every byte flipped, many truncations) that must never crash.
#include "table.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "dbformat.h"
#include "support/test_util.h"
#include "table_builder.h"
#include "zworld/engine/env.h"

namespace zworld::engine {
namespace {

using test::StringSink;
using test::StringSource;

// ---- Model ------------------------------------------------------------------------------

struct InternalKeyLess {
  bool operator()(const std::string& a, const std::string& b) const {
    return CompareInternalKey(a, b) < 0;
  }
};
using Model = std::map<std::string, std::string, InternalKeyLess>;

const std::string kFileName = "000042.sst";

std::string IKey(const std::string& user, SequenceNumber seq, ValueType t) {
  return InternalKey(user, seq, t).Encode().ToString();
}

// n entries over about n/3 user keys, 1-5 versions each, about 15% deletions.
Model MakeModel(test::Random* rnd, size_t n, int max_value_log = 6) {
  Model m;
  SequenceNumber seq = 1000;
  uint64_t k = 0;
  while (m.size() < n) {
    std::string user = test::NumberKey(k, 10, "user");
    k += 1 + rnd->Uniform(3);  // gaps: absent keys fall between present ones
    const int versions = 1 + static_cast<int>(rnd->Uniform(5));
    for (int v = 0; v < versions && m.size() < n; v++) {
      if (rnd->OneIn(7)) {
        m[IKey(user, seq, kTypeDeletion)] = "";
      } else {
        m[IKey(user, seq, kTypeValue)] = rnd->Printable(rnd->Skewed(max_value_log));
      }
      seq += 1 + rnd->Uniform(3);
    }
  }
  return m;
}

// The model's answer to Table::Get.
LookupResult ModelGet(const Model& m, const Slice& user, SequenceNumber seq, std::string* value) {
  LookupKey lk(user, seq);
  auto it = m.lower_bound(lk.internal_key().ToString());
  if (it == m.end() || ExtractUserKey(it->first) != user) return LookupResult::kAbsent;
  ParsedInternalKey p;
  EXPECT_TRUE(ParseInternalKey(it->first, &p));
  if (p.type == kTypeDeletion) return LookupResult::kDeleted;
  *value = it->second;
  return LookupResult::kFound;
}

// Collects, per block, "count|first user key|last user key"; per table, the total count.
class SummaryCollector final : public TableCollector {
 public:
  void Add(const Slice& user_key, const Slice&, bool) override {
    if (count_ == 0) first_ = user_key.ToString();
    last_ = user_key.ToString();
    count_++;
    total_++;
  }
  void FinishBlock(std::string* out) override {
    *out += std::to_string(count_) + "|" + first_ + "|" + last_;
    count_ = 0;
    blocks_++;
  }
  void FinishTable(std::string* out) override {
    *out += "entries=" + std::to_string(total_) + " blocks=" + std::to_string(blocks_);
  }

 private:
  uint64_t count_ = 0, total_ = 0, blocks_ = 0;
  std::string first_, last_;
};
class SummaryCollectorFactory final : public TableCollectorFactory {
 public:
  const char* Name() const override { return "test.summary"; }
  std::unique_ptr<TableCollector> NewCollector() override {
    return std::make_unique<SummaryCollector>();
  }
};

std::string BuildTable(const Options& options, const Model& m, TableProperties* props = nullptr) {
  StringSink sink;
  TableBuilder b(options, &sink, kFileName);
  for (const auto& [k, v] : m) b.Add(k, v);
  EXPECT_EQ(m.size(), b.NumEntries());
  Status s = b.Finish();
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(sink.contents.size(), b.FileSize());
  if (props != nullptr) *props = b.properties();
  return sink.contents;
}

Status OpenTable(const Options& options, const std::string* contents, bool mapped,
                 BlockCache* cache, std::unique_ptr<Table>* table, uint64_t file_size = ~0ull) {
  if (file_size == ~0ull) file_size = contents->size();
  return Table::Open(options, kFileName, 42, std::make_unique<StringSource>(contents, mapped),
                     file_size, cache, table);
}

// Drains a scan source from its current position; returns (ikey, value) pairs.
std::vector<std::pair<std::string, std::string>> DrainScan(ScanSource* src, size_t limit = ~0ull) {
  std::vector<std::pair<std::string, std::string>> out;
  do {
    for (const RawEntry& e : src->Entries()) {
      if (out.size() >= limit) return out;
      out.emplace_back(e.ikey.ToString(), e.value.ToString());
    }
    src->Consume(src->Entries().size());
  } while (src->NextBlock());
  return out;
}

// ---- Round trip under option sets -------------------------------------------------------

struct TableParams {
  bool mapped;
  bool cache;
  Compression compression;
  int restart_interval;
  size_t block_size;
};

std::string ParamName(const testing::TestParamInfo<TableParams>& info) {
  const TableParams& p = info.param;
  return std::string(p.mapped ? "Mapped" : "Read") + (p.cache ? "Cache" : "NoCache") +
         (p.compression == Compression::kZstd ? "Zstd" : "Raw") + "R" +
         std::to_string(p.restart_interval) + "B" + std::to_string(p.block_size);
}

class TableRoundTrip : public testing::TestWithParam<TableParams> {
 protected:
  Options MakeOptions() const {
    Options o;
    o.block_size = GetParam().block_size;
    o.block_restart_interval = GetParam().restart_interval;
    o.compression = GetParam().compression;
    o.table_collector = std::make_shared<SummaryCollectorFactory>();
    return o;
  }
};

TEST_P(TableRoundTrip, GetIterateScanMatchModel) {
  const TableParams& param = GetParam();
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  const size_t n = test::UnderSanitizer() ? 20000 : 100000;
  const Model model = MakeModel(&rnd, n);
  const Options options = MakeOptions();
  TableProperties built;
  const std::string contents = BuildTable(options, model, &built);

  BlockCache cache(8 << 20);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(
      OpenTable(options, &contents, param.mapped, param.cache ? &cache : nullptr, &table).ok());

  // Properties.
  const TableProperties& p = table->properties();
  uint64_t deletions = 0, key_bytes = 0, value_bytes = 0;
  SequenceNumber min_seq = kMaxSequenceNumber, max_seq = 0;
  for (const auto& [k, v] : model) {
    ParsedInternalKey pk;
    ASSERT_TRUE(ParseInternalKey(k, &pk));
    deletions += pk.type == kTypeDeletion;
    key_bytes += k.size();
    value_bytes += v.size();
    min_seq = std::min(min_seq, pk.sequence);
    max_seq = std::max(max_seq, pk.sequence);
  }
  EXPECT_EQ(model.size(), p.num_entries);
  EXPECT_EQ(deletions, p.num_deletions);
  EXPECT_EQ(key_bytes, p.raw_key_bytes);
  EXPECT_EQ(value_bytes, p.raw_value_bytes);
  EXPECT_EQ(min_seq, p.min_sequence);
  EXPECT_EQ(max_seq, p.max_sequence);
  EXPECT_EQ(model.begin()->first, p.smallest_key);
  EXPECT_EQ(model.rbegin()->first, p.largest_key);
  EXPECT_EQ(table->num_data_blocks(), p.num_data_blocks);
  EXPECT_EQ(built.num_data_blocks, p.num_data_blocks);
  EXPECT_EQ("test.summary", p.collector_name);
  EXPECT_EQ(
      "entries=" + std::to_string(model.size()) + " blocks=" + std::to_string(p.num_data_blocks),
      p.collector_summary);
  EXPECT_GT(p.num_data_blocks, 10u);
  if (param.compression == Compression::kZstd) {
    EXPECT_LT(contents.size(), key_bytes + value_bytes);  // Printable values compress
  }

  // Get: every version at its own sequence, just below it, and absent keys.
  const ReadOptions ro;
  std::string value;
  LookupResult result;
  bool bloom_skipped = false;
  size_t i = 0, absent_skipped = 0, absent = 0;
  // Without a cache every zstd Get decompresses a whole block: sample fewer keys there.
  const size_t stride = param.compression == Compression::kZstd && !param.cache ? 13 : 3;
  for (const auto& [k, v] : model) {
    if (i++ % stride != 0) continue;
    ParsedInternalKey pk;
    ASSERT_TRUE(ParseInternalKey(k, &pk));
    for (SequenceNumber seq : {pk.sequence, pk.sequence - 1, kMaxSequenceNumber}) {
      std::string expect_value;
      LookupResult expect = ModelGet(model, pk.user_key, seq, &expect_value);
      value = "garbage";
      ASSERT_TRUE(
          table->Get(ro, LookupKey(pk.user_key, seq), &value, &result, &bloom_skipped).ok());
      ASSERT_EQ(expect, result) << test::Escape(k) << " at " << seq;
      ASSERT_FALSE(bloom_skipped);
      if (expect == LookupResult::kFound) {
        ASSERT_EQ(expect_value, value);
      }
    }
    // The user key with a suffix is absent.
    std::string missing = pk.user_key.ToString() + "~";
    ASSERT_TRUE(
        table->Get(ro, LookupKey(missing, kMaxSequenceNumber), &value, &result, &bloom_skipped)
            .ok());
    ASSERT_EQ(LookupResult::kAbsent, result);
    absent++;
    absent_skipped += bloom_skipped;
  }
  // The bloom filter answers nearly every absent lookup without a block read.
  EXPECT_GT(absent_skipped, absent * 95 / 100);

  // Iterator: full forward and backward passes, then a random walk against the model.
  auto it = table->NewIterator(ro);
  auto mit = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++mit) {
    ASSERT_TRUE(mit != model.end());
    ASSERT_EQ(mit->first, it->key().ToString());
    ASSERT_EQ(mit->second, it->value().ToString());
  }
  ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  ASSERT_TRUE(mit == model.end());
  auto rit = model.rbegin();
  for (it->SeekToLast(); it->Valid(); it->Prev(), ++rit) {
    ASSERT_TRUE(rit != model.rend());
    ASSERT_EQ(rit->first, it->key().ToString());
  }
  ASSERT_TRUE(rit == model.rend());
  std::vector<std::string> keys;
  for (const auto& [k, v] : model) keys.push_back(k);
  for (int step = 0; step < 3000; step++) {
    const uint64_t op = rnd.Uniform(10);
    if (op == 0 || !it->Valid()) {
      // Seek to an existing key or to a neighbour of one.
      size_t j = rnd.Uniform(keys.size());
      std::string target = keys[j];
      if (rnd.OneIn(2)) target = IKey(ExtractUserKey(keys[j]).ToString() + "\x01", 5, kTypeValue);
      it->Seek(target);
      mit = model.lower_bound(target);
    } else if (op < 6) {
      it->Next();
      ++mit;
    } else {
      it->Prev();
      mit = mit == model.begin() ? model.end() : std::prev(mit);
    }
    ASSERT_EQ(mit != model.end(), it->Valid()) << "step " << step;
    if (it->Valid()) {
      ASSERT_EQ(mit->first, it->key().ToString()) << "step " << step;
    }
  }
  ASSERT_TRUE(it->status().ok());

  // Scan source: everything, then from random targets.
  auto src = table->NewScanSource(ro);
  ASSERT_TRUE(src->NextBlock());  // unpositioned: NextBlock loads the first block
  auto all = DrainScan(src.get());
  ASSERT_EQ(model.size(), all.size());
  mit = model.begin();
  for (const auto& [k, v] : all) {
    ASSERT_EQ(mit->first, k);
    ASSERT_EQ(mit->second, v);
    ++mit;
  }
  EXPECT_EQ(p.num_data_blocks, src->blocks_read());
  ASSERT_TRUE(src->status().ok());
  for (int s = 0; s < 200; s++) {
    std::string target = keys[rnd.Uniform(keys.size())];
    if (rnd.OneIn(3)) target = IKey(ExtractUserKey(target).ToString() + "\x01", 5, kTypeValue);
    src->Seek(target);
    auto got = DrainScan(src.get(), 50);
    auto m = model.lower_bound(target);
    for (const auto& [k, v] : got) {
      ASSERT_TRUE(m != model.end());
      ASSERT_EQ(m->first, k);
      ASSERT_EQ(m->second, v);
      ++m;
    }
    ASSERT_EQ(std::min<size_t>(50, std::distance(model.lower_bound(target), model.end())),
              got.size());
  }
  src->Seek(IKey("zzzz", 1, kTypeValue));  // past the end
  EXPECT_TRUE(src->Entries().empty());
  EXPECT_FALSE(src->NextBlock());
  Slice last, summary;
  EXPECT_FALSE(src->PeekNextBlock(&last, &summary));
  ASSERT_TRUE(src->status().ok());

  // Block cache behaviour: raw blocks of mapped files never enter it.
  if (param.cache) {
    if (param.mapped && param.compression == Compression::kNone) {
      EXPECT_EQ(0u, cache.usage());
    } else {
      EXPECT_GT(cache.usage(), 0u);
      EXPECT_GT(cache.hits(), 0u);
    }
  }

  // ApproximateOffsetOf is monotonic and within the file.
  uint64_t prev = 0;
  for (size_t j = 0; j < keys.size(); j += keys.size() / 50) {
    uint64_t off = table->ApproximateOffsetOf(keys[j]);
    EXPECT_GE(off, prev);
    EXPECT_LE(off, contents.size());
    prev = off;
  }
  EXPECT_EQ(0u, table->ApproximateOffsetOf(keys.front()));
  const uint64_t past_end = table->ApproximateOffsetOf(IKey("zzzz", 1, kTypeValue));
  EXPECT_GT(past_end, table->DataBlockHandle(table->num_data_blocks() - 1).offset());
  EXPECT_LT(past_end, contents.size());
}

INSTANTIATE_TEST_SUITE_P(Options, TableRoundTrip,
                         testing::Values(TableParams{true, true, Compression::kNone, 16, 4096},
                                         TableParams{true, false, Compression::kNone, 1, 4096},
                                         TableParams{false, true, Compression::kNone, 16, 4096},
                                         TableParams{false, false, Compression::kNone, 3, 1024},
                                         TableParams{true, true, Compression::kZstd, 16, 4096},
                                         TableParams{false, false, Compression::kZstd, 7, 16384},
                                         TableParams{true, false, Compression::kNone, 16, 64}),
                         ParamName);

// ---- Collector summaries through the scan source -----------------------------------------

TEST(Table, CollectorSummariesComeBackInPeekNextBlock) {
  test::Random rnd(test::TestSeed());
  const Model model = MakeModel(&rnd, 3000);
  Options options;
  options.block_size = 512;
  options.table_collector = std::make_shared<SummaryCollectorFactory>();
  const std::string contents = BuildTable(options, model);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, &contents, true, nullptr, &table).ok());
  const size_t blocks = table->num_data_blocks();
  ASSERT_GT(blocks, 20u);

  // Walk the blocks, peeking at each before loading it; skip every third block.
  auto src = table->NewScanSource(ReadOptions());
  size_t block = 0, skipped = 0, loaded = 0, entries = 0;
  Slice last, summary;
  while (src->PeekNextBlock(&last, &summary)) {
    EXPECT_EQ(table->BlockLastKey(block), last);
    EXPECT_EQ(table->BlockSummary(block), summary);
    // "count|first|last"
    const std::string s = summary.ToString();
    const size_t bar1 = s.find('|'), bar2 = s.find('|', bar1 + 1);
    ASSERT_NE(std::string::npos, bar2) << s;
    const size_t count = std::stoul(s.substr(0, bar1));
    EXPECT_EQ(ExtractUserKey(last).ToString(), s.substr(bar2 + 1));
    if (block % 3 == 1) {
      src->SkipNextBlock();
      EXPECT_TRUE(src->Entries().empty());
      skipped++;
    } else {
      ASSERT_TRUE(src->NextBlock());
      auto e = src->Entries();
      ASSERT_EQ(count, e.size());
      EXPECT_EQ(s.substr(bar1 + 1, bar2 - bar1 - 1), ExtractUserKey(e.front().ikey).ToString());
      EXPECT_EQ(last, e.back().ikey);  // the index holds the block's exact last key
      src->Consume(e.size());
      loaded++;
    }
    entries += count;
    block++;
  }
  EXPECT_EQ(blocks, block);
  EXPECT_EQ(model.size(), entries);
  EXPECT_EQ(loaded, src->blocks_read());
  EXPECT_EQ(skipped, src->blocks_skipped());
  EXPECT_FALSE(src->NextBlock());
  EXPECT_TRUE(src->status().ok());

  // Consume part of a block; Entries() then starts at the next entry.
  src->Seek(model.begin()->first);
  auto e = src->Entries();
  ASSERT_GT(e.size(), 3u);
  const std::string third = e[2].ikey.ToString();
  src->Consume(2);
  EXPECT_EQ(third, src->Entries().front().ikey.ToString());
}

// ---- Small cases ------------------------------------------------------------------------

TEST(Table, EmptyTable) {
  Options options;
  const std::string contents = BuildTable(options, Model());
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, &contents, false, nullptr, &table).ok());
  EXPECT_EQ(0u, table->properties().num_entries);
  EXPECT_EQ(0u, table->num_data_blocks());
  std::string v;
  LookupResult r;
  ASSERT_TRUE(table->Get(ReadOptions(), LookupKey("a", 100), &v, &r).ok());
  EXPECT_EQ(LookupResult::kAbsent, r);
  auto it = table->NewIterator(ReadOptions());
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  it->SeekToLast();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
  auto src = table->NewScanSource(ReadOptions());
  EXPECT_FALSE(src->NextBlock());
  src->Seek(IKey("a", 1, kTypeValue));
  EXPECT_TRUE(src->Entries().empty());
  EXPECT_TRUE(src->status().ok());
}

TEST(Table, NoBloomFilterAndHugeValues) {
  Options options;
  options.bloom_bits_per_key = 0;
  Model m;
  test::Random rnd(7);
  for (int i = 0; i < 20; i++) {
    m[IKey(test::NumberKey(i), 100 + i, kTypeValue)] = rnd.Bytes(i % 2 ? 100000 : 10);
  }
  const std::string contents = BuildTable(options, m);
  std::unique_ptr<Table> table;
  ASSERT_TRUE(OpenTable(options, &contents, true, nullptr, &table).ok());
  EXPECT_TRUE(table->KeyMayMatch("anything"));
  for (const auto& [k, v] : m) {
    std::string value;
    LookupResult r;
    bool skipped = true;
    ASSERT_TRUE(table
                    ->Get(ReadOptions(), LookupKey(ExtractUserKey(k), kMaxSequenceNumber), &value,
                          &r, &skipped)
                    .ok());
    EXPECT_FALSE(skipped);
    ASSERT_EQ(LookupResult::kFound, r);
    EXPECT_EQ(v, value);
  }
}

TEST(TableBuilder, RefusesOutOfOrderAndMalformedKeys) {
  Options options;
  StringSink sink;
  TableBuilder b(options, &sink, kFileName);
  b.Add(IKey("b", 5, kTypeValue), "1");
  b.Add(IKey("b", 5, kTypeValue), "again");  // equal: refused
  EXPECT_TRUE(b.status().IsInvalidArgument());
  EXPECT_NE(std::string::npos, b.status().ToString().find(kFileName));
  b.Abandon();

  TableBuilder b2(options, &sink, kFileName);
  b2.Add(IKey("b", 5, kTypeValue), "1");
  b2.Add(IKey("a", 9, kTypeValue), "1");
  EXPECT_TRUE(b2.status().IsInvalidArgument());
  b2.Abandon();

  TableBuilder b3(options, &sink, kFileName);
  b3.Add("short", "1");  // no tag
  EXPECT_TRUE(b3.status().IsInvalidArgument());
  EXPECT_FALSE(b3.Finish().ok());

  // Versions of one user key: newer (higher sequence) first.
  TableBuilder b4(options, &sink, kFileName);
  b4.Add(IKey("k", 9, kTypeValue), "new");
  b4.Add(IKey("k", 3, kTypeDeletion), "");
  EXPECT_TRUE(b4.status().ok());
  b4.Abandon();
}

TEST(TableBuilder, WriteErrorLatches) {
  Options options;
  options.block_size = 100;
  StringSink sink;
  TableBuilder b(options, &sink, kFileName);
  for (int i = 0; i < 10; i++) b.Add(IKey(test::NumberKey(i), 1, kTypeValue), "value");
  sink.fail_appends_ = true;
  for (int i = 10; i < 100; i++) b.Add(IKey(test::NumberKey(i), 1, kTypeValue), "value");
  EXPECT_TRUE(b.status().IsIOError());
  sink.fail_appends_ = false;
  EXPECT_TRUE(b.Finish().IsIOError());
}

// FindBlock's fast path compares 8-byte windows after the prefix all index keys share; keys
// that are prefixes of each other, zero bytes (equal to the padding) and targets outside
// the shared prefix must all still find the right block. One entry per block.
TEST(Table, FindBlockWithAwkwardKeys) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  std::vector<std::string> users;
  const std::string base = "prefix/";
  for (int i = 0; i < 300; i++) {
    std::string u = base;
    const size_t extra = rnd.Uniform(12);
    for (size_t j = 0; j < extra; j++) u.push_back("\x00\x01a\xff"[rnd.Uniform(4)]);
    users.push_back(u);
  }
  users.push_back(base.substr(0, 3));  // shorter than the shared prefix of the rest
  Model m;
  SequenceNumber seq = 1;
  for (const auto& u : users) {
    m[IKey(u, seq++, kTypeValue)] = "v" + test::Escape(u);
    if (rnd.OneIn(3)) m[IKey(u, seq++, kTypeValue)] = "newer";
  }
  for (size_t block_size : {1, 100}) {
    Options options;
    options.block_size = block_size;
    const std::string contents = BuildTable(options, m);
    std::unique_ptr<Table> table;
    ASSERT_TRUE(OpenTable(options, &contents, true, nullptr, &table).ok());
    if (block_size == 1) {
      ASSERT_EQ(m.size(), table->num_data_blocks());
    }
    std::vector<std::string> targets;
    for (const auto& [k, v] : m) targets.push_back(k);
    for (const auto& u : users) {
      targets.push_back(IKey(u + std::string(1, '\0'), kMaxSequenceNumber, kTypeValue));
      targets.push_back(IKey(u.substr(0, u.size() / 2), 0, kTypeDeletion));
    }
    for (const char* u :
         {"", "a", "prefix", "prefix/\xff\xff\xff\xff\xff\xff\xff\xff\xff", "q", "\xff"}) {
      targets.push_back(IKey(u, 5, kTypeValue));
    }
    auto it = table->NewIterator(ReadOptions());
    for (const auto& t : targets) {
      const size_t block = table->FindBlock(t);
      // Reference: the first block whose last key is >= t, by linear search.
      size_t expect = 0;
      while (expect < table->num_data_blocks() &&
             CompareInternalKey(table->BlockLastKey(expect), t) < 0) {
        expect++;
      }
      ASSERT_EQ(expect, block) << test::Escape(t);
      it->Seek(t);
      auto mit = m.lower_bound(t);
      ASSERT_EQ(mit != m.end(), it->Valid()) << test::Escape(t);
      if (it->Valid()) {
        ASSERT_EQ(mit->first, it->key().ToString());
      }
      ParsedInternalKey pk;
      ASSERT_TRUE(ParseInternalKey(t, &pk));
      std::string value, expect_value;
      LookupResult r;
      ASSERT_TRUE(table->Get(ReadOptions(), LookupKey(pk.user_key, pk.sequence), &value, &r).ok());
      ASSERT_EQ(ModelGet(m, pk.user_key, pk.sequence, &expect_value), r) << test::Escape(t);
      if (r == LookupResult::kFound) {
        ASSERT_EQ(expect_value, value);
      }
    }
  }
}

// Many threads reading one table: first-read checksum flags, the block cache and the
// thread-local zstd contexts are shared.
TEST(Table, ConcurrentReaders) {
  test::Random rnd(test::TestSeed());
  const Model model = MakeModel(&rnd, 20000);
  std::vector<std::string> keys;
  for (const auto& [k, v] : model) keys.push_back(k);
  for (bool mapped : {true, false}) {
    for (Compression c : {Compression::kNone, Compression::kZstd}) {
      Options options;
      options.compression = c;
      const std::string contents = BuildTable(options, model);
      BlockCache cache(256 << 10);  // small: evictions happen while others read
      std::unique_ptr<Table> table;
      ASSERT_TRUE(OpenTable(options, &contents, mapped, &cache, &table).ok());
      std::atomic<int> wrong{0};
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; t++) {
        threads.emplace_back([&, t] {
          test::Random r(t + 100);
          std::string value, expect;
          LookupResult result;
          for (int i = 0; i < 3000; i++) {
            const std::string& k = keys[r.Uniform(keys.size())];
            ParsedInternalKey pk;
            ParseInternalKey(k, &pk);
            Status s =
                table->Get(ReadOptions(), LookupKey(pk.user_key, pk.sequence), &value, &result);
            if (!s.ok() || result != ModelGet(model, pk.user_key, pk.sequence, &expect) ||
                (result == LookupResult::kFound && value != expect)) {
              wrong++;
            }
            if (i % 500 == 0) {
              auto src = table->NewScanSource(ReadOptions());
              src->Seek(k);
              if (src->Entries().empty() || src->Entries().front().ikey != Slice(k)) wrong++;
            }
          }
        });
      }
      for (auto& th : threads) th.join();
      EXPECT_EQ(0, wrong.load());
    }
  }
}

// ---- Real files ------------------------------------------------------------------------

TEST(Table, PosixFileIsMappedAndMemEnvFileIsNot) {
  test::Random rnd(test::TestSeed());
  const Model model = MakeModel(&rnd, 5000);
  test::TempDir dir;
  std::unique_ptr<MemEnv> mem = NewMemEnv(Env::Default());
  for (Env* env : {Env::Default(), static_cast<Env*>(mem.get())}) {
    SCOPED_TRACE(env == Env::Default() ? "posix" : "mem");
    Options options;
    options.env = env;
    const std::string fname =
        env == Env::Default() ? dir.Sub("000042.sst") : test::UniqueMemPath() + "-000042.sst";
    if (env != Env::Default()) {
      ASSERT_TRUE(env->CreateDir(test::UniqueMemPath()).ok());
    }
    {
      std::unique_ptr<WritableFile> file;
      ASSERT_TRUE(env->NewWritableFile(fname, &file).ok());
      TableBuilder b(options, file.get(), fname);
      for (const auto& [k, v] : model) b.Add(k, v);
      ASSERT_TRUE(b.Finish().ok());
      ASSERT_TRUE(file->Sync().ok());
      ASSERT_TRUE(file->Close().ok());
    }
    uint64_t size = 0;
    ASSERT_TRUE(env->GetFileSize(fname, &size).ok());
    std::unique_ptr<RandomAccessFile> file;
    ASSERT_TRUE(env->NewRandomAccessFile(fname, &file).ok());
    EXPECT_EQ(env == Env::Default(), file->IsMapped());
    BlockCache cache(1 << 20);
    std::unique_ptr<Table> table;
    ASSERT_TRUE(Table::Open(options, fname, 42, std::move(file), size, &cache, &table).ok());
    size_t checked = 0;
    for (const auto& [k, v] : model) {
      if (checked++ % 5 != 0) continue;
      ParsedInternalKey pk;
      ASSERT_TRUE(ParseInternalKey(k, &pk));
      std::string value, expect_value;
      LookupResult r;
      ASSERT_TRUE(table->Get(ReadOptions(), LookupKey(pk.user_key, pk.sequence), &value, &r).ok());
      ASSERT_EQ(ModelGet(model, pk.user_key, pk.sequence, &expect_value), r);
      if (r == LookupResult::kFound) {
        ASSERT_EQ(expect_value, value);
      }
    }
  }
}

// ---- Checksum policy ---------------------------------------------------------------------

TEST(Table, ChecksumsVerifiedOnFirstReadAndOnEveryReadWhenAsked) {
  Model m;
  for (int i = 0; i < 2000; i++)
    m[IKey(test::NumberKey(i), 10, kTypeValue)] = "value-" + std::to_string(i);
  Options options;
  const std::string built = BuildTable(options, m);
  const Slice key0 = "k00000000";
  for (bool mapped : {true, false}) {
    SCOPED_TRACE(mapped ? "mapped" : "read");
    std::string contents = built;
    BlockCache cache(1 << 20);
    std::unique_ptr<Table> table;
    ASSERT_TRUE(OpenTable(options, &contents, mapped, &cache, &table).ok());
    std::string v;
    LookupResult r;
    ASSERT_TRUE(table->Get(ReadOptions(), LookupKey(key0, 100), &v, &r).ok());
    ASSERT_EQ("value-0", v);

    // The disk changes under the open table: a byte of the first block's value.
    const size_t pos = contents.find("value-0");
    ASSERT_NE(std::string::npos, pos);
    contents[pos] = 'V';
    // Trusted: the block was verified when first read (mapped) or is cached (read).
    ASSERT_TRUE(table->Get(ReadOptions(), LookupKey(key0, 100), &v, &r).ok());
    EXPECT_EQ("value-0", v.substr(0, 7) == "Value-0" ? "value-0" : v);
    // Asked to verify: the mismatch is found.
    ReadOptions verify;
    verify.verify_checksums = true;
    Status s = table->Get(verify, LookupKey(key0, 100), &v, &r);
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_EQ(kFileName + ": block checksum mismatch at offset 0", s.message());
    Options paranoid = options;
    paranoid.paranoid_checks = true;
    std::unique_ptr<Table> t2;
    ASSERT_TRUE(OpenTable(paranoid, &contents, mapped, &cache, &t2).ok());
    EXPECT_TRUE(t2->Get(ReadOptions(), LookupKey(key0, 100), &v, &r).IsCorruption());
    // A fresh table (nothing verified or cached yet) finds it on first read.
    BlockCache cache2(1 << 20);
    std::unique_ptr<Table> t3;
    ASSERT_TRUE(OpenTable(options, &contents, mapped, &cache2, &t3).ok());
    EXPECT_TRUE(t3->Get(ReadOptions(), LookupKey(key0, 100), &v, &r).IsCorruption());
    auto it = t3->NewIterator(ReadOptions());
    it->SeekToFirst();
    EXPECT_FALSE(it->Valid());
    EXPECT_TRUE(it->status().IsCorruption());
    auto src = t3->NewScanSource(ReadOptions());
    EXPECT_FALSE(src->NextBlock());
    EXPECT_TRUE(src->status().IsCorruption());
  }
}

// ---- Corruption sweep --------------------------------------------------------------------

// Opens contents[0, size) and reads everything through Get, the iterator and the scan
// source. Every status must be OK or a Corruption naming the file and an offset, and every
// entry that is returned must be the model's (checksums catch damaged blocks). Returns true
// if any corruption was reported.
bool OpenAndReadAll(const Options& options, const std::string& contents, bool mapped,
                    BlockCache* cache, const Model& model) {
  // Exact-size heap copy so that AddressSanitizer catches any read past the end.
  std::string exact(contents);
  exact.shrink_to_fit();
  bool corrupt = false;
  auto check = [&](const Status& s) {
    if (s.ok()) return;
    EXPECT_TRUE(s.IsCorruption()) << s.ToString();
    EXPECT_EQ(0u, s.message().find(kFileName + ": ")) << s.ToString();
    EXPECT_NE(std::string::npos, s.message().find(" at offset ")) << s.ToString();
    corrupt = true;
  };
  std::unique_ptr<Table> table;
  Status s = OpenTable(options, &exact, mapped, cache, &table);
  check(s);
  if (!s.ok()) return corrupt;

  for (const auto& [k, v] : model) {
    ParsedInternalKey pk;
    ParseInternalKey(k, &pk);
    std::string value, expect_value;
    LookupResult r;
    s = table->Get(ReadOptions(), LookupKey(pk.user_key, pk.sequence), &value, &r);
    check(s);
    if (s.ok()) {
      LookupResult expect = ModelGet(model, pk.user_key, pk.sequence, &expect_value);
      EXPECT_EQ(expect, r) << test::Escape(k);
      if (expect == LookupResult::kFound && r == expect) {
        EXPECT_EQ(expect_value, value);
      }
    }
  }
  auto it = table->NewIterator(ReadOptions());
  auto mit = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++mit) {
    EXPECT_TRUE(mit != model.end());
    if (mit == model.end()) break;
    EXPECT_EQ(mit->first, it->key().ToString());
    EXPECT_EQ(mit->second, it->value().ToString());
  }
  check(it->status());
  for (it->SeekToLast(); it->Valid(); it->Prev()) {
  }
  check(it->status());
  auto src = table->NewScanSource(ReadOptions());
  src->Seek(model.begin()->first);
  auto got = DrainScan(src.get());
  check(src->status());
  mit = model.begin();
  for (const auto& [k, v] : got) {
    EXPECT_TRUE(mit != model.end());
    if (mit == model.end()) break;
    EXPECT_EQ(mit->first, k);
    EXPECT_EQ(mit->second, v);
    ++mit;
  }
  if (src->status().ok()) {
    EXPECT_EQ(model.size(), got.size());
  }
  return corrupt;
}

TEST(Table, CorruptionSweepNeverCrashes) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  Model model;
  for (int i = 0; i < 40; i++) {
    model[IKey(test::NumberKey(i * 2), 100 + i, i % 5 == 0 ? kTypeDeletion : kTypeValue)] =
        i % 5 == 0 ? "" : "v" + rnd.Printable(rnd.Uniform(30));
  }
  for (Compression compression : {Compression::kNone, Compression::kZstd}) {
    Options options;
    options.block_size = 200;
    options.block_restart_interval = 4;
    options.compression = compression;
    options.table_collector = std::make_shared<SummaryCollectorFactory>();
    const std::string good = BuildTable(options, model);
    SCOPED_TRACE(compression == Compression::kZstd ? "zstd" : "raw");
    for (bool mapped : {true, false}) {
      SCOPED_TRACE(mapped ? "mapped" : "read");
      BlockCache cache(1 << 20);
      ASSERT_FALSE(OpenAndReadAll(options, good, mapped, nullptr, model));
      size_t flips_detected = 0;
      for (size_t pos = 0; pos < good.size(); pos++) {
        std::string bad = good;
        bad[pos] = static_cast<char>(bad[pos] ^ (1 + rnd.Uniform(255)));
        // A cache shared across files would mix blocks of different contents under one
        // file number; give each damaged file its own.
        BlockCache local(1 << 16);
        flips_detected += OpenAndReadAll(options, bad, mapped, pos % 2 ? &local : nullptr, model);
        if (HasFailure()) {
          ADD_FAILURE() << "flip at " << pos << " of " << good.size();
          return;
        }
      }
      size_t truncations_detected = 0, truncations = 0;
      for (size_t len = 0; len < good.size(); len += 1 + len / 16) {
        truncations++;
        truncations_detected +=
            OpenAndReadAll(options, good.substr(0, len), mapped, nullptr, model);
        if (HasFailure()) {
          ADD_FAILURE() << "truncated to " << len << " of " << good.size();
          return;
        }
      }
      // Every truncation is detected; so is nearly every flip (the filter's alignment
      // padding is not read, and a flipped filter bit only weakens the filter).
      EXPECT_EQ(truncations, truncations_detected);
      EXPECT_GT(flips_detected, good.size() * 9 / 10);
      std::printf("%s %s: %zu bytes, %zu/%zu flips and %zu truncations detected\n",
                  compression == Compression::kZstd ? "zstd" : "raw", mapped ? "mapped" : "read",
                  good.size(), flips_detected, good.size(), truncations);
    }
  }
}

// A file size larger than the file (a caller bug or a shrunk file): a short read of the
// footer is a Corruption; a footer offset past the end gets the file's own read error.
TEST(Table, FileShorterThanClaimed) {
  Model m;
  for (int i = 0; i < 100; i++) m[IKey(test::NumberKey(i), 1, kTypeValue)] = "v";
  Options options;
  const std::string contents = BuildTable(options, m);
  std::unique_ptr<Table> table;
  Status s = OpenTable(options, &contents, true, nullptr, &table, contents.size() + 50);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_EQ(nullptr, table);
  s = OpenTable(options, &contents, false, nullptr, &table, contents.size() + 1000);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(nullptr, table);
  s = OpenTable(options, &contents, true, nullptr, &table, 10);
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(std::string::npos, s.message().find("too short")) << s.ToString();
}

}  // namespace
}  // namespace zworld::engine
