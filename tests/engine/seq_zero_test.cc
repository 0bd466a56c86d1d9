// Sequence zeroing at the bottom (engine/FORMATS.md, "Sequence 0"): a compaction writes a
// version that every reader sees and that has no older data below it with sequence 0. Checked
// through table readers over the live files, and through Get, iterators and Scan at the
// present and at snapshots.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "dbformat.h"
#include "support/test_util.h"
#include "table.h"
#include "zworld/engine/db.h"
#include "zworld/engine/env.h"

namespace zworld::engine {
namespace {

using test::NumberKey;

struct TableEntry {
  int level;
  std::string user_key;
  SequenceNumber sequence;
  ValueType type;
  std::string value;
};

class SeqZeroTest : public ::testing::Test {
 protected:
  SeqZeroTest() : mem_env_(NewMemEnv(Env::Default())), path_(test::UniqueMemPath()) {
    options_.env = mem_env_.get();
    options_.block_size = 256;  // several blocks and restart points per table
  }
  ~SeqZeroTest() override {
    db_.reset();
    DestroyDB(path_, options_);
  }

  void Open() {
    db_.reset();
    ASSERT_TRUE(DB::Open(options_, path_, &db_).ok());
  }
  void Put(const std::string& k, const std::string& v) {
    ASSERT_TRUE(db_->Put(WriteOptions(), k, v).ok());
  }
  void Del(const std::string& k) { ASSERT_TRUE(db_->Delete(WriteOptions(), k).ok()); }
  std::string Get(const std::string& k, const Snapshot* snap = nullptr) {
    ReadOptions ro;
    ro.snapshot = snap;
    std::string v;
    Status s = db_->Get(ro, k, &v);
    if (s.IsNotFound()) return "NOT_FOUND";
    if (!s.ok()) return "ERROR: " + s.ToString();
    return v;
  }

  // Every entry of every live table, read through Table (levels from "zworld.sstables").
  std::vector<TableEntry> TableEntries() {
    std::string listing;
    EXPECT_TRUE(db_->GetProperty("zworld.sstables", &listing));
    std::vector<TableEntry> out;
    std::istringstream lines(listing);
    std::string line;
    while (std::getline(lines, line)) {
      int level;
      char name[32];
      if (std::sscanf(line.c_str(), "L%d %31s", &level, name) != 2) continue;
      const std::string fname = path_ + "/" + name;
      uint64_t size = 0;
      EXPECT_TRUE(mem_env_->GetFileSize(fname, &size).ok()) << fname;
      std::unique_ptr<RandomAccessFile> file;
      EXPECT_TRUE(mem_env_->NewRandomAccessFile(fname, &file).ok()) << fname;
      std::unique_ptr<Table> table;
      Status s =
          Table::Open(options_, name, std::stoull(name), std::move(file), size, nullptr, &table);
      EXPECT_TRUE(s.ok()) << s.ToString();
      if (!s.ok()) continue;
      SequenceNumber max_seq = 0;
      std::unique_ptr<Iterator> it = table->NewIterator(ReadOptions());
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        ParsedInternalKey p;
        EXPECT_TRUE(ParseInternalKey(it->key(), &p));
        out.push_back({level, p.user_key.ToString(), p.sequence, p.type, it->value().ToString()});
        max_seq = std::max(max_seq, p.sequence);
      }
      EXPECT_TRUE(it->status().ok()) << it->status().ToString();
      EXPECT_EQ(max_seq, table->properties().max_sequence) << name;
    }
    return out;
  }

  // The DB's view at snap through Get, an iterator and Scan must all equal model.
  void ExpectView(const std::map<std::string, std::string>& model, const Snapshot* snap) {
    ReadOptions ro;
    ro.snapshot = snap;
    std::map<std::string, std::string> via_iter;
    std::unique_ptr<Iterator> it = db_->NewIterator(ro);
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      via_iter[it->key().ToString()] = it->value().ToString();
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    EXPECT_EQ(model, via_iter);
    struct Collect : ScanVisitor {
      std::map<std::string, std::string> out;
      Next Visit(std::span<const ScanEntry> run, std::string*) override {
        for (const auto& e : run) out[e.key.ToString()] = e.value.ToString();
        return Next::kContinue;
      }
    } visitor;
    ASSERT_TRUE(db_->Scan(ro, "", "", ScanOptions(), &visitor).ok());
    EXPECT_EQ(model, visitor.out);
    for (int i = 0; i < 120; i++) {
      const std::string k = NumberKey(i);
      auto m = model.find(k);
      EXPECT_EQ(m == model.end() ? "NOT_FOUND" : m->second, Get(k, snap)) << k;
    }
  }

