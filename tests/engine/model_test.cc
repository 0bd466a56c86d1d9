// Model test: thousands of random operations on a DB, each checked against std::map (and a
// std::map copy per live snapshot), across flushes, compactions and close/reopen, under
// several option sets. DB::Scan (the bulk path) is checked against the same model.
//
// Every test prints its seed; replay with ZWORLD_TEST_SEED=<seed> --gtest_filter=<test>.
// On failure the last operations are printed.

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "support/test_util.h"
#include "zworld/engine/db.h"
#include "zworld/engine/env.h"
#include "zworld/engine/extension.h"
#include "zworld/engine/options.h"

namespace zworld::engine::test {
namespace {

using Model = std::map<std::string, std::string>;

// ---------------------------------------------------------------------------------------------
// A TableCollector whose block summary is the block's entry count and first key; it also checks
// that it is fed user keys in order and counts what it saw.

struct CollectorStats {
  std::atomic<uint64_t> tables{0};
  std::atomic<uint64_t> blocks{0};
  std::atomic<uint64_t> entries{0};
  std::atomic<uint64_t> out_of_order{0};
  std::atomic<uint64_t> bad_deletions{0};  // deletions with a non-empty value
};

class OrderCheckingCollector : public TableCollector {
 public:
  explicit OrderCheckingCollector(CollectorStats* stats) : stats_(stats) {}
  void Add(const Slice& user_key, const Slice& value, bool is_deletion) override {
    if (any_ && user_key.compare(last_) < 0) stats_->out_of_order++;
    if (is_deletion && !value.empty()) stats_->bad_deletions++;
    last_.assign(user_key.data(), user_key.size());
    any_ = true;
    if (block_entries_ == 0) block_first_ = last_;
    ++block_entries_;
    stats_->entries++;
  }
  void FinishBlock(std::string* out) override {
    *out = std::to_string(block_entries_) + ":" + block_first_;
    block_entries_ = 0;
    stats_->blocks++;
  }
  void FinishTable(std::string* out) override {
    *out = "table";
    stats_->tables++;
  }

 private:
  CollectorStats* stats_;
  std::string last_;
  bool any_ = false;
  std::string block_first_;
  uint64_t block_entries_ = 0;
};

class OrderCheckingCollectorFactory : public TableCollectorFactory {
 public:
  const char* Name() const override { return "test.order-checking"; }
  std::unique_ptr<TableCollector> NewCollector() override {
    return std::make_unique<OrderCheckingCollector>(&stats);
  }
  CollectorStats stats;
};

// ---------------------------------------------------------------------------------------------
// Option sets.

struct ModelConfig {
  const char* name;
  bool real_env = false;  // Env::Default() in a temp folder instead of a MemEnv
  size_t write_buffer_size = 64 << 10;
  int bloom_bits_per_key = 10;
  uint64_t target_file_size = 64 << 10;
  int l0_compaction_trigger = 4;
  Compression compression = Compression::kNone;
  bool paranoid_checks = false;
  size_t block_cache_bytes = 8 << 20;
  size_t block_size = 4096;
  int block_restart_interval = 16;
  uint64_t max_bytes_for_level_base = 256 << 10;
  int level_size_multiplier = 10;
  int num_levels = 7;
  int max_immutable_memtables = 2;
  bool collector = false;  // install a TableCollector and run block_filter scans
  bool odd_keys = true;    // empty, long and binary keys now and then
  uint64_t big_value_one_in = 0;
  uint64_t key_space = 2000;
  int ops = 18000;
  size_t partition_prefix = 0;  // > 0: a prefix TablePartitioner of that length
};

ModelConfig Tiny() {
  ModelConfig c;
  c.name = "Tiny";
  c.write_buffer_size = 4 << 10;
  c.target_file_size = 8 << 10;
  c.l0_compaction_trigger = 2;
  c.block_size = 256;
  c.block_restart_interval = 2;
  c.bloom_bits_per_key = 0;
  c.block_cache_bytes = 0;
  c.max_bytes_for_level_base = 32 << 10;
  c.level_size_multiplier = 3;
  c.key_space = 600;
  c.ops = 30000;
  return c;
}

ModelConfig Default64K() {
  ModelConfig c;
  c.name = "Default64K";
  return c;
}

ModelConfig ZstdParanoid() {
  ModelConfig c;
  c.name = "ZstdParanoid";
  c.write_buffer_size = 16 << 10;
  c.compression = Compression::kZstd;
  c.paranoid_checks = true;
  c.target_file_size = 16 << 10;
  c.l0_compaction_trigger = 3;
  c.block_size = 1024;
  c.big_value_one_in = 400;
  return c;
}

// Tables cut every 100 keys of the NumberKey family (its first 7 bytes), tiny buffers: many
// small L0 files, some side by side, counted by L0 depth.
ModelConfig Partitioned() {
  ModelConfig c = Tiny();
  c.name = "Partitioned";
  c.partition_prefix = 7;
  c.bloom_bits_per_key = 10;
  return c;
}

ModelConfig OneEntryBlocks() {
  ModelConfig c;
  c.name = "OneEntryBlocks";
  c.write_buffer_size = 8 << 10;
  c.block_size = 1;
  c.block_restart_interval = 1;
  c.block_cache_bytes = 0;
  c.target_file_size = 4 << 10;
  c.l0_compaction_trigger = 2;
  c.max_bytes_for_level_base = 16 << 10;
  c.level_size_multiplier = 2;
  c.num_levels = 4;
  c.collector = true;
  c.key_space = 400;
  return c;
}

ModelConfig CollectorBloom() {
  ModelConfig c;
  c.name = "CollectorBloom";
  c.write_buffer_size = 32 << 10;
  c.block_size = 512;
  c.bloom_bits_per_key = 4;
  c.collector = true;
  c.l0_compaction_trigger = 2;
  c.max_immutable_memtables = 1;
  c.big_value_one_in = 300;
  return c;
}

ModelConfig RealEnv() {
  ModelConfig c;
  c.name = "RealEnv";
  c.real_env = true;
  c.write_buffer_size = 16 << 10;
  c.target_file_size = 16 << 10;
  c.l0_compaction_trigger = 2;
  c.compression = Compression::kZstd;
  c.block_size = 512;
  c.ops = 6000;
  return c;
}

// gtest prints parameters with this (instead of a byte dump).
void PrintTo(const ModelConfig& c, std::ostream* os) { *os << c.name; }

std::string ConfigName(const ::testing::TestParamInfo<ModelConfig>& info) {
  return info.param.name;
}

// ---------------------------------------------------------------------------------------------
// Scan visitors.

// Compares every entry handed over with the model, in order; stops or seeks at random.
class ModelCheckingVisitor : public ScanVisitor {
 public:
  ModelCheckingVisitor(const Model* m, const std::string& start, const std::string& limit,
                       Random* rnd, int stop_one_in, int seek_one_in)
      : m_(m), limit_(limit), rnd_(rnd), stop_one_in_(stop_one_in), seek_one_in_(seek_one_in) {
    end_ = limit.empty() ? m->end() : m->lower_bound(limit);
    expect_ = m->lower_bound(start);
    if (!limit.empty() && start >= limit) expect_ = end_;
  }

