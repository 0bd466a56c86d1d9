// DB API smoke tests: puts, gets, deletes, reopen, snapshots, iterators in both directions,
// flush, compaction, the bulk Scan path, properties, the LOCK, background error latching and
// the access-policy hooks. Most run on a MemEnv; one runs on the real file system.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "db_impl.h"
#include "support/fault_env.h"
#include "support/test_util.h"
#include "zworld/engine/db.h"
#include "zworld/engine/env.h"
#include "zworld/engine/extension.h"

namespace zworld::engine {
namespace {

using test::NumberKey;
using test::Random;

class DBBasicTest : public ::testing::Test {
 protected:
  DBBasicTest() : mem_env_(NewMemEnv(Env::Default())), path_(test::UniqueMemPath()) {
    options_.env = mem_env_.get();
    options_.block_cache_bytes = 1 << 20;
  }
  ~DBBasicTest() override {
    db_.reset();
    DestroyDB(path_, options_);
  }

  void Open() { ASSERT_TRUE(TryOpen().ok()); }
  Status TryOpen() {
    db_.reset();
    return DB::Open(options_, path_, &db_);
  }
  DBImpl* impl() { return static_cast<DBImpl*>(db_.get()); }

  std::string Get(const std::string& k, const Snapshot* snap = nullptr) {
    ReadOptions ro;
    ro.snapshot = snap;
    std::string v;
    Status s = db_->Get(ro, k, &v);
    if (s.IsNotFound()) return "NOT_FOUND";
    if (!s.ok()) return "ERROR: " + s.ToString();
    return v;
  }
  void Put(const std::string& k, const std::string& v) {
    ASSERT_TRUE(db_->Put(WriteOptions(), k, v).ok());
  }
  void Del(const std::string& k) { ASSERT_TRUE(db_->Delete(WriteOptions(), k).ok()); }

  int FilesAt(int level) {
    std::string v;
    EXPECT_TRUE(db_->GetProperty("zworld.num-files-at-level" + std::to_string(level), &v));
    return std::stoi(v);
  }
  int TotalFiles() {
    int n = 0;
    for (int level = 0; level < options_.num_levels; ++level) n += FilesAt(level);
    return n;
  }

  // Every entry through Scan as (key, value) pairs.
  std::vector<std::pair<std::string, std::string>> ScanAll(const std::string& start,
                                                           const std::string& limit,
                                                           const Snapshot* snap = nullptr) {
    struct Collect : ScanVisitor {
      std::vector<std::pair<std::string, std::string>> out;
      Next Visit(std::span<const ScanEntry> run, std::string*) override {
        EXPECT_FALSE(run.empty());
        for (const auto& e : run) out.emplace_back(e.key.ToString(), e.value.ToString());
        return Next::kContinue;
      }
    } visitor;
    ReadOptions ro;
    ro.snapshot = snap;
    Status s = db_->Scan(ro, start, limit, ScanOptions(), &visitor);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return visitor.out;
  }

  std::vector<std::pair<std::string, std::string>> IterAll(const std::string& start,
                                                           const std::string& limit,
                                                           const Snapshot* snap = nullptr) {
    ReadOptions ro;
    ro.snapshot = snap;
    std::unique_ptr<Iterator> it = db_->NewIterator(ro);
    std::vector<std::pair<std::string, std::string>> out;
    for (it->Seek(start); it->Valid(); it->Next()) {
      if (!limit.empty() && it->key().compare(limit) >= 0) break;
      out.emplace_back(it->key().ToString(), it->value().ToString());
    }
    EXPECT_TRUE(it->status().ok()) << it->status().ToString();
    return out;
  }

