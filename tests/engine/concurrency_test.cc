// Concurrency: writer threads, reader threads (Get at snapshots, iterators, Scan) and a
// maintenance thread (Flush, CompactRange, properties, long-lived snapshots) on one DB with
// tiny memtables, so flushes and compactions run all the time.
//
// Each writer w owns a group of keys g<w>/k0..k7 and writes them atomically, all with the same
// counter c (c = 1, 2, ...), together with g<w>/x = c when c is odd or a deletion of g<w>/x
// when c is even. A consistent view therefore shows, per group, either nothing (before the
// first batch) or all eight keys with one counter and x matching its parity. Writers publish
// the counter after Write returned; a view made later must show at least that counter, and a
// reader's successive views never go back in time.
//
// This file carries the ctest label `tsan`: `make test-tsan` builds it in build-tsan with
// -DZWORLD_TSAN=ON and runs it under ThreadSanitizer.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "support/test_util.h"
#include "zworld/engine/db.h"
#include "zworld/engine/env.h"
#include "zworld/engine/options.h"
#include "zworld/engine/write_batch.h"

namespace zworld::engine::test {
namespace {

constexpr int kWriters = 3;
constexpr int kReaders = 3;
constexpr int kGroupKeys = 8;

std::string GroupKey(int w, int j) {
  return std::string("g") + std::to_string(w) + std::string("/k") + std::to_string(j);
}
std::string GroupX(int w) { return std::string("g") + std::to_string(w) + "/x"; }
std::string GroupValue(int w, int j, uint64_t c) {
  return std::string("c=") + std::to_string(c) + std::string(";w=") + std::to_string(w) +
         std::string(";j=") + std::to_string(j) + ";" +
         std::string(static_cast<size_t>(20 + (c * 7 + static_cast<uint64_t>(j)) % 60), 'p');
}
// The counter in a group value, or 0 if it does not parse.
uint64_t CounterOf(const std::string& v) {
  if (v.rfind("c=", 0) != 0) return 0;
  return std::strtoull(v.c_str() + 2, nullptr, 10);
}

// What one view (snapshot, iterator or scan) showed of every group.
struct View {
  std::array<std::array<std::optional<std::string>, kGroupKeys>, kWriters> keys;
  std::array<std::optional<std::string>, kWriters> x;
};

class Shared {
 public:
  void Fail(const std::string& what) {
    std::lock_guard<std::mutex> l(mu_);
    if (first_error_.empty()) first_error_ = what;
    failed_.store(true);
  }
  bool failed() const { return failed_.load(); }
  std::string error() {
    std::lock_guard<std::mutex> l(mu_);
    return first_error_;
  }

  std::array<std::atomic<uint64_t>, kWriters> acked{};  // last counter acknowledged per writer
  std::atomic<int> writers_running{kWriters};
  std::atomic<uint64_t> views_checked{0};

 private:
  std::mutex mu_;
  std::string first_error_;
  std::atomic<bool> failed_{false};
};

// Checks a view against the rules in the file comment. lower[w]: acked before the view was
// made; upper[w]: acked after it was read (a writer may be one batch ahead of its ack).
// last_seen is the calling reader's previous counters (updated). Returns "" or an error.
std::string CheckView(const View& v, const std::array<uint64_t, kWriters>& lower,
                      const std::array<uint64_t, kWriters>& upper,
                      std::array<uint64_t, kWriters>* last_seen, const std::string& kind) {
  for (int w = 0; w < kWriters; ++w) {
    std::string where = kind + std::string(" group ") + std::to_string(w) + ": ";
    uint64_t c = 0;
    int present = 0;
    for (int j = 0; j < kGroupKeys; ++j) {
      if (!v.keys[w][j]) continue;
      ++present;
      uint64_t cj = CounterOf(*v.keys[w][j]);
      if (*v.keys[w][j] != GroupValue(w, j, cj)) return where + "bad value '" + *v.keys[w][j] + "'";
      if (present == 1) c = cj;
      if (cj != c) {
        return where + std::string("torn batch: counters ") + std::to_string(c) +
               std::string(" and ") + std::to_string(cj);
      }
    }
    if (present != 0 && present != kGroupKeys) {
      return where + std::string("torn batch: ") + std::to_string(present) + " of " +
             std::to_string(kGroupKeys) + " keys";
    }
    if (present == 0) {
      if (v.x[w]) return where + "x present without the group";
      if (lower[w] > 0)
        return where + std::string("empty, but counter ") + std::to_string(lower[w]) + " was acked";
    } else {
      bool odd = (c % 2) == 1;
      if (odd != v.x[w].has_value())
        return where + std::string("x does not match counter ") + std::to_string(c);
      if (v.x[w] && *v.x[w] != std::to_string(c)) {
        return where + "x = " + *v.x[w] + std::string(" with counter ") + std::to_string(c);
      }
      if (c < lower[w]) {
        return where + std::string("stale: counter ") + std::to_string(c) + " < acked " +
               std::to_string(lower[w]);
      }
      if (c > upper[w] + 1)
        return where + std::string("counter from the future ") + std::to_string(c);
    }
    if (c < (*last_seen)[w]) {
      return where + std::string("went back in time: ") + std::to_string(c) + " after " +
             std::to_string((*last_seen)[w]);
    }
    (*last_seen)[w] = c;
  }
  return "";
}

// Fills a View from (key, value) pairs in key order; returns an error for unknown keys or
// bad order.
class ViewBuilder {
 public:
  std::string Add(const Slice& key, const Slice& value) {
    if (any_ && key.compare(last_) <= 0) return "keys out of order at '" + key.ToString() + "'";
    last_ = key.ToString();
    any_ = true;
    if (key.starts_with("r/")) return "";
    for (int w = 0; w < kWriters; ++w) {
      if (key == Slice(GroupX(w))) {
        view.x[w] = value.ToString();
        return "";
      }
      for (int j = 0; j < kGroupKeys; ++j) {
        if (key == Slice(GroupKey(w, j))) {
          view.keys[w][j] = value.ToString();
          return "";
        }
      }
    }
    return "unknown key '" + key.ToString() + "'";
  }
  View view;