  Next Visit(std::span<const ScanEntry> run, std::string* seek_to) override {
    ++runs_;
    if (!error_.empty()) return Next::kStop;
    if (run.empty()) {
      error_ = "Visit called with an empty run";
      return Next::kStop;
    }
    for (const ScanEntry& e : run) {
      if (expect_ == end_) {
        error_ = std::string("extra entry '") + Escape(e.key) + "' after the model's last in range";
        return Next::kStop;
      }
      if (e.key != Slice(expect_->first) || e.value != Slice(expect_->second)) {
        error_ = std::string("entry ") + std::to_string(entries_) + std::string(": got '") +
                 Escape(e.key) + "'='" + Escape(e.value) + std::string("', expected '") +
                 Escape(expect_->first) + "'='" + Escape(expect_->second) + "'";
        return Next::kStop;
      }
      ++expect_;
      ++entries_;
    }
    std::string last = run.back().key.ToString();
    if (stop_one_in_ > 0 && rnd_->OneIn(stop_one_in_)) {
      stopped_ = true;
      return Next::kStop;
    }
    if (seek_one_in_ > 0 && rnd_->OneIn(seek_one_in_)) {
      // A target strictly after the run's last key: a model key some way ahead, the next
      // possible key, or a key with random bytes appended.
      std::string target;
      switch (rnd_->Uniform(3)) {
        case 0: {
          auto it = m_->upper_bound(last);
          for (uint64_t k = rnd_->Uniform(20); k > 0 && it != m_->end(); --k) ++it;
          target = it == m_->end() ? last + std::string(1, '\xff') : it->first;
          break;
        }
        case 1:
          target = last + std::string(1, '\0');
          break;
        default:
          target = last + rnd_->Bytes(rnd_->Range(1, 3));
          break;
      }
      if (Slice(target).compare(last) <= 0) target = last + std::string(1, '\0');
      *seek_to = target;
      ++seeks_;
      expect_ = m_->lower_bound(target);
      if (!limit_.empty() && target >= limit_) expect_ = end_;
      return Next::kSeek;
    }
    return Next::kContinue;
  }

  // Call after Scan returned OK: "" if everything matched.
  std::string Finish() const {
    if (!error_.empty()) return error_;
    if (!stopped_ && expect_ != end_) {
      return std::string("scan ended early: next expected '") + Escape(expect_->first) +
             "' after " + std::to_string(entries_) + " entries";
    }
    return "";
  }
  uint64_t entries() const { return entries_; }
  uint64_t runs() const { return runs_; }