  std::unique_ptr<MemEnv> mem_env_;
  std::string path_;
  Options options_;
  std::unique_ptr<DB> db_;
};

TEST_F(DBBasicTest, PutGetDelete) {
  Open();
  EXPECT_EQ("NOT_FOUND", Get("a"));
  Put("a", "1");
  Put("b", "2");
  EXPECT_EQ("1", Get("a"));
  Put("a", "3");
  EXPECT_EQ("3", Get("a"));
  Del("a");
  EXPECT_EQ("NOT_FOUND", Get("a"));
  EXPECT_EQ("2", Get("b"));
  Put("", "empty key");
  EXPECT_EQ("empty key", Get(""));
  WriteBatch batch;
  batch.Put("c", "4");
  batch.Delete("b");
  batch.Put("c", "5");
  ASSERT_TRUE(db_->Write(WriteOptions(), batch).ok());
  EXPECT_EQ("5", Get("c"));
  EXPECT_EQ("NOT_FOUND", Get("b"));
  DBStats st = db_->GetStats();
  EXPECT_EQ(6u, st.writes);
  EXPECT_GE(st.gets, 8u);
}

TEST_F(DBBasicTest, ReopenKeepsDataFromWalAndTables) {
  options_.write_buffer_size = 64 << 10;
  Open();
  for (int i = 0; i < 2000; ++i) Put(NumberKey(i), std::string(100, 'a' + i % 26));
  for (int i = 0; i < 2000; i += 3) Del(NumberKey(i));
  Open();  // closes the first instance, replays its WAL
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 2000; ++i) {
      EXPECT_EQ(i % 3 == 0 ? "NOT_FOUND" : std::string(100, 'a' + i % 26), Get(NumberKey(i))) << i;
    }
    Put("after", "reopen");
    Open();
    EXPECT_EQ("reopen", Get("after"));
  }
  std::string rec;
  ASSERT_TRUE(db_->GetProperty("zworld.recovery", &rec));
  EXPECT_NE(std::string::npos, rec.find("manifest=MANIFEST-")) << rec;
  EXPECT_EQ(0, test::RecoveryDroppedBytes(db_.get())) << rec;
}

TEST_F(DBBasicTest, ReopenOnPosixFileSystem) {
  test::TempDir dir;
  Options o;
  o.write_buffer_size = 32 << 10;
  const std::string path = dir.Sub("db");
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, path, &db).ok());
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(db->Put(WriteOptions(), NumberKey(i), std::to_string(i)).ok());
  }
  WriteOptions sync;
  sync.sync = true;
  ASSERT_TRUE(db->Put(sync, "synced", "yes").ok());
  ASSERT_TRUE(db->Close().ok());
  EXPECT_TRUE(db->Put(WriteOptions(), "x", "y").IsAborted());
  EXPECT_TRUE(db->Close().IsAborted());
  db.reset();
  ASSERT_TRUE(DB::Open(o, path, &db).ok());
  std::string v;
  ASSERT_TRUE(db->Get(ReadOptions(), "synced", &v).ok());
  EXPECT_EQ("yes", v);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(db->Get(ReadOptions(), NumberKey(i), &v).ok());
    EXPECT_EQ(std::to_string(i), v);
  }
  // The info log tells what happened.
  std::string log;
  ASSERT_TRUE(ReadFileToString(Env::Default(), path + "/LOG", &log).ok());
  EXPECT_NE(std::string::npos, log.find("replayed")) << log;
  EXPECT_TRUE(Env::Default()->FileExists(path + "/LOG.old"));
  db.reset();
  ASSERT_TRUE(DestroyDB(path, o).ok());
  EXPECT_FALSE(Env::Default()->FileExists(path + "/CURRENT"));
}

TEST_F(DBBasicTest, SecondOpenOfTheSameFolderIsBusy) {
  Open();
  std::unique_ptr<DB> second;
  Status s = DB::Open(options_, path_, &second);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ(nullptr, second);
  ASSERT_TRUE(db_->Close().ok());
  ASSERT_TRUE(DB::Open(options_, path_, &second).ok());
}

TEST_F(DBBasicTest, OpenOptionsAreChecked) {
  options_.create_if_missing = false;
  EXPECT_TRUE(TryOpen().IsInvalidArgument());
  options_.create_if_missing = true;
  Open();
  db_.reset();
  options_.error_if_exists = true;
  EXPECT_TRUE(TryOpen().IsInvalidArgument());
  options_.error_if_exists = false;
  options_.num_levels = 9;
  EXPECT_TRUE(TryOpen().IsInvalidArgument());
}

