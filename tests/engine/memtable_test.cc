#include "memtable.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "dbformat.h"
#include "support/test_util.h"

namespace zworld::engine {
namespace {

// Holds one reference for the test's duration.
class MemTableTest : public ::testing::Test {
 protected:
  MemTableTest() : mem_(new MemTable) { mem_->Ref(); }
  ~MemTableTest() override { mem_->Unref(); }

  // Get at seq: "V:<value>", "DELETED" or "ABSENT".
  std::string Get(const std::string& user_key, SequenceNumber seq) {
    std::string value = "untouched";
    LookupKey lk(user_key, seq);
    switch (mem_->Get(lk, &value)) {
      case LookupResult::kFound:
        return "V:" + value;
      case LookupResult::kDeleted:
        return "DELETED";
      case LookupResult::kAbsent:
        return "ABSENT";
    }
    return "?";
  }

  static std::string Render(const Slice& ikey) {
    ParsedInternalKey p;
    if (!ParseInternalKey(ikey, &p)) return "<bad>";
    return p.user_key.ToString() + "@" + std::to_string(p.sequence) +
           (p.type == kTypeValue ? "" : "X");
  }

  MemTable* mem_;
};

TEST_F(MemTableTest, EmptyTable) {
  EXPECT_EQ(mem_->NumEntries(), 0u);
  EXPECT_EQ(Get("a", kMaxSequenceNumber), "ABSENT");
  auto it = mem_->NewIterator();
  it->SeekToFirst();
  EXPECT_FALSE(it->Valid());
  auto src = mem_->NewScanSource();
  EXPECT_FALSE(src->NextBlock());
  EXPECT_TRUE(src->Entries().empty());
}

TEST_F(MemTableTest, GetSeesNewestVersionAtOrBeforeSequence) {
  mem_->Add(10, kTypeValue, "k", "v10");
  mem_->Add(20, kTypeDeletion, "k", "ignored");
  mem_->Add(30, kTypeValue, "k", "v30");
  mem_->Add(15, kTypeValue, "j", "");  // an empty value is a value, not a deletion
  mem_->Add(5, kTypeValue, "kk", "other");

  EXPECT_EQ(Get("k", 9), "ABSENT");
  EXPECT_EQ(Get("k", 10), "V:v10");
  EXPECT_EQ(Get("k", 19), "V:v10");
  EXPECT_EQ(Get("k", 20), "DELETED");
  EXPECT_EQ(Get("k", 29), "DELETED");
  EXPECT_EQ(Get("k", 30), "V:v30");
  EXPECT_EQ(Get("k", kMaxSequenceNumber), "V:v30");
  EXPECT_EQ(Get("j", 100), "V:");
  EXPECT_EQ(Get("j", 14), "ABSENT");
  EXPECT_EQ(Get("kk", 5), "V:other");
  EXPECT_EQ(Get("", 100), "ABSENT");    // a prefix of other keys
  EXPECT_EQ(Get("kj", 100), "ABSENT");  // between two keys
  EXPECT_EQ(Get("z", 100), "ABSENT");   // past the end
  EXPECT_EQ(mem_->NumEntries(), 5u);
}

TEST_F(MemTableTest, IteratorOrdersByUserKeyThenNewestFirst) {
  mem_->Add(3, kTypeValue, "b", "b3");
  mem_->Add(1, kTypeValue, "b", "b1");
  mem_->Add(2, kTypeDeletion, "b", "");
  mem_->Add(7, kTypeValue, "a", "a7");
  mem_->Add(4, kTypeValue, std::string("b\0", 2), "b0");
  mem_->Add(5, kTypeValue, "\xff", "ff");

  const std::vector<std::string> expected = {"a@7",   "b@3", "b@2X", "b@1", std::string("b\0@4", 4),
                                             "\xff@5"};
  auto it = mem_->NewIterator();
  std::vector<std::string> got;
  for (it->SeekToFirst(); it->Valid(); it->Next()) got.push_back(Render(it->key()));
  EXPECT_EQ(got, expected);

  got.clear();
  for (it->SeekToLast(); it->Valid(); it->Prev()) got.push_back(Render(it->key()));
  EXPECT_EQ(got, std::vector<std::string>(expected.rbegin(), expected.rend()));

  // Seek to b at sequence 2 lands on b@2 (the newest version visible at 2).
  it->Seek(InternalKey("b", 2, kValueTypeForSeek).Encode());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(Render(it->key()), "b@2X");
  EXPECT_EQ(it->value().ToString(), "");
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(Render(it->key()), "b@1");
  EXPECT_EQ(it->value().ToString(), "b1");

  it->Seek(InternalKey("b", kMaxSequenceNumber, kValueTypeForSeek).Encode());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(Render(it->key()), "b@3");
  EXPECT_EQ(it->value().ToString(), "b3");

  it->Seek(InternalKey("c", kMaxSequenceNumber, kValueTypeForSeek).Encode());
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(Render(it->key()), "\xff@5");
  it->Seek(InternalKey("\xff\xff", kMaxSequenceNumber, kValueTypeForSeek).Encode());
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
}

TEST_F(MemTableTest, LargeValuesAndKeys) {
  std::string big_key(5000, 'k');
  std::string big_value(300000, 'v');
  for (size_t i = 0; i < big_value.size(); i++) big_value[i] = static_cast<char>(i * 31);
  mem_->Add(1, kTypeValue, big_key, big_value);
  mem_->Add(2, kTypeValue, "small", "s");
  EXPECT_EQ(Get(big_key, 1), "V:" + big_value);
  EXPECT_EQ(Get("small", 2), "V:s");
  EXPECT_GE(mem_->ApproximateMemoryUsage(), big_key.size() + big_value.size());
}

TEST_F(MemTableTest, MemoryUsageGrowsWithEntries) {
  size_t before = mem_->ApproximateMemoryUsage();
  for (int i = 0; i < 1000; i++) mem_->Add(i + 1, kTypeValue, test::NumberKey(i), "value");
  size_t after = mem_->ApproximateMemoryUsage();
  // Each entry holds at least key + tag + value bytes plus a node.
  EXPECT_GE(after - before, 1000u * (9 + 8 + 5 + 8));
  EXPECT_LT(after - before, 1000u * 200);
  EXPECT_EQ(mem_->NumEntries(), 1000u);
}

// Random operations checked against a model of every version.
// Random versions of random keys, added entry by entry or (bulk) in batches of random sizes
// through a BulkInserter (so a batch may hold several versions of one key), checked against
// a model with Get at random sequences and a full iteration.
void MatchesModelAtRandomSequences(MemTable* mem_, bool bulk) {
  const uint64_t seed = test::TestSeed();
  SCOPED_TRACE(test::SeedTrace(seed));
  test::Random rnd(seed);
  auto Get = [mem_](const std::string& user_key, SequenceNumber seq) {
    std::string value;
    LookupKey lk(user_key, seq);
    switch (mem_->Get(lk, &value)) {
      case LookupResult::kFound:
        return "V:" + value;
      case LookupResult::kDeleted:
        return std::string("DELETED");
      case LookupResult::kAbsent:
        break;
    }
    return std::string("ABSENT");
  };
  // user key -> (seq -> value or nullopt for deletion)
  std::map<std::string, std::map<SequenceNumber, std::pair<bool, std::string>>> model;
  const SequenceNumber kOps = 5000;
  std::unique_ptr<MemTable::BulkInserter> batch;
  size_t batch_left = 0;
  for (SequenceNumber seq = 1; seq <= kOps; seq++) {
    std::string key = test::RandomKey(&rnd, 300, true);
    bool del = rnd.OneIn(4);
    std::string value = del ? "" : test::RandomValue(&rnd, std::to_string(seq));
    if (bulk && batch == nullptr) {
      batch_left = 1 + rnd.Uniform(rnd.OneIn(3) ? 2000 : 100);
      batch = std::make_unique<MemTable::BulkInserter>(mem_, batch_left);
    }
    if (batch != nullptr) {
      batch->Add(seq, del ? kTypeDeletion : kTypeValue, key, value);
      if (--batch_left == 0 || seq == kOps) {
        batch->Finish();
        batch.reset();
      }
    } else {
      mem_->Add(seq, del ? kTypeDeletion : kTypeValue, key, value);
    }
    model[key][seq] = {!del, value};
  }
  EXPECT_EQ(mem_->NumEntries(), kOps);
  for (int i = 0; i < 3000; i++) {
    std::string key = test::RandomKey(&rnd, 320, true);
    SequenceNumber at = rnd.Range(0, kOps + 1);
    std::string expected = "ABSENT";
    auto m = model.find(key);
    if (m != model.end()) {
      auto v = m->second.upper_bound(at);  // first version newer than at
      if (v != m->second.begin()) {
        --v;
        expected = v->second.first ? "V:" + v->second.second : "DELETED";
      }
    }
    ASSERT_EQ(Get(key, at), expected) << test::Escape(key) << " at " << at;
  }

  // Full iteration: every version, in internal-key order.
  auto it = mem_->NewIterator();
  it->SeekToFirst();
  size_t n = 0;
  for (const auto& [key, versions] : model) {
    for (auto v = versions.rbegin(); v != versions.rend(); ++v, it->Next(), n++) {
      ASSERT_TRUE(it->Valid());
      ParsedInternalKey p;
      ASSERT_TRUE(ParseInternalKey(it->key(), &p));
      ASSERT_EQ(p.user_key.ToString(), key);
      ASSERT_EQ(p.sequence, v->first);
      ASSERT_EQ(p.type, v->second.first ? kTypeValue : kTypeDeletion);
      ASSERT_EQ(it->value().ToString(), v->second.second);
    }
  }
  EXPECT_FALSE(it->Valid());
  EXPECT_EQ(n, kOps);
}

TEST_F(MemTableTest, MatchesModelAtRandomSequences) { MatchesModelAtRandomSequences(mem_, false); }

TEST_F(MemTableTest, BulkInserterMatchesModelAtRandomSequences) {
  MatchesModelAtRandomSequences(mem_, true);
}

TEST_F(MemTableTest, ScanSourceReturnsBlocksInOrder) {
  constexpr int kKeys = 1000;
  for (int i = 0; i < kKeys; i++) {
    // Two versions of the even keys.
    mem_->Add(2 * i + 1, kTypeValue, test::NumberKey(i), "v" + std::to_string(i));
    if (i % 2 == 0) mem_->Add(2 * i + 2, kTypeDeletion, test::NumberKey(i), "");
  }
  std::vector<std::string> expected;
  {
    auto it = mem_->NewIterator();
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      expected.push_back(it->key().ToString() + "=" + it->value().ToString());
    }
  }
  ASSERT_EQ(expected.size(), kKeys + kKeys / 2u);