 private:
  const Model* m_;
  std::string limit_;
  Random* rnd_;
  int stop_one_in_;
  int seek_one_in_;
  Model::const_iterator expect_;
  Model::const_iterator end_;
  std::string error_;
  bool stopped_ = false;
  uint64_t entries_ = 0;
  uint64_t runs_ = 0;
  uint64_t seeks_ = 0;
};

// For scans with a block_filter: what is handed over must be a subsequence of the model's
// entries in range, each with its current value (a skipped block must never uncover an older
// version or a deleted key).
class SubsequenceVisitor : public ScanVisitor {
 public:
  SubsequenceVisitor(const Model* m, const std::string& start, const std::string& limit)
      : m_(m), start_(start), limit_(limit) {}
  Next Visit(std::span<const ScanEntry> run, std::string*) override {
    for (const ScanEntry& e : run) {
      std::string k = e.key.ToString();
      if (any_ && k <= last_) {
        error_ = std::string("keys out of order: '") + Escape(k) + std::string("' after '") +
                 Escape(last_) + "'";
        return Next::kStop;
      }
      if (k < start_ || (!limit_.empty() && k >= limit_)) {
        error_ = std::string("key '") + Escape(k) + "' outside the scanned range";
        return Next::kStop;
      }
      auto it = m_->find(k);
      if (it == m_->end()) {
        error_ = std::string("key '") + Escape(k) +
                 "' is not live in the model (a deleted or stale key)";
        return Next::kStop;
      }
      if (e.value != Slice(it->second)) {
        error_ = std::string("key '") + Escape(k) + std::string("': stale value '") +
                 Escape(e.value) + "', expected '" + Escape(it->second) + "'";
        return Next::kStop;
      }
      last_ = k;
      any_ = true;
      ++entries_;
    }
    return Next::kContinue;
  }
  const std::string& error() const { return error_; }
  uint64_t entries() const { return entries_; }

 private:
  const Model* m_;
  std::string start_, limit_;
  std::string last_;
  bool any_ = false;
  std::string error_;
  uint64_t entries_ = 0;
};

// ---------------------------------------------------------------------------------------------
// The randomised driver.

class ModelTest : public ::testing::TestWithParam<ModelConfig> {
 protected:
  struct LiveSnapshot {
    const Snapshot* snap;
    Model model;
  };

  void SetUp() override {
    const ModelConfig& c = GetParam();
    if (c.real_env) {
      tmp_ = std::make_unique<TempDir>();
      env_ = Env::Default();
      path_ = tmp_->Sub("db");
    } else {
      mem_ = NewMemEnv(Env::Default());
      env_ = mem_.get();
      path_ = UniqueMemPath();
    }
    options_.env = env_;
    options_.write_buffer_size = c.write_buffer_size;
    options_.bloom_bits_per_key = c.bloom_bits_per_key;
    options_.target_file_size = c.target_file_size;
    options_.l0_compaction_trigger = c.l0_compaction_trigger;
    options_.l0_slowdown_writes_trigger = c.l0_compaction_trigger + 4;
    options_.l0_stop_writes_trigger = c.l0_compaction_trigger + 8;
    options_.compression = c.compression;
    options_.paranoid_checks = c.paranoid_checks;
    options_.block_cache_bytes = c.block_cache_bytes;
    options_.block_size = c.block_size;
    options_.block_restart_interval = c.block_restart_interval;
    options_.max_bytes_for_level_base = c.max_bytes_for_level_base;
    options_.level_size_multiplier = c.level_size_multiplier;
    options_.num_levels = c.num_levels;
    options_.max_immutable_memtables = c.max_immutable_memtables;
    if (c.collector) {
      collector_ = std::make_shared<OrderCheckingCollectorFactory>();
      options_.table_collector = collector_;
    }
    if (c.partition_prefix > 0) {
      options_.table_partitioner = NewPrefixTablePartitioner(c.partition_prefix);
    }
  }

  void TearDown() override {
    ReleaseAllSnapshots();
    if (db_) {
      EXPECT_TRUE(db_->Close().ok());
      db_.reset();
    }
    if (collector_) {
      EXPECT_EQ(collector_->stats.out_of_order.load(), 0u) << "collector fed keys out of order";
      EXPECT_EQ(collector_->stats.bad_deletions.load(), 0u) << "deletion with a value";
    }
  }

  void Note(std::string what) {
    history_.push_back(std::to_string(op_) + std::string(": ") + std::move(what));
    if (history_.size() > 25) history_.pop_front();
  }
  std::string History() const {
    std::string h = "last operations:\n";
    for (const std::string& s : history_) h += "  " + s + "\n";
    return h;
  }

  void Open() {
    Status s = DB::Open(options_, path_, &db_);
    ASSERT_TRUE(s.ok()) << "Open: " << s.ToString();
    ASSERT_NE(db_, nullptr);
  }

  void ReleaseAllSnapshots() {
    for (LiveSnapshot& ls : snaps_) db_->ReleaseSnapshot(ls.snap);
    snaps_.clear();
  }

  std::string Key() { return RandomKey(&rnd_, GetParam().key_space, GetParam().odd_keys); }
  // Half the time an existing key (when there is one).
  std::string KeyForRead() {
    if (!model_.empty() && rnd_.OneIn(2)) {
      auto it = model_.lower_bound(Key());
      if (it == model_.end()) it = model_.begin();
      return it->first;
    }
    return Key();
  }
  std::string Value() {
    return RandomValue(&rnd_, std::string("v") + std::to_string(op_) + "/", 8,
                       GetParam().big_value_one_in);
  }