TEST_F(DBBasicTest, SnapshotsSeeTheirTimeThroughFlushAndCompaction) {
  options_.write_buffer_size = 16 << 10;
  Open();
  Put("k", "v1");
  const Snapshot* s1 = db_->GetSnapshot();
  Put("k", "v2");
  Del("gone");
  Put("gone", "back");
  const Snapshot* s2 = db_->GetSnapshot();
  Del("k");
  Del("gone");
  EXPECT_EQ("v1", Get("k", s1));
  EXPECT_EQ("v2", Get("k", s2));
  EXPECT_EQ("NOT_FOUND", Get("k"));
  EXPECT_EQ("back", Get("gone", s2));
  EXPECT_EQ("NOT_FOUND", Get("gone", s1));
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("v1", Get("k", s1));
  EXPECT_EQ("v2", Get("k", s2));
  EXPECT_EQ("NOT_FOUND", Get("k"));
  EXPECT_EQ("back", Get("gone", s2));
  auto at_s1 = IterAll("", "", s1);
  ASSERT_EQ(1u, at_s1.size());
  EXPECT_EQ("k", at_s1[0].first);
  EXPECT_EQ(at_s1, ScanAll("", "", s1));
  db_->ReleaseSnapshot(s1);
  db_->ReleaseSnapshot(s2);
  // With no snapshot left, a compaction that rewrites the keys drops every old version and,
  // at the bottom, the deletions: nothing is left.
  Put("k", "v3");
  Del("k");
  Del("gone");
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(0, TotalFiles());
  EXPECT_TRUE(IterAll("", "").empty());
}

TEST_F(DBBasicTest, IteratorBothDirectionsAcrossSources) {
  options_.write_buffer_size = 8 << 10;
  Open();
  std::map<std::string, std::string> model;
  Random rnd(301);
  // Tables in several levels, a frozen or active memtable on top, overwrites and deletions
  // spread through all of them.
  for (int round = 0; round < 4; ++round) {
    for (int i = 0; i < 300; ++i) {
      std::string k = NumberKey(rnd.Uniform(500), 4);
      if (rnd.OneIn(4)) {
        Del(k);
        model.erase(k);
      } else {
        std::string v = rnd.Printable(rnd.Uniform(40));
        Put(k, v);
        model[k] = v;
      }
    }
    if (round == 1) {
      ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
    }
    if (round == 2) {
      ASSERT_TRUE(db_->Flush().ok());
    }
  }
  std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
  auto m = model.begin();
  for (it->SeekToFirst(); it->Valid(); it->Next(), ++m) {
    ASSERT_NE(model.end(), m);
    ASSERT_EQ(m->first, it->key().ToString());
    ASSERT_EQ(m->second, it->value().ToString());
  }
  EXPECT_EQ(model.end(), m);
  auto r = model.rbegin();
  for (it->SeekToLast(); it->Valid(); it->Prev(), ++r) {
    ASSERT_NE(model.rend(), r);
    ASSERT_EQ(r->first, it->key().ToString());
    ASSERT_EQ(r->second, it->value().ToString());
  }
  EXPECT_EQ(model.rend(), r);
  // Random seeks with direction changes.
  for (int i = 0; i < 200; ++i) {
    std::string target = NumberKey(rnd.Uniform(520), 4);
    it->Seek(target);
    auto pos = model.lower_bound(target);
    for (int step = 0; step < 6; ++step) {
      if (pos == model.end()) {
        ASSERT_FALSE(it->Valid());
        break;
      }
      ASSERT_TRUE(it->Valid());
      ASSERT_EQ(pos->first, it->key().ToString());
      ASSERT_EQ(pos->second, it->value().ToString());
      if (rnd.OneIn(2)) {
        it->Next();
        ++pos;
      } else {
        it->Prev();
        if (pos == model.begin()) {
          ASSERT_FALSE(it->Valid());
          break;
        }
        --pos;
      }
    }
  }
  EXPECT_TRUE(it->status().ok());
}