 private:
  std::string last_;
  bool any_ = false;
};

std::array<uint64_t, kWriters> Acked(Shared* sh) {
  std::array<uint64_t, kWriters> a;
  for (int w = 0; w < kWriters; ++w) a[w] = sh->acked[w].load(std::memory_order_acquire);
  return a;
}

void WriterMain(DB* db, Shared* sh, int w, uint64_t batches) {
  for (uint64_t c = 1; c <= batches && !sh->failed(); ++c) {
    WriteBatch b;
    for (int j = 0; j < kGroupKeys; ++j) b.Put(GroupKey(w, j), GroupValue(w, j, c));
    if (c % 2 == 1) {
      b.Put(GroupX(w), std::to_string(c));
    } else {
      b.Delete(GroupX(w));
    }
    WriteOptions wo;
    wo.sync = (c % 97) == 0;
    Status s = db->Write(wo, b);
    if (!s.ok()) return sh->Fail(std::string("writer ") + std::to_string(w) + ": " + s.ToString());
    sh->acked[w].store(c, std::memory_order_release);
    // Read your own write.
    std::string v;
    s = db->Get(ReadOptions(), GroupKey(w, static_cast<int>(c % kGroupKeys)), &v);
    if (!s.ok() || CounterOf(v) != c) {
      return sh->Fail(std::string("writer ") + std::to_string(w) + " reads back counter " +
                      std::to_string(CounterOf(v)) + std::string(" after writing ") +
                      std::to_string(c) + ": " + s.ToString());
    }
  }
  sh->writers_running.fetch_sub(1);
}

// Random keys outside the groups so tables hold more than the groups and deletions are mixed
// in; at most max_ops of them.
void NoiseWriterMain(DB* db, Shared* sh, uint64_t seed, uint64_t max_ops) {
  Random rnd(seed);
  for (uint64_t i = 0; i < max_ops && sh->writers_running.load() > 0 && !sh->failed(); ++i) {
    std::string k = std::string("r/") + NumberKey(rnd.Uniform(2000), 5);
    Status s = rnd.OneIn(3) ? db->Delete(WriteOptions(), k)
                            : db->Put(WriteOptions(), k, rnd.Printable(rnd.Range(0, 200)));
    if (!s.ok()) return sh->Fail("noise writer: " + s.ToString());
  }
}

void ReaderMain(DB* db, Shared* sh, uint64_t seed) {
  Random rnd(seed);
  std::array<uint64_t, kWriters> last_seen{};
  while (sh->writers_running.load() > 0 && !sh->failed()) {
    std::array<uint64_t, kWriters> lower = Acked(sh);
    std::string err;
    std::string kind;
    View view;
    switch (rnd.Uniform(4)) {
      case 0: {  // point reads at a snapshot
        kind = "Get@snapshot";
        const Snapshot* snap = db->GetSnapshot();
        ReadOptions ro;
        ro.snapshot = snap;
        for (int w = 0; w < kWriters && err.empty(); ++w) {
          for (int j = 0; j <= kGroupKeys && err.empty(); ++j) {
            std::string key = j == kGroupKeys ? GroupX(w) : GroupKey(w, j);
            std::string v;
            Status s = db->Get(ro, key, &v);
            if (s.ok()) {
              (j == kGroupKeys ? view.x[w] : view.keys[w][j]) = v;
            } else if (!s.IsNotFound()) {
              err = "Get " + key + ": " + s.ToString();
            }
          }
        }
        db->ReleaseSnapshot(snap);
        break;
      }
      case 1: {  // forward iteration
        kind = "iterator";
        std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
        ViewBuilder vb;
        for (it->SeekToFirst(); it->Valid() && err.empty(); it->Next()) {
          err = vb.Add(it->key(), it->value());
        }
        if (err.empty() && !it->status().ok()) err = "iterator: " + it->status().ToString();
        view = vb.view;
        break;
      }
      case 2: {  // backward iteration over the groups only, at an explicit snapshot
        kind = "reverse iterator";
        const Snapshot* snap = db->GetSnapshot();
        ReadOptions ro;
        ro.snapshot = snap;
        std::unique_ptr<Iterator> it = db->NewIterator(ro);
        std::vector<std::pair<std::string, std::string>> rev;
        it->Seek("r/");
        if (it->Valid())
          it->Prev();
        else
          it->SeekToLast();
        for (; it->Valid(); it->Prev()) {
          if (it->key().starts_with("r/")) {
            err = "reverse iterator at r/ key after seeking before them";
            break;
          }
          rev.emplace_back(it->key().ToString(), it->value().ToString());
        }
        if (err.empty() && !it->status().ok()) err = "iterator: " + it->status().ToString();
        ViewBuilder vb;
        for (auto r = rev.rbegin(); r != rev.rend() && err.empty(); ++r)
          err = vb.Add(r->first, r->second);
        view = vb.view;
        it.reset();
        db->ReleaseSnapshot(snap);
        break;
      }
      default: {  // the bulk scan path over the groups
        kind = "Scan";
        struct V : ScanVisitor {
          ViewBuilder vb;
          std::string err;
          Next Visit(std::span<const ScanEntry> run, std::string*) override {
            for (const ScanEntry& e : run) {
              err = vb.Add(e.key, e.value);
              if (!err.empty()) return Next::kStop;
            }
            return Next::kContinue;
          }
        } v;
        Status s = db->Scan(ReadOptions(), "g", "h", ScanOptions(), &v);
        err = v.err;
        if (err.empty() && !s.ok()) err = "Scan: " + s.ToString();
        view = v.vb.view;
        break;
      }
    }
    std::array<uint64_t, kWriters> upper = Acked(sh);
    if (err.empty()) err = CheckView(view, lower, upper, &last_seen, kind);
    if (!err.empty()) return sh->Fail(err);
    sh->views_checked.fetch_add(1);
  }
}

// Flushes, compactions, properties, and a snapshot held across them that must not change.
void MaintenanceMain(DB* db, Shared* sh, uint64_t seed) {
  Random rnd(seed);
  while (sh->writers_running.load() > 0 && !sh->failed()) {
    const Snapshot* snap = db->GetSnapshot();
    ReadOptions ro;
    ro.snapshot = snap;
    std::map<std::string, std::string> before = DumpDB(db, ro);
    Status s;
    if (rnd.OneIn(2)) {
      s = db->Flush();
      if (!s.ok()) return sh->Fail("Flush: " + s.ToString());
    }
    if (rnd.OneIn(3)) {
      std::string a = std::string("g") + std::to_string(rnd.Uniform(kWriters)), b = a + "~";
      Slice sa(a), sb(b);
      s = rnd.OneIn(2) ? db->CompactRange(nullptr, nullptr) : db->CompactRange(&sa, &sb);
      if (!s.ok()) return sh->Fail("CompactRange: " + s.ToString());
    }
    std::string prop;
    if (!db->GetProperty("zworld.stats", &prop)) return sh->Fail("no zworld.stats");
    db->GetProperty("zworld.num-files-at-level0", &prop);
    db->GetProperty("zworld.sstables", &prop);
    db->GetProperty("zworld.approximate-memory-usage", &prop);
    (void)db->GetStats();
    Status ds;
    std::map<std::string, std::string> after = DumpDB(db, ro, &ds);
    db->ReleaseSnapshot(snap);
    if (!ds.ok()) return sh->Fail("snapshot dump: " + ds.ToString());
    std::string diff = MapDiff(before, after);
    if (!diff.empty()) return sh->Fail("a snapshot changed across flush/compaction: " + diff);
    std::this_thread::sleep_for(std::chrono::milliseconds(rnd.Range(1, 10)));
  }
}

class ConcurrencyTest : public ::testing::TestWithParam<bool> {};

TEST_P(ConcurrencyTest, ReadersSeeConsistentSnapshotsDuringWritesFlushesCompactions) {
  const bool real_env = GetParam();
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  std::unique_ptr<MemEnv> mem;
  std::unique_ptr<TempDir> tmp;
  Options o;
  std::string path;
  if (real_env) {
    tmp = std::make_unique<TempDir>();
    path = tmp->Sub("db");
  } else {
    mem = NewMemEnv(Env::Default());
    o.env = mem.get();
    path = UniqueMemPath();
  }
  o.write_buffer_size = 16 << 10;
  o.target_file_size = 16 << 10;
  o.l0_compaction_trigger = 2;
  o.max_bytes_for_level_base = 64 << 10;
  o.block_size = 1024;
  o.info_log = false;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, path, &db).ok());