  // Picks the view a read uses: the latest state or a live snapshot.
  const Model& PickView(ReadOptions* ro, std::string* label) {
    if (!snaps_.empty() && rnd_.OneIn(3)) {
      size_t i = rnd_.Uniform(snaps_.size());
      ro->snapshot = snaps_[i].snap;
      *label = std::string("snapshot#") + std::to_string(i);
      return snaps_[i].model;
    }
    *label = "latest";
    return model_;
  }

  void DoPut() {
    std::string k = Key(), v = Value();
    Note(std::string("Put '") + Escape(k, 24) + std::string("' (") + std::to_string(v.size()) +
         " bytes)");
    WriteOptions wo;
    wo.sync = rnd_.OneIn(50);
    Status s = db_->Put(wo, k, v);
    ASSERT_TRUE(s.ok()) << s.ToString();
    model_[k] = v;
  }

  void DoDelete() {
    std::string k = KeyForRead();
    Note(std::string("Delete '") + Escape(k, 24) + "'");
    Status s = db_->Delete(WriteOptions(), k);
    ASSERT_TRUE(s.ok()) << s.ToString();
    model_.erase(k);
  }

  void DoBatch() {
    WriteBatch b;
    Model after = model_;
    uint64_t n = rnd_.Range(1, 20);
    for (uint64_t i = 0; i < n; ++i) {
      if (rnd_.OneIn(3)) {
        std::string k = KeyForRead();
        b.Delete(k);
        after.erase(k);
      } else {
        std::string k = Key(), v = Value();
        b.Put(k, v);
        after[k] = v;
      }
    }
    ASSERT_EQ(b.Count(), n);
    Note(std::string("Write batch of ") + std::to_string(n));
    Status s = db_->Write(WriteOptions(), b);
    ASSERT_TRUE(s.ok()) << s.ToString();
    model_ = std::move(after);
  }

  void DoGet() {
    ReadOptions ro;
    std::string label;
    const Model& m = PickView(&ro, &label);
    ro.verify_checksums = rnd_.OneIn(4);
    ro.fill_cache = !rnd_.OneIn(4);
    std::string k = KeyForRead();
    Note(std::string("Get '") + Escape(k, 24) + "' at " + label);
    std::string v = "garbage";
    Status s = db_->Get(ro, k, &v);
    auto it = m.find(k);
    if (it == m.end()) {
      ASSERT_TRUE(s.IsNotFound()) << "Get '" << Escape(k) << "' at " << label
                                  << ": expected NotFound, got " << s.ToString() << " value '"
                                  << Escape(v) << "'";
    } else {
      ASSERT_TRUE(s.ok()) << "Get '" << Escape(k) << "' at " << label << ": " << s.ToString();
      ASSERT_EQ(v, it->second) << "Get '" << Escape(k) << "' at " << label;
    }
  }

  // Compares iterator it with model iterator position (mit, valid).
  static void ExpectSame(Iterator* it, const Model& m, Model::const_iterator mit,
                         const std::string& where) {
    bool mvalid = mit != m.end();
    ASSERT_EQ(it->Valid(), mvalid)
        << where
        << (mvalid ? std::string(": expected '") + Escape(mit->first) + "'" : ": expected the end")
        << " status " << it->status().ToString();
    if (mvalid) {
      ASSERT_EQ(it->key().ToString(), mit->first)
          << where << ": key '" << Escape(it->key()) << "' vs '" << Escape(mit->first) << "'";
      ASSERT_EQ(it->value().ToString(), mit->second)
          << where << " at '" << Escape(mit->first) << "'";
    }
  }

  // A random walk (seeks, Next, Prev) on it, checked step by step against m.
  void WalkAndCheck(Iterator* it, const Model& m, const std::string& label) {
    Model::const_iterator mit;
    auto position = [&](std::string* what) {
      switch (rnd_.Uniform(4)) {
        case 0:
          it->SeekToFirst();
          mit = m.begin();
          *what = "SeekToFirst";
          break;
        case 1:
          it->SeekToLast();
          mit = m.empty() ? m.end() : std::prev(m.end());
          *what = "SeekToLast";
          break;
        default: {
          std::string t = rnd_.OneIn(3) ? KeyForRead() : Key();
          if (rnd_.OneIn(4)) t += rnd_.Bytes(1);
          it->Seek(t);
          mit = m.lower_bound(t);
          *what = std::string("Seek('") + Escape(t, 24) + "')";
        }
      }
    };
    std::string what;
    position(&what);
    std::string trail = label + " " + what;
    ASSERT_NO_FATAL_FAILURE(ExpectSame(it, m, mit, trail));
    uint64_t steps = rnd_.Range(1, 60);
    for (uint64_t i = 0; i < steps; ++i) {
      if (mit == m.end()) {
        if (rnd_.OneIn(2)) break;
        position(&what);
        trail += " " + what;
      } else if (rnd_.Uniform(10) < 6) {
        it->Next();
        ++mit;
        trail += " N";
      } else {
        it->Prev();
        mit = mit == m.begin() ? m.end() : std::prev(mit);
        trail += " P";
      }
      if (trail.size() > 400) trail = "..." + trail.substr(trail.size() - 300);
      ASSERT_NO_FATAL_FAILURE(ExpectSame(it, m, mit, trail));
    }
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  }