TEST_F(DBBasicTest, FlushWritesL0AndCompactRangeMovesDown) {
  Open();
  for (int i = 0; i < 100; ++i) Put(NumberKey(i), "v");
  EXPECT_EQ(0, FilesAt(0));
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(1, FilesAt(0));
  ASSERT_TRUE(db_->Flush().ok());  // nothing new: no new table
  EXPECT_EQ(1, FilesAt(0));
  for (int i = 50; i < 150; ++i) Put(NumberKey(i), "w");
  ASSERT_TRUE(db_->Flush().ok());
  EXPECT_EQ(2, FilesAt(0));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(0, FilesAt(0));
  EXPECT_GE(FilesAt(1), 1);
  for (int i = 0; i < 150; ++i) EXPECT_EQ(i < 50 ? "v" : "w", Get(NumberKey(i)));
  std::string sst;
  ASSERT_TRUE(db_->GetProperty("zworld.sstables", &sst));
  EXPECT_NE(std::string::npos, sst.find("L1 ")) << sst;
  std::string stats;
  ASSERT_TRUE(db_->GetProperty("zworld.stats", &stats));
  EXPECT_NE(std::string::npos, stats.find("flushes: 2")) << stats;
  DBStats st = db_->GetStats();
  EXPECT_EQ(2u, st.flushes);  // the flush of an empty memtable wrote nothing
  EXPECT_GE(st.compactions, 1u);
  EXPECT_GT(st.compaction_bytes_written, 0u);
  EXPECT_EQ(static_cast<uint64_t>(FilesAt(1)), st.files_per_level[1]);
  EXPECT_FALSE(db_->GetProperty("zworld.no-such-thing", &stats));
  ASSERT_TRUE(db_->GetProperty("zworld.approximate-memory-usage", &stats));
  EXPECT_GT(std::stoull(stats), 0u);
}

TEST_F(DBBasicTest, AutomaticCompactionKeepsDataAndBoundsL0) {
  options_.write_buffer_size = 16 << 10;
  options_.target_file_size = 16 << 10;
  options_.max_bytes_for_level_base = 64 << 10;
  options_.l0_compaction_trigger = 2;
  options_.l0_slowdown_writes_trigger = 4;
  options_.l0_stop_writes_trigger = 6;
  Open();
  Random rnd(17);
  std::map<std::string, std::string> model;
  for (int i = 0; i < 6000; ++i) {
    std::string k = NumberKey(rnd.Uniform(3000), 6);
    std::string v = rnd.Printable(20 + rnd.Uniform(60));
    Put(k, v);
    model[k] = v;
  }
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_LT(FilesAt(0), options_.l0_compaction_trigger);
  int deeper = 0;
  for (int level = 2; level < options_.num_levels; ++level) deeper += FilesAt(level);
  EXPECT_GT(deeper, 0) << "size-triggered compaction never reached L2";
  EXPECT_GT(db_->GetStats().compactions, 0u);
  for (const auto& [k, v] : model) ASSERT_EQ(v, Get(k)) << k;
  std::vector<std::pair<std::string, std::string>> expected(model.begin(), model.end());
  EXPECT_EQ(expected, IterAll("", ""));
  EXPECT_EQ(expected, ScanAll("", ""));
  Open();
  EXPECT_EQ(expected, ScanAll("", ""));
}

TEST_F(DBBasicTest, ScanMatchesIteratorOverEverySource) {
  options_.write_buffer_size = 8 << 10;
  options_.block_size = 256;
  Open();
  Random rnd(99);
  std::vector<const Snapshot*> snaps;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 400; ++i) {
      std::string k = NumberKey(rnd.Uniform(1000), 4);
      if (rnd.OneIn(5)) {
        Del(k);
      } else {
        Put(k, rnd.Printable(rnd.Uniform(30)));
      }
    }
    snaps.push_back(db_->GetSnapshot());
    if (round == 1) {
      ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
    }
    if (round == 3) {
      ASSERT_TRUE(db_->Flush().ok());
    }
  }
  for (int i = 0; i < 30; ++i) {
    std::string start = i == 0 ? "" : NumberKey(rnd.Uniform(1000), 4);
    std::string limit = rnd.OneIn(3) ? "" : NumberKey(rnd.Uniform(1100), 4);
    const Snapshot* snap = rnd.OneIn(2) ? nullptr : snaps[rnd.Uniform(snaps.size())];
    ASSERT_EQ(IterAll(start, limit, snap), ScanAll(start, limit, snap))
        << "start=" << start << " limit=" << limit;
  }
  for (const Snapshot* s : snaps) db_->ReleaseSnapshot(s);
  EXPECT_GT(db_->GetStats().scan_blocks_read, 0u);
}