  // From the start, a block at a time.
  auto src = mem_->NewScanSource();
  EXPECT_TRUE(src->Entries().empty());
  std::vector<std::string> got;
  int blocks = 0;
  while (src->NextBlock()) {
    auto entries = src->Entries();
    ASSERT_FALSE(entries.empty());
    ASSERT_LE(entries.size(), MemTable::kScanBlockEntries);
    for (const RawEntry& e : entries) got.push_back(e.ikey.ToString() + "=" + e.value.ToString());
    src->Consume(entries.size());
    EXPECT_TRUE(src->Entries().empty());
    blocks++;
  }
  EXPECT_EQ(got, expected);
  EXPECT_EQ(blocks, static_cast<int>((expected.size() + 63) / 64));
  EXPECT_EQ(src->blocks_read(), static_cast<uint64_t>(blocks));
  EXPECT_TRUE(src->status().ok());
  EXPECT_FALSE(src->NextBlock());

  // Seek into the middle, consume part of a block, continue.
  src->Seek(InternalKey(test::NumberKey(500), kMaxSequenceNumber, kValueTypeForSeek).Encode());
  auto entries = src->Entries();
  ASSERT_FALSE(entries.empty());
  size_t start = 0;
  while (expected[start].substr(0, test::NumberKey(500).size()) < test::NumberKey(500)) start++;
  ASSERT_EQ(entries[0].ikey.ToString() + "=" + entries[0].value.ToString(), expected[start]);
  EXPECT_EQ(ExtractUserKey(entries[0].ikey).ToString(), test::NumberKey(500));
  src->Consume(3);
  ASSERT_EQ(src->Entries().size(), entries.size() - 3);
  EXPECT_EQ(src->Entries()[0].ikey.ToString() + "=" + src->Entries()[0].value.ToString(),
            expected[start + 3]);
  size_t pos = start + entries.size();
  while (src->NextBlock()) {
    for (const RawEntry& e : src->Entries()) {
      ASSERT_LT(pos, expected.size());
      ASSERT_EQ(e.ikey.ToString() + "=" + e.value.ToString(), expected[pos++]);
    }
  }
  EXPECT_EQ(pos, expected.size());