  void DoIterate() {
    ReadOptions ro;
    std::string label;
    const Model& m = PickView(&ro, &label);
    Note("Iterator walk at " + label);
    std::unique_ptr<Iterator> it = db_->NewIterator(ro);
    ASSERT_NO_FATAL_FAILURE(WalkAndCheck(it.get(), m, label));
  }

  // An iterator made now must keep showing the state of now while writes, a flush and a
  // compaction happen.
  void DoStableIterator() {
    Note("Stable iterator across writes");
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    Model frozen = model_;
    uint64_t n = rnd_.Range(1, 40);
    for (uint64_t i = 0; i < n; ++i) {
      if (rnd_.OneIn(4)) {
        ASSERT_NO_FATAL_FAILURE(DoDelete());
      } else {
        ASSERT_NO_FATAL_FAILURE(DoPut());
      }
    }
    if (rnd_.OneIn(2)) {
      ASSERT_TRUE(db_->Flush().ok());
    }
    if (rnd_.OneIn(3)) {
      ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
    }
    ASSERT_NO_FATAL_FAILURE(WalkAndCheck(it.get(), frozen, "stable-iterator"));
    // And the whole view, forward.
    auto mit = frozen.begin();
    for (it->SeekToFirst(); it->Valid(); it->Next(), ++mit) {
      ASSERT_NE(mit, frozen.end()) << "extra key '" << Escape(it->key()) << "'";
      ASSERT_EQ(it->key().ToString(), mit->first);
      ASSERT_EQ(it->value().ToString(), mit->second);
    }
    ASSERT_EQ(mit, frozen.end()) << "missing '" << Escape(mit->first) << "'";
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
  }

  void RandomRange(std::string* start, std::string* limit) {
    *start = rnd_.OneIn(8) ? std::string() : Key();
    switch (rnd_.Uniform(8)) {
      case 0:
        limit->clear();  // no upper bound
        break;
      case 1:
        *limit = *start;  // empty range
        if (limit->empty()) *limit = "a";
        if (start->empty()) *start = *limit;
        break;
      default: {
        std::string a = Key();
        if (a <= *start) a = *start + rnd_.Bytes(rnd_.Range(1, 2)) + NumberKey(rnd_.Uniform(9));
        *limit = a;
      }
    }
  }

  void DoScan() {
    ReadOptions ro;
    std::string label;
    const Model& m = PickView(&ro, &label);
    std::string start, limit;
    RandomRange(&start, &limit);
    int stop_one_in = rnd_.OneIn(3) ? static_cast<int>(rnd_.Range(2, 30)) : 0;
    int seek_one_in = rnd_.OneIn(2) ? static_cast<int>(rnd_.Range(1, 8)) : 0;
    Note(std::string("Scan ['") + Escape(start, 24) + std::string("', '") + Escape(limit, 24) +
         "') at " + label + " stop1/" + std::to_string(stop_one_in) + std::string(" seek1/") +
         std::to_string(seek_one_in));
    ModelCheckingVisitor v(&m, start, limit, &rnd_, stop_one_in, seek_one_in);
    Status s = db_->Scan(ro, start, limit, ScanOptions(), &v);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::string err = v.Finish();
    ASSERT_EQ(err, "") << "Scan ['" << Escape(start) << "', '" << Escape(limit) << "') at "
                       << label;
    scan_entries_ += v.entries();

    // The same range through an iterator must agree with the model too.
    if (rnd_.OneIn(4)) {
      std::unique_ptr<Iterator> it = db_->NewIterator(ro);
      auto mit = m.lower_bound(start);
      auto mend = limit.empty() ? m.end() : m.lower_bound(limit);
      if (!limit.empty() && start >= limit) mit = mend;
      for (it->Seek(start); it->Valid() && (limit.empty() || it->key().compare(limit) < 0);
           it->Next(), ++mit) {
        ASSERT_NE(mit, mend) << "iterator has extra '" << Escape(it->key()) << "'";
        ASSERT_EQ(it->key().ToString(), mit->first);
        ASSERT_EQ(it->value().ToString(), mit->second);
      }
      ASSERT_EQ(mit, mend);
      ASSERT_TRUE(it->status().ok());
    }
  }