TEST_F(DBBasicTest, ScanVisitorStopAndSeek) {
  options_.block_size = 256;
  Open();
  for (int i = 0; i < 1000; ++i) Put(NumberKey(i, 4), std::to_string(i));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  for (int i = 0; i < 1000; i += 7) Put(NumberKey(i, 4), "new" + std::to_string(i));

  // Keys whose number is a multiple of 100, reached by seeking past everything else.
  struct Skipper : ScanVisitor {
    std::vector<std::string> keys;
    Next Visit(std::span<const ScanEntry> run, std::string* seek_to) override {
      for (const auto& e : run) {
        int n = std::stoi(e.key.ToString().substr(1));
        if (n % 100 == 0) {
          keys.push_back(e.key.ToString());
        } else {
          *seek_to = NumberKey((n / 100 + 1) * 100, 4);
          return Next::kSeek;
        }
      }
      return Next::kContinue;
    }
  } skipper;
  ASSERT_TRUE(db_->Scan(ReadOptions(), "", "", ScanOptions(), &skipper).ok());
  std::vector<std::string> expected;
  for (int i = 0; i < 1000; i += 100) expected.push_back(NumberKey(i, 4));
  EXPECT_EQ(expected, skipper.keys);

  struct Stopper : ScanVisitor {
    size_t seen = 0;
    Next Visit(std::span<const ScanEntry> run, std::string*) override {
      seen += run.size();
      return seen >= 10 ? Next::kStop : Next::kContinue;
    }
  } stopper;
  ASSERT_TRUE(db_->Scan(ReadOptions(), NumberKey(500, 4), "", ScanOptions(), &stopper).ok());
  EXPECT_GE(stopper.seen, 10u);
  EXPECT_LT(stopper.seen, 1000u);
}

// Block summary: the block's smallest and largest user key number, so a filter can test
// whether a block holds a number in a range.
class RangeCollector final : public TableCollector {
 public:
  void Add(const Slice& user_key, const Slice&, bool) override {
    int n = std::stoi(user_key.ToString().substr(1));
    lo_ = std::min(lo_, n);
    hi_ = std::max(hi_, n);
  }
  void FinishBlock(std::string* out) override {
    *out = std::to_string(lo_) + " " + std::to_string(hi_);
    lo_ = 1 << 30;
    hi_ = -1;
  }
  void FinishTable(std::string*) override {}

 private:
  int lo_ = 1 << 30;
  int hi_ = -1;
};

class RangeCollectorFactory final : public TableCollectorFactory {
 public:
  const char* Name() const override { return "test.range"; }
  std::unique_ptr<TableCollector> NewCollector() override {
    return std::make_unique<RangeCollector>();
  }
};

TEST_F(DBBasicTest, ScanBlockFilterSkipsBlocksWithoutHidingNewerVersions) {
  options_.block_size = 128;
  options_.target_file_size = 4 << 10;  // several L1 tables: skipping crosses table ends
  options_.table_collector = std::make_shared<RangeCollectorFactory>();
  Open();
  for (int i = 0; i < 2000; ++i) Put(NumberKey(i, 5), "old");
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_GT(FilesAt(1), 3);
  // Newer versions of a few keys in the memtable: the blocks holding their old versions must
  // not be skipped in a way that surfaces the old value, and they must be seen.
  for (int i = 0; i < 2000; i += 250) Put(NumberKey(i, 5), "new");

  // Interesting keys: 1000..1099. The filter rules out blocks entirely outside.
  ScanOptions so;
  so.block_filter = [](const Slice& summary) {
    int lo, hi;
    if (std::sscanf(summary.ToString().c_str(), "%d %d", &lo, &hi) != 2) return true;
    return hi >= 1000 && lo < 1100;
  };
  struct Collect : ScanVisitor {
    std::map<std::string, std::string> seen;
    Next Visit(std::span<const ScanEntry> run, std::string*) override {
      for (const auto& e : run) {
        EXPECT_TRUE(seen.emplace(e.key.ToString(), e.value.ToString()).second);
      }
      return Next::kContinue;
    }
  } visitor;
  DBStats before = db_->GetStats();
  ASSERT_TRUE(db_->Scan(ReadOptions(), "", "", so, &visitor).ok());
  DBStats after = db_->GetStats();
  EXPECT_GT(after.scan_blocks_skipped - before.scan_blocks_skipped, 10u);
  for (int i = 1000; i < 1100; ++i) {
    auto it = visitor.seen.find(NumberKey(i, 5));
    ASSERT_NE(visitor.seen.end(), it) << i;
    EXPECT_EQ(i % 250 == 0 ? "new" : "old", it->second);
  }
  for (const auto& [k, v] : visitor.seen) {
    int n = std::stoi(k.substr(1));
    EXPECT_EQ(n % 250 == 0 ? "new" : "old", v) << k;
  }
}