  // The POSIX run is bound by fsyncs of flushed tables, so it writes less.
  const uint64_t batches =
      real_env ? (UnderSanitizer() ? 400 : 1000) : (UnderSanitizer() ? 1500 : 3000);
  Shared sh;
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) threads.emplace_back(WriterMain, db.get(), &sh, w, batches);
  threads.emplace_back(NoiseWriterMain, db.get(), &sh, seed + 1, batches * 2);
  for (int r = 0; r < kReaders; ++r) {
    threads.emplace_back(ReaderMain, db.get(), &sh, seed + 100 + static_cast<uint64_t>(r));
  }
  threads.emplace_back(MaintenanceMain, db.get(), &sh, seed + 7);
  for (std::thread& t : threads) t.join();
  ASSERT_FALSE(sh.failed()) << sh.error();

  // The final state: every group at its last counter, before and after a reopen.
  auto check_final = [&](const char* when) {
    std::array<uint64_t, kWriters> last_seen{};
    ViewBuilder vb;
    Status s;
    for (const auto& [k, v] : DumpDB(db.get(), ReadOptions(), &s)) ASSERT_EQ(vb.Add(k, v), "");
    ASSERT_TRUE(s.ok());
    std::array<uint64_t, kWriters> all;
    all.fill(batches);
    ASSERT_EQ(CheckView(vb.view, all, all, &last_seen, when), "");
    for (int w = 0; w < kWriters; ++w) EXPECT_EQ(last_seen[w], batches) << when;
  };
  check_final("final");
  DBStats st = db->GetStats();
  std::fprintf(
      stderr,
      "[concurrency] %s: %llu views checked, writes=%llu write_groups=%llu "
      "flushes=%llu compactions=%llu stall_us=%llu\n",
      real_env ? "posix" : "mem", static_cast<unsigned long long>(sh.views_checked.load()),
      static_cast<unsigned long long>(st.writes), static_cast<unsigned long long>(st.write_groups),
      static_cast<unsigned long long>(st.flushes), static_cast<unsigned long long>(st.compactions),
      static_cast<unsigned long long>(st.stall_micros));
  EXPECT_GT(st.flushes, 5u);
  EXPECT_GT(sh.views_checked.load(), 10u);
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_TRUE(DB::Open(o, path, &db).ok());
  check_final("after reopen");
  ASSERT_TRUE(db->Close().ok());
}