  void DoFilteredScan() {
    ReadOptions ro;
    std::string label;
    const Model& m = PickView(&ro, &label);
    std::string start, limit;
    RandomRange(&start, &limit);
    uint64_t salt = rnd_.Next();
    ScanOptions so;
    std::atomic<uint64_t> asked{0};
    so.block_filter = [salt, &asked](const Slice& summary) {
      asked++;
      return (std::hash<std::string_view>()(summary.view()) ^ salt) % 3 != 0;
    };
    Note(std::string("Filtered scan ['") + Escape(start, 24) + std::string("', '") +
         Escape(limit, 24) + "') at " + label);
    SubsequenceVisitor v(&m, start, limit);
    Status s = db_->Scan(ro, start, limit, so, &v);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(v.error(), "") << "filtered scan ['" << Escape(start) << "', '" << Escape(limit)
                             << "') at " << label;
    filter_calls_ += asked.load();
  }

  void DoSnapshot() {
    if (snaps_.size() < 4 && (snaps_.empty() || rnd_.OneIn(2))) {
      Note("GetSnapshot");
      snaps_.push_back(LiveSnapshot{db_->GetSnapshot(), model_});
      ASSERT_NE(snaps_.back().snap, nullptr);
    } else if (!snaps_.empty()) {
      size_t i = rnd_.Uniform(snaps_.size());
      Note(std::string("ReleaseSnapshot #") + std::to_string(i));
      db_->ReleaseSnapshot(snaps_[i].snap);
      snaps_.erase(snaps_.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }

  void DoFlush() {
    Note("Flush");
    Status s = db_->Flush();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void DoCompactRange() {
    std::string a = Key(), b = Key();
    if (b < a) std::swap(a, b);
    bool full = rnd_.OneIn(3);
    bool open_begin = !full && rnd_.OneIn(4), open_end = !full && rnd_.OneIn(4);
    Slice sa(a), sb(b);
    Note(full ? "CompactRange(all)"
              : "CompactRange('" + (open_begin ? std::string("-inf") : Escape(a, 24)) + "', '" +
                    (open_end ? std::string("+inf") : Escape(b, 24)) + "')");
    Status s = full ? db_->CompactRange(nullptr, nullptr)
                    : db_->CompactRange(open_begin ? nullptr : &sa, open_end ? nullptr : &sb);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void CheckAll(const std::string& why) {
    Status s;
    Model got = DumpDB(db_.get(), ReadOptions(), &s);
    ASSERT_TRUE(s.ok()) << why << ": " << s.ToString();
    ASSERT_EQ(MapDiff(model_, got), "") << why;
    // Backward over everything too.
    std::unique_ptr<Iterator> it = db_->NewIterator(ReadOptions());
    auto mit = model_.rbegin();
    for (it->SeekToLast(); it->Valid(); it->Prev(), ++mit) {
      ASSERT_NE(mit, model_.rend()) << why << ": backward extra '" << Escape(it->key()) << "'";
      ASSERT_EQ(it->key().ToString(), mit->first) << why << " (backward)";
      ASSERT_EQ(it->value().ToString(), mit->second) << why << " (backward)";
    }
    ASSERT_EQ(mit, model_.rend()) << why << ": backward scan stopped early";
    ASSERT_TRUE(it->status().ok()) << it->status().ToString();
    for (LiveSnapshot& ls : snaps_) {
      ReadOptions ro;
      ro.snapshot = ls.snap;
      Model at = DumpDB(db_.get(), ro, &s);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(MapDiff(ls.model, at), "") << why << " (snapshot)";
    }
  }

  void DoReopen() {
    bool close_first = !rnd_.OneIn(4);
    Note(close_first ? "Close + Open" : "destroy DB object + Open");
    ReleaseAllSnapshots();
    AccumulateStats();
    if (close_first) {
      Status s = db_->Close();
      ASSERT_TRUE(s.ok()) << s.ToString();
      // A closed DB answers Aborted.
      std::string v;
      ASSERT_TRUE(db_->Get(ReadOptions(), "x", &v).IsAborted());
      ASSERT_TRUE(db_->Put(WriteOptions(), "x", "y").IsAborted());
    }
    db_.reset();
    ASSERT_NO_FATAL_FAILURE(Open());
    ASSERT_NO_FATAL_FAILURE(CheckAll("after reopen"));
  }

  // Counters restart at each Open: keep totals over the whole test.
  void AccumulateStats() {
    DBStats st = db_->GetStats();
    total_flushes_ += st.flushes;
    total_compactions_ += st.compactions;
    total_writes_ += st.writes;
  }

  void RunOps(int ops) {
    for (op_ = 0; op_ < ops; ++op_) {
      uint64_t r = rnd_.Uniform(1000);
      if (r < 300) {
        DoPut();
      } else if (r < 380) {
        DoDelete();
      } else if (r < 460) {
        DoBatch();
      } else if (r < 640) {
        DoGet();
      } else if (r < 740) {
        DoIterate();
      } else if (r < 820) {
        DoScan();
      } else if (r < 850) {
        if (collector_) {
          DoFilteredScan();
        } else {
          DoScan();
        }
      } else if (r < 900) {
        DoSnapshot();
      } else if (r < 915) {
        DoFlush();
      } else if (r < 925) {
        DoCompactRange();
      } else if (r < 928) {
        DoReopen();
      } else if (r < 933) {
        DoStableIterator();
      } else if (r < 938) {
        CheckAll("periodic check");
      } else {
        DoPut();
      }
      if (HasFailure()) {
        ADD_FAILURE() << History();
        return;
      }
    }
  }

  std::unique_ptr<MemEnv> mem_;
  std::unique_ptr<TempDir> tmp_;
  Env* env_ = nullptr;
  std::string path_;
  Options options_;
  std::shared_ptr<OrderCheckingCollectorFactory> collector_;
  std::unique_ptr<DB> db_;
  Model model_;
  std::vector<LiveSnapshot> snaps_;
  Random rnd_{0};
  int op_ = 0;
  std::deque<std::string> history_;
  uint64_t scan_entries_ = 0;
  uint64_t filter_calls_ = 0;
  uint64_t total_flushes_ = 0;
  uint64_t total_compactions_ = 0;
  uint64_t total_writes_ = 0;
};

TEST_P(ModelTest, RandomOperations) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  rnd_ = Random(seed);
  ASSERT_NO_FATAL_FAILURE(Open());
  int ops = GetParam().ops;
  if (UnderSanitizer()) ops /= 2;
  RunOps(ops);
  if (HasFailure()) return;

  // Everything compacted: L0 is empty and the contents are unchanged, before and after a
  // final reopen.
  ReleaseAllSnapshots();
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  std::string l0;
  ASSERT_TRUE(db_->GetProperty("zworld.num-files-at-level0", &l0));
  EXPECT_EQ(l0, "0") << "L0 files left after a full compaction";
  ASSERT_NO_FATAL_FAILURE(CheckAll("after full compaction"));

  AccumulateStats();
  DBStats st = db_->GetStats();
  std::string stats;
  EXPECT_TRUE(db_->GetProperty("zworld.stats", &stats));
  EXPECT_FALSE(db_->GetProperty("zworld.no-such-property", &stats));
  std::fprintf(stderr,
               "[stats] %s: %d ops, writes=%llu flushes=%llu compactions=%llu (since the last "
               "open: gets=%llu) scan_entries=%llu scan_blocks_read=%llu skipped=%llu "
               "filter_calls=%llu\n",
               GetParam().name, ops, static_cast<unsigned long long>(total_writes_),
               static_cast<unsigned long long>(total_flushes_),
               static_cast<unsigned long long>(total_compactions_),
               static_cast<unsigned long long>(st.gets),
               static_cast<unsigned long long>(scan_entries_),
               static_cast<unsigned long long>(st.scan_blocks_read),
               static_cast<unsigned long long>(st.scan_blocks_skipped),
               static_cast<unsigned long long>(filter_calls_));
  // Tiny buffers: flushes and compactions must really have happened.
  if (GetParam().write_buffer_size <= (16u << 10)) {
    EXPECT_GT(total_flushes_, 10u);
    EXPECT_GT(total_compactions_, 0u);
  }
  if (collector_) {
    EXPECT_GT(collector_->stats.tables.load(), 0u);
    EXPECT_GT(collector_->stats.blocks.load(), 0u);
  }
  ASSERT_NO_FATAL_FAILURE(DoReopen());
}

INSTANTIATE_TEST_SUITE_P(Configs, ModelTest,
                         ::testing::Values(Tiny(), Default64K(), ZstdParanoid(), OneEntryBlocks(),
                                           CollectorBloom(), RealEnv(), Partitioned()),
                         ConfigName);

// ---------------------------------------------------------------------------------------------
// Open/close API behaviour.

class DBApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = NewMemEnv(Env::Default());
    options_.env = mem_.get();
    path_ = UniqueMemPath();
  }
  std::unique_ptr<MemEnv> mem_;
  Options options_;
  std::string path_;
};

TEST_F(DBApiTest, OpenFlagsAndLock) {
  std::unique_ptr<DB> db;
  Options o = options_;
  o.create_if_missing = false;
  EXPECT_FALSE(DB::Open(o, path_, &db).ok()) << "opened a missing DB without create_if_missing";
  EXPECT_EQ(db, nullptr);

  ASSERT_TRUE(DB::Open(options_, path_, &db).ok());
  ASSERT_TRUE(db->Put(WriteOptions(), "a", "1").ok());

  // A second open of the same folder while the first holds it.
  std::unique_ptr<DB> db2;
  Status s = DB::Open(options_, path_, &db2);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  EXPECT_EQ(db2, nullptr);

  ASSERT_TRUE(db->Close().ok());
  db.reset();

  o = options_;
  o.error_if_exists = true;
  EXPECT_FALSE(DB::Open(o, path_, &db).ok()) << "error_if_exists ignored";

  ASSERT_TRUE(DB::Open(options_, path_, &db).ok());
  std::string v;
  ASSERT_TRUE(db->Get(ReadOptions(), "a", &v).ok());
  EXPECT_EQ(v, "1");
  ASSERT_TRUE(db->Close().ok());
  Status again = db->Close();
  EXPECT_TRUE(again.IsAborted() || again.ok()) << again.ToString();
  db.reset();

  ASSERT_TRUE(DestroyDB(path_, options_).ok());
  o = options_;
  o.create_if_missing = false;
  EXPECT_FALSE(DB::Open(o, path_, &db).ok()) << "DestroyDB left a database behind";
}

TEST_F(DBApiTest, RealEnvLockAndDestroy) {
  TempDir tmp;
  Options o;
  std::string path = tmp.Sub("db");
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, path, &db).ok());
  ASSERT_TRUE(db->Put(WriteOptions(), "k", "v").ok());
  std::unique_ptr<DB> db2;
  Status s = DB::Open(o, path, &db2);
  EXPECT_TRUE(s.IsBusy()) << s.ToString();
  ASSERT_TRUE(db->Flush().ok());
  db.reset();  // the destructor closes and releases the lock
  ASSERT_TRUE(DB::Open(o, path, &db).ok());
  std::string v;
  ASSERT_TRUE(db->Get(ReadOptions(), "k", &v).ok());
  EXPECT_EQ(v, "v");
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_TRUE(DestroyDB(path, o).ok());
  EXPECT_FALSE(Env::Default()->FileExists(path + "/CURRENT"));
}

// Bug pinned (found by RandomOperations): after a visitor's kSeek, DB::Scan re-seeked the
// source whose block had just been used up back to the target, although the merge had already
// consumed past it (a newer deletion in the memtable), and the older value of the deleted key
// came back.
TEST_F(DBApiTest, ScanSeekDoesNotResurrectDeletedKeys) {
  options_.block_size = 64;
  options_.block_restart_interval = 2;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options_, path_, &db).ok());
  ASSERT_TRUE(db->Put(WriteOptions(), "k07", "old7").ok());
  ASSERT_TRUE(db->Put(WriteOptions(), "k08", "old8").ok());
  ASSERT_TRUE(db->Flush().ok());
  ASSERT_TRUE(db->Put(WriteOptions(), "k09", "new9").ok());
  ASSERT_TRUE(db->Delete(WriteOptions(), "k08").ok());
  for (const char* target : {"k07\x01", "k08", "k08\x01"}) {
    struct SeekOnce : ScanVisitor {
      std::string target;
      bool sought = false;
      std::vector<std::string> keys;
      Next Visit(std::span<const ScanEntry> run, std::string* seek_to) override {
        for (const ScanEntry& e : run) keys.push_back(e.key.ToString() + "=" + e.value.ToString());
        if (sought || run.back().key.compare(target) >= 0) return Next::kContinue;
        sought = true;
        *seek_to = target;
        return Next::kSeek;
      }
    } v;
    v.target = target;
    ASSERT_TRUE(db->Scan(ReadOptions(), "", "", ScanOptions(), &v).ok());
    EXPECT_EQ(v.keys, (std::vector<std::string>{"k07=old7", "k09=new9"})) << "seek to " << target;
  }
  ASSERT_TRUE(db->Close().ok());
}