TEST_F(DBBasicTest, BackgroundErrorLatchesUntilReopen) {
  test::FaultEnv fault(mem_env_.get());
  options_.env = &fault;
  Open();
  Put("a", "1");
  fault.FailNth(test::FaultOp::kSync, 1, test::FaultError::kIOError, ".log");
  WriteOptions sync;
  sync.sync = true;
  Status s = db_->Put(sync, "b", "2");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  // The failed fsync is never retried as if fine: every later write fails.
  s = db_->Put(WriteOptions(), "c", "3");
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  EXPECT_FALSE(db_->Flush().ok());
  EXPECT_EQ("1", Get("a"));  // reads still work
  db_.reset();
  Open();
  EXPECT_EQ("1", Get("a"));
  Put("c", "3");
  EXPECT_EQ("3", Get("c"));
  db_.reset();  // before fault goes
  options_.env = mem_env_.get();
}

TEST_F(DBBasicTest, FailedFlushLatchesAndKeepsTheWal) {
  test::FaultEnv fault(mem_env_.get());
  options_.env = &fault;
  Open();
  for (int i = 0; i < 100; ++i) Put(NumberKey(i), "v");
  fault.FailNth(test::FaultOp::kSync, 1, test::FaultError::kNoSpace, ".sst");
  Status s = db_->Flush();
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  EXPECT_TRUE(db_->Put(WriteOptions(), "x", "y").IsNoSpace());
  db_.reset();
  fault.ClearFaults();
  Open();
  for (int i = 0; i < 100; ++i) EXPECT_EQ("v", Get(NumberKey(i)));
  db_.reset();  // before fault goes
  options_.env = mem_env_.get();
}

TEST_F(DBBasicTest, CloseFlushesSoNoWalIsLeftToReplay) {
  for (bool flush_on_close : {true, false}) {
    SCOPED_TRACE(flush_on_close);
    db_.reset();
    (void)DestroyDB(path_, options_);
    options_.flush_on_close = flush_on_close;
    Open();
    for (int i = 0; i < 100; ++i) Put(NumberKey(i), std::string(50, 'x'));
    ASSERT_TRUE(db_->Close().ok());
    db_.reset();
    uint64_t wal_bytes = 0;
    for (const std::string& f : test::FilesOfKind(mem_env_.get(), path_, test::FileKind::kLog)) {
      wal_bytes += test::ReadFileOrDie(mem_env_.get(), path_ + "/" + f).size();
    }
    EXPECT_EQ(wal_bytes == 0, flush_on_close) << wal_bytes;
    EXPECT_EQ(test::FilesOfKind(mem_env_.get(), path_, test::FileKind::kTable).empty(),
              !flush_on_close);
    Open();
    for (int i = 0; i < 100; ++i) EXPECT_EQ(std::string(50, 'x'), Get(NumberKey(i)));
  }
}