  std::unique_ptr<MemEnv> mem_env_;
  std::string path_;
  Options options_;
  std::unique_ptr<DB> db_;
};

TEST_F(SeqZeroTest, CompactionWithoutSnapshotsZeroesEveryBottomSequence) {
  Open();
  std::map<std::string, std::string> model;
  uint64_t writes = 0;
  for (int round = 0; round < 3; round++) {
    for (int i = 0; i < 100; i++) {
      const std::string k = NumberKey(i);
      if ((i + round) % 9 == 0) {
        Del(k);
        model.erase(k);
      } else {
        const std::string v = "r" + std::to_string(round) + "-" + std::to_string(i);
        Put(k, v);
        model[k] = v;
      }
      writes++;
    }
    ASSERT_TRUE(db_->Flush().ok());
  }
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());

  std::vector<TableEntry> entries = TableEntries();
  ASSERT_EQ(model.size(), entries.size());  // one version per live key, no tombstones
  for (const TableEntry& e : entries) {
    EXPECT_GE(e.level, 1);
    EXPECT_EQ(0u, e.sequence) << e.user_key;
    EXPECT_EQ(kTypeValue, e.type) << e.user_key;
    EXPECT_EQ(model[e.user_key], e.value);
  }
  ExpectView(model, nullptr);

  // A newer version above a sequence-0 one shadows it; a snapshot taken before still sees
  // the old one.
  const Snapshot* before = db_->GetSnapshot();
  const std::map<std::string, std::string> old_model = model;
  Put(NumberKey(1), "newer");
  model[NumberKey(1)] = "newer";
  Del(NumberKey(2));
  model.erase(NumberKey(2));
  ASSERT_TRUE(db_->Flush().ok());
  ExpectView(model, nullptr);
  ExpectView(old_model, before);
  db_->ReleaseSnapshot(before);

  // The last sequence survives a reopen although every table of the bottom says 0: a new
  // write gets a sequence above every earlier one.
  Open();
  ExpectView(model, nullptr);
  Put(NumberKey(3), "after-reopen");
  model[NumberKey(3)] = "after-reopen";
  ASSERT_TRUE(db_->Flush().ok());
  bool seen = false;
  for (const TableEntry& e : TableEntries()) {
    if (e.level == 0 && e.user_key == NumberKey(3)) {
      EXPECT_GT(e.sequence, writes + 2);  // the 300 writes above and the 2 after them
      seen = true;
    }
  }
  EXPECT_TRUE(seen);
  ExpectView(model, nullptr);
  // Compacting it down merges it with its sequence-0 predecessor: one version, zeroed.
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  entries = TableEntries();
  ASSERT_EQ(model.size(), entries.size());
  for (const TableEntry& e : entries) EXPECT_EQ(0u, e.sequence) << e.user_key;
  ExpectView(model, nullptr);
}

TEST_F(SeqZeroTest, SnapshotKeepsNewerSequencesAndReadsStayRight) {
  Open();
  std::map<std::string, std::string> at_snapshot, now;
  for (int i = 0; i < 100; i++) {
    Put(NumberKey(i), "a" + std::to_string(i));
    at_snapshot[NumberKey(i)] = "a" + std::to_string(i);
  }
  const Snapshot* snap = db_->GetSnapshot();  // sequence 100
  now = at_snapshot;
  for (int i = 0; i < 50; i++) {
    Put(NumberKey(i), "b" + std::to_string(i));
    now[NumberKey(i)] = "b" + std::to_string(i);
  }
  for (int i = 50; i < 60; i++) {
    Del(NumberKey(i));
    now.erase(NumberKey(i));
  }
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());

  int zeroed = 0, kept = 0;
  for (const TableEntry& e : TableEntries()) {
    EXPECT_GE(e.level, 1);
    if (e.sequence == 0) {
      zeroed++;
      EXPECT_EQ(at_snapshot[e.user_key], e.value);  // the version the snapshot sees
    } else {
      kept++;
      EXPECT_GT(e.sequence, 100u) << e.user_key;  // newer than the snapshot: not zeroed
    }
  }
  EXPECT_EQ(100, zeroed);
  EXPECT_EQ(60, kept);  // 50 newer values and 10 newer deletions
  ExpectView(at_snapshot, snap);
  ExpectView(now, nullptr);

  // Without the snapshot, a compaction that rewrites those tables zeroes the rest and drops
  // the deletions with what they hid. (Writing both ends of the range makes the L0 table
  // overlap every L1 table.)
  db_->ReleaseSnapshot(snap);
  Put(NumberKey(0), "c0");
  now[NumberKey(0)] = "c0";
  Put(NumberKey(99), "c99");
  now[NumberKey(99)] = "c99";
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  std::vector<TableEntry> entries = TableEntries();
  EXPECT_EQ(now.size(), entries.size());
  for (const TableEntry& e : entries) {
    EXPECT_EQ(0u, e.sequence) << e.user_key;
    EXPECT_EQ(now[e.user_key], e.value) << e.user_key;
  }
  ExpectView(now, nullptr);
}

}  // namespace
}  // namespace zworld::engine