// Many versions of few keys with snapshots pinning old ones: compaction must keep exactly the
// versions live snapshots can see.
TEST_F(DBApiTest, SnapshotsPinVersionsThroughCompaction) {
  options_.write_buffer_size = 4 << 10;
  options_.l0_compaction_trigger = 2;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(options_, path_, &db).ok());
  std::vector<std::pair<const Snapshot*, Model>> snaps;
  Model model;
  for (int round = 0; round < 40; ++round) {
    for (int k = 0; k < 30; ++k) {
      std::string key = NumberKey(k, 4);
      if ((k + round) % 7 == 0) {
        ASSERT_TRUE(db->Delete(WriteOptions(), key).ok());
        model.erase(key);
      } else {
        std::string v = std::string("r") + std::to_string(round) + std::string("k") +
                        std::to_string(k) + std::string(static_cast<size_t>(k * 3), 'x');
        ASSERT_TRUE(db->Put(WriteOptions(), key, v).ok());
        model[key] = v;
      }
    }
    if (round % 5 == 0) snaps.emplace_back(db->GetSnapshot(), model);
    if (round % 3 == 0) {
      ASSERT_TRUE(db->CompactRange(nullptr, nullptr).ok());
    }
  }
  ASSERT_TRUE(db->CompactRange(nullptr, nullptr).ok());
  for (auto& [snap, m] : snaps) {
    ReadOptions ro;
    ro.snapshot = snap;
    Status s;
    EXPECT_EQ(MapDiff(m, DumpDB(db.get(), ro, &s)), "");
    EXPECT_TRUE(s.ok());
    for (const auto& [k, v] : m) {
      std::string got;
      ASSERT_TRUE(db->Get(ro, k, &got).ok()) << k;
      EXPECT_EQ(got, v);
    }
  }
  for (auto& [snap, m] : snaps) db->ReleaseSnapshot(snap);
  ASSERT_TRUE(db->CompactRange(nullptr, nullptr).ok());
  EXPECT_EQ(MapDiff(model, DumpDB(db.get())), "");
  ASSERT_TRUE(db->Close().ok());
}

}  // namespace
}  // namespace zworld::engine::test