TEST_F(DBBasicTest, PartitionerCutsTablesAndL0TriggersCountDepth) {
  options_.table_partitioner = NewPrefixTablePartitioner(1);
  options_.l0_compaction_trigger = 2;
  options_.l0_slowdown_writes_trigger = 8;
  options_.l0_stop_writes_trigger = 12;
  Open();
  auto depth = [this] {
    std::string v;
    EXPECT_TRUE(db_->GetProperty("zworld.l0-depth", &v));
    return v;
  };
  // One flush of three keyspaces: three L0 tables side by side, depth 1.
  for (int i = 0; i < 200; ++i) {
    for (char p : {'a', 'b', 'c'}) Put(std::string(1, p) + NumberKey(i), "v1");
  }
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ(FilesAt(0), 3);
  EXPECT_EQ(depth(), "1");

  // Keyspace d appended in key order: each flush's table overlaps no other, so the depth
  // stays 1 and nothing is compacted although L0 holds more tables than the trigger.
  for (int f = 0; f < 4; ++f) {
    for (int i = 0; i < 50; ++i) Put("d" + NumberKey(f * 1000 + i), "d");
    ASSERT_TRUE(db_->Flush().ok());
  }
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ(FilesAt(0), 7);
  EXPECT_EQ(depth(), "1");
  EXPECT_EQ(db_->GetStats().l0_depth, 1u);
  EXPECT_EQ(db_->GetStats().compactions, 0u);
  EXPECT_EQ(db_->GetStats().tables_moved, 0u);

  // A second version of keyspace a makes it depth 2: the trigger. Compaction runs until no key
  // is in two L0 tables.
  for (int i = 0; i < 200; ++i) Put("a" + NumberKey(i), "v2");
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  EXPECT_EQ(depth(), "1");
  EXPECT_GT(db_->GetStats().compactions, 0u);

  // Flushes and compactions alike leave every table within one keyspace.
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  std::string tables;
  ASSERT_TRUE(db_->GetProperty("zworld.sstables", &tables));
  const auto ranges = zworld::test::TableKeyRanges(tables);
  for (const auto& [smallest, largest] : ranges) EXPECT_EQ(smallest[0], largest[0]) << tables;
  const size_t lines = ranges.size();
  EXPECT_GE(lines, 4u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ("v2", Get("a" + NumberKey(i)));
    EXPECT_EQ("v1", Get("c" + NumberKey(i)));
  }
  EXPECT_EQ("d", Get("d" + NumberKey(3049)));
}

// Cuts at the first byte; tables of keyspace 'b' get no bloom filter.
class NoFilterForB final : public TablePartitioner {
 public:
  bool ShouldCut(const Slice& prev, const Slice& key) const override {
    return prev.empty() || key.empty() || prev[0] != key[0];
  }
  bool WantsFilter(const Slice& first_user_key) const override {
    return first_user_key.empty() || first_user_key[0] != 'b';
  }
};

TEST_F(DBBasicTest, PartitionerChoosesWhichTablesGetAFilter) {
  options_.table_partitioner = std::make_shared<NoFilterForB>();
  options_.bloom_bits_per_key = 10;
  Open();
  for (int i = 0; i < 500; ++i) {
    Put("a" + NumberKey(2 * i), "x");
    Put("b" + NumberKey(2 * i), "y");
  }
  ASSERT_TRUE(db_->Flush().ok());
  // Absent keys inside each table's range: the filter of table a answers most of them without
  // a block read; table b has none, so its misses read blocks.
  const uint64_t before = db_->GetStats().bloom_useful;
  for (int i = 0; i < 500; ++i) EXPECT_EQ("NOT_FOUND", Get("b" + NumberKey(2 * i + 1)));
  EXPECT_EQ(db_->GetStats().bloom_useful, before);
  for (int i = 0; i < 500; ++i) EXPECT_EQ("NOT_FOUND", Get("a" + NumberKey(2 * i + 1)));
  EXPECT_GT(db_->GetStats().bloom_useful, before + 400);
  // Present keys are found in both.
  for (int i = 0; i < 500; i += 7) {
    EXPECT_EQ("x", Get("a" + NumberKey(2 * i)));
    EXPECT_EQ("y", Get("b" + NumberKey(2 * i)));
  }
}

TEST_F(DBBasicTest, TornWalTailIsCutAndReported) {
  options_.flush_on_close = false;  // keep the writes in the WAL
  Open();
  for (int i = 0; i < 50; ++i) Put(NumberKey(i), std::string(50, 'x'));
  db_.reset();
  auto logs = test::FilesOfKind(mem_env_.get(), path_, test::FileKind::kLog);
  ASSERT_FALSE(logs.empty());
  const std::string fname = path_ + "/" + logs.back();
  std::string data = test::ReadFileOrDie(mem_env_.get(), fname);
  ASSERT_GT(data.size(), 20u);
  ASSERT_TRUE(
      test::OverwriteFile(mem_env_.get(), fname, Slice(data.data(), data.size() - 20)).ok());
  Open();
  EXPECT_EQ(std::string(50, 'x'), Get(NumberKey(48)));
  EXPECT_EQ("NOT_FOUND", Get(NumberKey(49)));
  EXPECT_GT(test::RecoveryDroppedBytes(db_.get()), 0);
  // Writes after the cut go to a fresh WAL and survive another reopen.
  Put(NumberKey(49), "again");
  Open();
  EXPECT_EQ("again", Get(NumberKey(49)));
}