  // Seeking past the end exhausts the source.
  src->Seek(InternalKey("z", kMaxSequenceNumber, kValueTypeForSeek).Encode());
  EXPECT_TRUE(src->Entries().empty());
  EXPECT_FALSE(src->NextBlock());
}

// Readers (Get, scan sources, the size getters) run while the single writer adds entries.
// Readers look up, seek and scan while a writer adds entries one by one or, with bulk, in
// batches through a BulkInserter (published after each batch).
void ConcurrentReadersWhileWriting(MemTable* mem_, bool bulk) {
  const int kKeys = test::UnderSanitizer() ? 20000 : 60000;
  // Keys are inserted in a scattered order so new nodes land all over the list.
  std::vector<int> order(kKeys);
  for (int j = 0; j < kKeys; j++) order[j] = static_cast<int>((uint64_t{1} * j * 7919) % kKeys);
  std::atomic<int> published{0};  // order[0, published) are in the table
  std::atomic<bool> stop{false};
  std::atomic<int> errors{0};
  std::atomic<int> lookups{0};
  auto reader = [&](uint64_t seed) {
    test::Random rnd(seed);
    while (!stop.load()) {
      int n = published.load(std::memory_order_acquire);
      if (n == 0) continue;
      int i = order[rnd.Uniform(n)];
      std::string value;
      LookupKey lk(test::NumberKey(i), kMaxSequenceNumber);
      if (mem_->Get(lk, &value) != LookupResult::kFound || value != std::to_string(i)) errors++;
      auto src = mem_->NewScanSource();
      src->Seek(InternalKey(test::NumberKey(i), kMaxSequenceNumber, kValueTypeForSeek).Encode());
      if (src->Entries().empty() || ExtractUserKey(src->Entries()[0].ikey) != test::NumberKey(i)) {
        errors++;
      }
      std::string prev;
      int seen = 0;
      do {
        for (const RawEntry& e : src->Entries()) {
          std::string k = ExtractUserKey(e.ikey).ToString();
          if (!prev.empty() && k <= prev) errors++;
          if (e.value.ToString() != std::to_string(std::stoi(k.substr(1)))) errors++;
          prev = k;
          seen++;
        }
      } while (seen < 300 && src->NextBlock());
      if (mem_->NumEntries() < static_cast<uint64_t>(n)) errors++;
      lookups++;
    }
  };
  std::thread r1(reader, 1), r2(reader, 2);
  if (bulk) {
    const int kBatch = 500;
    for (int j = 0; j < kKeys; j += kBatch) {
      MemTable::BulkInserter inserter(mem_, kBatch);
      for (int k = j; k < std::min(kKeys, j + kBatch); k++) {
        inserter.Add(k + 1, kTypeValue, test::NumberKey(order[k]), std::to_string(order[k]));
      }
      inserter.Finish();
      published.store(std::min(kKeys, j + kBatch), std::memory_order_release);
    }
  } else {
    for (int j = 0; j < kKeys; j++) {
      mem_->Add(j + 1, kTypeValue, test::NumberKey(order[j]), std::to_string(order[j]));
      published.store(j + 1, std::memory_order_release);
    }
  }
  while (lookups.load() < 100) std::this_thread::yield();
  stop = true;
  r1.join();
  r2.join();
  EXPECT_EQ(errors.load(), 0);
}

TEST_F(MemTableTest, ConcurrentReadersWhileWriting) { ConcurrentReadersWhileWriting(mem_, false); }

TEST_F(MemTableTest, ConcurrentReadersWhileBulkInserting) {
  ConcurrentReadersWhileWriting(mem_, true);
}

TEST(MemTableRefTest, UnrefDeletesAtZero) {
  // Runs under ASan in the sanitizer build: a leak or double free would show there.
  auto* mem = new MemTable;
  mem->Ref();
  mem->Ref();
  mem->Add(1, kTypeValue, "k", "v");
  mem->Unref();
  std::string v;
  EXPECT_EQ(mem->Get(LookupKey("k", 1), &v), LookupResult::kFound);
  mem->Unref();
}

}  // namespace
}  // namespace zworld::engine