// Group commit: many threads writing at once all get acknowledged and all land.
TEST_P(ConcurrencyTest, ManyConcurrentWritersAllLand) {
  const bool real_env = GetParam();
  std::unique_ptr<MemEnv> mem;
  std::unique_ptr<TempDir> tmp;
  Options o;
  std::string path;
  if (real_env) {
    tmp = std::make_unique<TempDir>();
    path = tmp->Sub("db");
  } else {
    mem = NewMemEnv(Env::Default());
    o.env = mem.get();
    path = UniqueMemPath();
  }
  o.write_buffer_size = 32 << 10;
  o.info_log = false;
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(o, path, &db).ok());
  const int threads_n = 8;
  const int per_thread = UnderSanitizer() ? 150 : 600;
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < threads_n; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        WriteOptions wo;
        wo.sync = (i % 50) == 0;
        // Built with += : GCC 12 at -O3 warns falsely (-Wrestrict) on "literal" + std::string.
        std::string k = NumberKey(static_cast<uint64_t>(t), 1, "t");
        k += "/";
        k += NumberKey(static_cast<uint64_t>(i), 5);
        if (!db->Put(wo, k, k + "-value").ok()) errors++;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  Status s;
  auto all = DumpDB(db.get(), ReadOptions(), &s);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(all.size(), static_cast<size_t>(threads_n * per_thread));
  for (const auto& [k, v] : all) ASSERT_EQ(v, k + "-value");
  DBStats st = db->GetStats();
  EXPECT_EQ(st.writes, static_cast<uint64_t>(threads_n * per_thread));
  EXPECT_LE(st.write_groups, st.writes);
  ASSERT_TRUE(db->Close().ok());
  db.reset();
  ASSERT_TRUE(DB::Open(o, path, &db).ok());
  EXPECT_EQ(DumpDB(db.get()).size(), static_cast<size_t>(threads_n * per_thread));
  ASSERT_TRUE(db->Close().ok());
}

INSTANTIATE_TEST_SUITE_P(Envs, ConcurrencyTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Posix") : std::string("Mem");
                         });

}  // namespace
}  // namespace zworld::engine::test