TEST_F(DBBasicTest, DamageInsideTheWalIsCorruption) {
  options_.flush_on_close = false;  // keep the writes in the WAL
  Open();
  for (int i = 0; i < 2000; ++i) Put(NumberKey(i), std::string(50, 'x'));
  db_.reset();
  auto logs = test::FilesOfKind(mem_env_.get(), path_, test::FileKind::kLog);
  const std::string fname = path_ + "/" + logs.back();
  std::string data = test::ReadFileOrDie(mem_env_.get(), fname);
  ASSERT_GT(data.size(), 40000u);
  data[1000] ^= 0x40;
  ASSERT_TRUE(test::OverwriteFile(mem_env_.get(), fname, data).ok());
  Status s = TryOpen();
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_NE(std::string::npos, s.ToString().find(logs.back())) << s.ToString();
}

TEST_F(DBBasicTest, ConcurrentWritersAreGroupedAndAllLand) {
  Open();
  constexpr int kThreads = 4, kPerThread = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      WriteOptions wo;
      wo.sync = t == 0;
      for (int i = 0; i < kPerThread; ++i) {
        ASSERT_TRUE(db_->Put(wo, NumberKey(t * kPerThread + i), std::to_string(t)).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i)
      EXPECT_EQ(std::to_string(t), Get(NumberKey(t * kPerThread + i)));
  }
  DBStats st = db_->GetStats();
  EXPECT_EQ(static_cast<uint64_t>(kThreads * kPerThread), st.writes);
  EXPECT_LE(st.write_groups, st.writes);
  EXPECT_GE(st.wal_syncs, 1u);
}

// Keeps keys starting with "hot" resident and counts what it sees.
class HotPolicy final : public AccessPolicy {
 public:
  void OnRead(const Slice&) override { reads++; }
  void OnWrite(const Slice&) override { writes++; }
  bool KeepResident(const Slice& key) override {
    std::lock_guard<std::mutex> l(mu);
    asked.insert(key.ToString());
    return key.starts_with("hot");
  }
  std::atomic<int> reads{0}, writes{0};
  std::mutex mu;
  std::set<std::string> asked;
};

TEST_F(DBBasicTest, AccessPolicySeesAccessesAndKeepsHotKeysResident) {
  auto policy = std::make_shared<HotPolicy>();
  options_.access_policy = policy;
  Open();
  Put("hot1", "a");
  Put("cold1", "b");
  Del("hot-deleted");
  EXPECT_EQ("a", Get("hot1"));
  EXPECT_EQ(3, policy->writes.load());
  EXPECT_EQ(1, policy->reads.load());
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(db_->Flush().ok());
    // A write right after the flush must win over the carried (older) value.
    Put("hot1", "v" + std::to_string(round));
    EXPECT_EQ("v" + std::to_string(round), Get("hot1"));
  }
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  {
    std::lock_guard<std::mutex> l(policy->mu);
    EXPECT_TRUE(policy->asked.count("hot1"));
    EXPECT_TRUE(policy->asked.count("cold1"));
    EXPECT_FALSE(policy->asked.count("hot-deleted"));  // not live
  }
  // Reopen: every WAL that held the carried copies may be gone; the data is not.
  Open();
  EXPECT_EQ("v4", Get("hot1"));
  EXPECT_EQ("b", Get("cold1"));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ("v4", Get("hot1"));
  EXPECT_EQ("NOT_FOUND", Get("hot-deleted"));
}

TEST_F(DBBasicTest, WalFilesAreDeletedOnlyAfterTheirFlush) {
  options_.write_buffer_size = 16 << 10;
  Open();
  for (int i = 0; i < 3000; ++i) Put(NumberKey(i), std::string(40, 'y'));
  ASSERT_TRUE(impl()->TEST_WaitForBackgroundWork().ok());
  auto logs = test::FilesOfKind(mem_env_.get(), path_, test::FileKind::kLog);
  EXPECT_LE(logs.size(), 2u) << "obsolete WAL files were not deleted";
  auto manifests = test::FilesOfKind(mem_env_.get(), path_, test::FileKind::kManifest);
  EXPECT_EQ(1u, manifests.size());
  Open();
  for (int i = 0; i < 3000; i += 97) EXPECT_EQ(std::string(40, 'y'), Get(NumberKey(i)));
}

}  // namespace
}  // namespace zworld::engine
