// Corruption and fault-injection tests, on MemEnv so sweeps over many offsets stay fast.
//
// Sweeps: a database image (SSTables on several levels holding several versions of each key,
// a MANIFEST, CURRENT, and a WAL of synced batches) is copied into a fresh MemEnv per case,
// one file is damaged (a byte flipped or the file cut short), and the DB is opened and read.
// Allowed outcomes: Open or a read returns Corruption whose message names the damaged file;
// for a WAL, recovery keeps a prefix of the batches (every batch before the damage) and says
// in "zworld.recovery" that it dropped bytes. Never allowed: a crash, a wrong value, an older
// version, a deleted key coming back, NotFound for a live key.
//
// Faults: a failed WAL fsync fails the write and latches; ENOSPC in a flush or a compaction
// latches NoSpace and loses nothing acknowledged; power loss keeps every sync=true write; a
// sweep failing the Nth call of each Env operation loses nothing acknowledged.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/fault_env.h"
#include "support/test_util.h"
#include "zworld/engine/db.h"
#include "zworld/engine/env.h"
#include "zworld/engine/options.h"
#include "zworld/engine/write_batch.h"

namespace zworld::engine::test {
namespace {

using Model = std::map<std::string, std::string>;
using FileSet = std::map<std::string, std::string>;  // name in the data folder -> contents

constexpr char kDir[] = "/corrupt/db";
constexpr int kBaseKeys = 300;
constexpr int kWalBatches = 24;

Options BaseOptions(Env* env) {
  Options o;
  o.env = env;
  o.write_buffer_size = 1 << 20;  // flushes happen only when the test asks
  o.l0_compaction_trigger = 100;  // and compactions too
  o.l0_slowdown_writes_trigger = 200;
  o.l0_stop_writes_trigger = 300;
  o.block_size = 256;  // many blocks per table, so flips land in data blocks
  o.block_restart_interval = 4;
  o.bloom_bits_per_key = 10;
  o.info_log = false;
  return o;
}

std::string BaseKey(int i) { return NumberKey(static_cast<uint64_t>(i), 4); }

// The database image every sweep starts from, and what it must contain.
struct Image {
  FileSet files;
  std::vector<Model> prefix;       // prefix[i]: contents after the SSTables and i WAL batches
  std::vector<uint64_t> wal_size;  // wal_size[i]: WAL bytes after i batches (0: before any)
  std::string wal;                 // the WAL's name
  std::string manifest;
  std::vector<std::string> tables;
  std::set<uint64_t> manifest_sizes;  // MANIFEST sizes seen after each step of the build
  // The contents the DB had after each earlier MANIFEST edit, with the WAL batches replayed
  // on top: what a recovery that drops a torn MANIFEST tail may legitimately show.
  std::vector<Model> older_states;
  std::vector<std::string> keys;  // every key ever written
};

std::string CurrentManifest(Env* env) {
  std::string current;
  if (!ReadFileToString(env, std::string(kDir) + "/CURRENT", &current).ok()) return "";
  while (!current.empty() && (current.back() == '\n' || current.back() == '\r')) current.pop_back();
  return current;
}

const Image& BaseImage() {
  static const Image* image = [] {
    auto* img = new Image;
    std::unique_ptr<MemEnv> mem = NewMemEnv(Env::Default());
    Options o = BaseOptions(mem.get());
    std::unique_ptr<DB> db;
    Status s = DB::Open(o, kDir, &db);
    if (!s.ok()) {
      ADD_FAILURE() << "building the base image: " << s.ToString();
      return img;
    }
    Model m;
    std::vector<Model> sst_states;
    auto note_manifest = [&] {
      sst_states.push_back(m);
      uint64_t size;
      std::string m = CurrentManifest(mem.get());
      if (!m.empty() && mem->GetFileSize(std::string(kDir) + "/" + m, &size).ok()) {
        img->manifest_sizes.insert(size);
      }
    };
    note_manifest();
    WriteOptions wo;
    // Version 1 of every key, compacted to the bottom.
    for (int i = 0; i < kBaseKeys; ++i) {
      std::string v =
          std::string("v1-") + BaseKey(i) + std::string(static_cast<size_t>(20 + i % 50), 'a');
      EXPECT_TRUE(db->Put(wo, BaseKey(i), v).ok());
      m[BaseKey(i)] = v;
    }
    EXPECT_TRUE(db->Flush().ok());
    note_manifest();
    EXPECT_TRUE(db->CompactRange(nullptr, nullptr).ok());
    note_manifest();
    // Version 2 of the even keys in an L0 file.
    for (int i = 0; i < kBaseKeys; i += 2) {
      std::string v =
          std::string("v2-") + BaseKey(i) + std::string(static_cast<size_t>(10 + i % 30), 'b');
      EXPECT_TRUE(db->Put(wo, BaseKey(i), v).ok());
      m[BaseKey(i)] = v;
    }
    EXPECT_TRUE(db->Flush().ok());
    note_manifest();
    // Deletions and version 3 in a newer L0 file.
    for (int i = 0; i < kBaseKeys; ++i) {
      if (i % 5 == 0) {
        EXPECT_TRUE(db->Delete(wo, BaseKey(i)).ok());
        m.erase(BaseKey(i));
      } else if (i % 3 == 0) {
        std::string v = std::string("v3-") + BaseKey(i);
        EXPECT_TRUE(db->Put(wo, BaseKey(i), v).ok());
        m[BaseKey(i)] = v;
      }
    }
    EXPECT_TRUE(db->Flush().ok());
    note_manifest();
    sst_states.pop_back();  // the final state is not an older one
    img->prefix.push_back(m);
    std::vector<WriteBatch> wal_batches;

    // Synced WAL batches on top.
    std::vector<std::string> logs = FilesOfKind(mem.get(), kDir, FileKind::kLog);
    EXPECT_FALSE(logs.empty());
    img->wal = logs.empty() ? "" : logs.back();
    uint64_t size = 0;
    mem->GetFileSize(std::string(kDir) + "/" + img->wal, &size);
    img->wal_size.push_back(size);
    Random rnd(12345);
    wo.sync = true;
    for (int b = 0; b < kWalBatches; ++b) {
      WriteBatch batch;
      int n = static_cast<int>(rnd.Range(1, 4));
      for (int j = 0; j < n; ++j) {
        std::string k = BaseKey(static_cast<int>(rnd.Uniform(kBaseKeys + 20)));
        if (rnd.OneIn(4)) {
          batch.Delete(k);
          m.erase(k);
        } else {
          std::string v =
              std::string("w") + std::to_string(b) + "-" + k + rnd.Printable(rnd.Range(0, 60));
          batch.Put(k, v);
          m[k] = v;
        }
      }
      EXPECT_TRUE(db->Write(wo, batch).ok());
      wal_batches.push_back(batch);
      img->prefix.push_back(m);
      mem->GetFileSize(std::string(kDir) + "/" + img->wal, &size);
      img->wal_size.push_back(size);
    }
    EXPECT_EQ(FilesOfKind(mem.get(), kDir, FileKind::kLog).back(), img->wal)
        << "the WAL batches spilled into a second log";

    // The image: every file as it is now (everything was synced).
    std::vector<std::string> names;
    EXPECT_TRUE(mem->GetChildren(kDir, &names).ok());
    for (const std::string& n : names) {
      if (ClassifyFile(n) == FileKind::kLock || ClassifyFile(n) == FileKind::kInfoLog) continue;
      img->files[n] = ReadFileOrDie(mem.get(), std::string(kDir) + "/" + n);
    }
    img->manifest = CurrentManifest(mem.get());
    img->tables = FilesOfKind(mem.get(), kDir, FileKind::kTable);
    EXPECT_GE(img->tables.size(), 3u);
    EXPECT_TRUE(db->Close().ok());
    for (int i = 0; i < kBaseKeys + 20; ++i) img->keys.push_back(BaseKey(i));
    struct Apply : WriteBatch::Handler {
      Model* m;
      void Put(const Slice& k, const Slice& v) override { (*m)[k.ToString()] = v.ToString(); }
      void Delete(const Slice& k) override { m->erase(k.ToString()); }
    };
    for (Model& older : sst_states) {
      Apply a;
      a.m = &older;
      for (const WriteBatch& b : wal_batches) EXPECT_TRUE(b.Iterate(&a).ok());
      img->older_states.push_back(older);
    }
    std::fprintf(stderr, "[image] wal %s (%llu bytes), manifest %s (%zu bytes), %zu tables:",
                 img->wal.c_str(), static_cast<unsigned long long>(img->wal_size.back()),
                 img->manifest.c_str(), img->files[img->manifest].size(), img->tables.size());
    for (const std::string& t : img->tables)
      std::fprintf(stderr, " %s (%zu)", t.c_str(), img->files[t].size());
    std::fprintf(stderr, "\n");
    return img;
  }();
  return *image;
}

// A fresh MemEnv holding files.
std::unique_ptr<MemEnv> EnvWith(const FileSet& files) {
  std::unique_ptr<MemEnv> mem = NewMemEnv(Env::Default());
  EXPECT_TRUE(mem->CreateDir("/corrupt").ok());
  EXPECT_TRUE(mem->CreateDir(kDir).ok());
  for (const auto& [name, data] : files) {
    EXPECT_TRUE(OverwriteFile(mem.get(), std::string(kDir) + "/" + name, data).ok());
  }
  return mem;
}

bool Names(const Status& s, const std::string& file) {
  return s.message().find(file) != std::string::npos;
}

// Offsets to damage in a file of size n: all of the first and last 48 bytes, and `samples`
// more spread over the rest.
std::vector<uint64_t> Offsets(uint64_t n, int samples, Random* rnd) {
  std::set<uint64_t> out;
  for (uint64_t i = 0; i < std::min<uint64_t>(n, 48); ++i) out.insert(i);
  for (uint64_t i = n > 48 ? n - 48 : 0; i < n; ++i) out.insert(i);
  for (int i = 0; i < samples && n > 0; ++i) out.insert(rnd->Uniform(n));
  return {out.begin(), out.end()};
}

int Scaled(int n) { return UnderSanitizer() ? n / 3 : n; }

// Tallies of how damaged databases behaved, printed at the end of a sweep.
struct Tally {
  int cases = 0, open_corruption = 0, read_corruption = 0, undetected_harmless = 0,
      recovered_prefix = 0, silent_loss_at_boundary = 0, manifest_tail_dropped = 0;
  std::string Summary() const {
    return std::to_string(cases) + std::string(" cases: Open->Corruption ") +
           std::to_string(open_corruption) + std::string(", read->Corruption ") +
           std::to_string(read_corruption) + ", recovered WAL prefix " +
           std::to_string(recovered_prefix) + ", damage with no effect " +
           std::to_string(undetected_harmless) + ", MANIFEST tail dropped and reported " +
           std::to_string(manifest_tail_dropped) +
           ", MANIFEST cut at a record boundary (older state, unreported) " +
           std::to_string(silent_loss_at_boundary);
  }
};

// Reads everything from db, expecting m; a read may instead fail with Corruption naming file.
// Sets *corruption if any read reported one. Fails the test on any other outcome.
void CheckReadsOrCorruption(DB* db, const Model& m, const std::vector<std::string>& keys,
                            const std::string& file, bool* corruption) {
  for (const std::string& k : keys) {
    std::string v;
    ReadOptions ro;
    ro.verify_checksums = (k.back() % 2) == 0;
    Status s = db->Get(ro, k, &v);
    auto it = m.find(k);
    if (s.IsCorruption()) {
      EXPECT_TRUE(Names(s, file)) << "Get '" << k << "': " << s.ToString() << " (expected " << file
                                  << " in the message)";
      *corruption = true;
    } else if (it == m.end()) {
      ASSERT_TRUE(s.IsNotFound()) << "Get '" << k << "' (deleted): " << s.ToString() << " '"
                                  << Escape(v) << "'";
    } else {
      ASSERT_TRUE(s.ok()) << "Get '" << k << "' (live): " << s.ToString();
      ASSERT_EQ(v, it->second) << "Get '" << k << "' returned a wrong value";
    }
  }
  // A full iteration: every entry handed out is right and in order; entries may be missing
  // only if the iterator ends with Corruption.
  for (bool backward : {false, true}) {
    std::unique_ptr<Iterator> it = db->NewIterator(ReadOptions());
    size_t seen = 0;
    std::string last;
    for (backward ? it->SeekToLast() : it->SeekToFirst(); it->Valid();
         backward ? it->Prev() : it->Next()) {
      std::string k = it->key().ToString();
      auto mit = m.find(k);
      ASSERT_NE(mit, m.end()) << "iterator returned deleted/unknown key '" << Escape(k) << "'";
      ASSERT_EQ(it->value().ToString(), mit->second) << "iterator: wrong value for '" << k << "'";
      if (seen > 0) {
        ASSERT_TRUE(backward ? k < last : k > last) << "iterator out of order";
      }
      last = k;
      ++seen;
    }
    Status s = it->status();
    if (s.IsCorruption()) {
      EXPECT_TRUE(Names(s, file)) << s.ToString();
      *corruption = true;
    } else {
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(seen, m.size()) << "iterator lost entries without reporting an error";
    }
  }
  // The bulk scan path.
  struct Collect : ScanVisitor {
    std::vector<std::pair<std::string, std::string>> got;
    Next Visit(std::span<const ScanEntry> run, std::string*) override {
      for (const ScanEntry& e : run) got.emplace_back(e.key.ToString(), e.value.ToString());
      return Next::kContinue;
    }
  } c;
  Status s = db->Scan(ReadOptions(), "", "", ScanOptions(), &c);
  for (size_t i = 0; i < c.got.size(); ++i) {
    auto mit = m.find(c.got[i].first);
    ASSERT_NE(mit, m.end()) << "Scan returned deleted/unknown key '" << Escape(c.got[i].first)
                            << "'";
    ASSERT_EQ(c.got[i].second, mit->second) << "Scan: wrong value for '" << c.got[i].first << "'";
    if (i > 0) {
      ASSERT_LT(c.got[i - 1].first, c.got[i].first) << "Scan out of order";
    }
  }
  if (s.IsCorruption()) {
    EXPECT_TRUE(Names(s, file)) << s.ToString();
    *corruption = true;
  } else {
    ASSERT_TRUE(s.ok()) << "Scan: " << s.ToString();
    ASSERT_EQ(c.got.size(), m.size()) << "Scan lost entries without reporting an error";
  }
}

// Opens files (with `file` damaged) and checks that the DB either refuses with Corruption
// naming file or serves exactly `expect` (reads may fail with Corruption naming file). Then a
// full compaction: if it succeeds the data must be exactly right; and again after a reopen.
// For MANIFEST damage (older != null) the DB may also show one of the older states, if the
// recovery reported a dropped MANIFEST tail (or, at_boundary, the MANIFEST was cut exactly
// after a whole edit, which no reader can tell from an older MANIFEST).
void CheckDamagedNonWal(const FileSet& files, const std::string& file, const Model& expect,
                        const std::vector<std::string>& keys, Tally* tally,
                        const std::vector<Model>* older = nullptr, bool at_boundary = false) {
  tally->cases++;
  std::unique_ptr<MemEnv> mem = EnvWith(files);
  Options o = BaseOptions(mem.get());
  std::unique_ptr<DB> db;
  Status s = DB::Open(o, kDir, &db);
  if (!s.ok()) {
    ASSERT_TRUE(s.IsCorruption()) << "Open: " << s.ToString() << " (expected Corruption)";
    ASSERT_TRUE(Names(s, file)) << "Open: " << s.ToString() << " does not name " << file;
    tally->open_corruption++;
    return;
  }
  if (older != nullptr) {
    Status ds;
    Model got = DumpDB(db.get(), ReadOptions(), &ds);
    if (ds.ok() && got != expect) {
      bool is_older = std::find(older->begin(), older->end(), got) != older->end();
      int64_t torn = RecoveryManifestTornBytes(db.get());
      ASSERT_TRUE(is_older) << "MANIFEST damage gave a state that never existed: "
                            << MapDiff(expect, got);
      if (torn > 0) {
        tally->manifest_tail_dropped++;
      } else {
        ASSERT_TRUE(at_boundary) << "MANIFEST damage gave an older state without reporting a "
                                    "dropped tail (zworld.recovery)";
        tally->silent_loss_at_boundary++;
      }
      db->Close();
      return;
    }
  }
  bool corruption = false;
  {
    SCOPED_TRACE("reads after Open");
    ASSERT_NO_FATAL_FAILURE(CheckReadsOrCorruption(db.get(), expect, keys, file, &corruption));
  }
  SCOPED_TRACE("after a full compaction");
  s = db->CompactRange(nullptr, nullptr);
  if (s.ok()) {
    Status ds;
    Model got = DumpDB(db.get(), ReadOptions(), &ds);
    if (!ds.ok()) {
      ASSERT_TRUE(ds.IsCorruption()) << ds.ToString();
      corruption = true;
    } else {
      ASSERT_EQ(MapDiff(expect, got), "") << "after a successful full compaction";
    }
  } else {
    ASSERT_TRUE(s.IsCorruption()) << "CompactRange: " << s.ToString();
    EXPECT_TRUE(Names(s, file)) << "CompactRange: " << s.ToString();
    corruption = true;
  }
  db->Close();  // may report the latched error
  db.reset();
  SCOPED_TRACE("after a reopen");
  s = DB::Open(o, kDir, &db);
  if (s.ok()) {
    ASSERT_NO_FATAL_FAILURE(CheckReadsOrCorruption(db.get(), expect, keys, file, &corruption));
    db->Close();
  } else {
    ASSERT_TRUE(s.IsCorruption()) << "reopen: " << s.ToString();
    corruption = true;
  }
  if (corruption) {
    tally->read_corruption++;
  } else {
    tally->undetected_harmless++;
  }
}

std::string Flip(std::string data, uint64_t offset, uint8_t mask) {
  data[offset] = static_cast<char>(data[offset] ^ mask);
  return data;
}

class CorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(BaseImage().files.empty()) << "no base image"; }
};

TEST_F(CorruptionTest, IntactImageOpensWithAllData) {
  const Image& img = BaseImage();
  std::unique_ptr<MemEnv> mem = EnvWith(img.files);
  std::unique_ptr<DB> db;
  ASSERT_TRUE(DB::Open(BaseOptions(mem.get()), kDir, &db).ok());
  Status s;
  EXPECT_EQ(MapDiff(img.prefix.back(), DumpDB(db.get(), ReadOptions(), &s)), "");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(RecoveryDroppedBytes(db.get()), 0) << "an intact WAL must not report dropped bytes";
  ASSERT_TRUE(db->Close().ok());
}

TEST_F(CorruptionTest, SSTableFlips) {
  const Image& img = BaseImage();
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  Random rnd(seed);
  Tally tally;
  for (const std::string& t : img.tables) {
    const std::string& data = img.files.at(t);
    for (uint64_t off : Offsets(data.size(), Scaled(500), &rnd)) {
      uint8_t mask = static_cast<uint8_t>(rnd.OneIn(2) ? 1u << rnd.Uniform(8) : rnd.Range(1, 255));
      SCOPED_TRACE(t + std::string(" byte ") + std::to_string(off) + std::string(" ^= ") +
                   std::to_string(mask));
      FileSet files = img.files;
      files[t] = Flip(data, off, mask);
      ASSERT_NO_FATAL_FAILURE(CheckDamagedNonWal(files, t, img.prefix.back(), img.keys, &tally));
    }
  }
  std::fprintf(stderr, "[sst flips] %s\n", tally.Summary().c_str());
  EXPECT_GT(tally.open_corruption + tally.read_corruption, tally.cases / 2)
      << "most flips in an SSTable should be detected";
}

TEST_F(CorruptionTest, SSTableTruncations) {
  const Image& img = BaseImage();
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  Random rnd(seed);
  Tally tally;
  for (const std::string& t : img.tables) {
    const std::string& data = img.files.at(t);
    for (uint64_t len : Offsets(data.size(), Scaled(80), &rnd)) {
      SCOPED_TRACE(t + std::string(" cut to ") + std::to_string(len) + std::string(" of ") +
                   std::to_string(data.size()));
      FileSet files = img.files;
      files[t] = data.substr(0, len);
      ASSERT_NO_FATAL_FAILURE(CheckDamagedNonWal(files, t, img.prefix.back(), img.keys, &tally));
    }
  }
  std::fprintf(stderr, "[sst truncations] %s\n", tally.Summary().c_str());
  EXPECT_EQ(tally.undetected_harmless, 0) << "a truncated SSTable went unnoticed";
}

TEST_F(CorruptionTest, ManifestFlipsAndTruncations) {
  const Image& img = BaseImage();
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  Random rnd(seed);
  const std::string& data = img.files.at(img.manifest);
  Tally flips, cuts;
  for (uint64_t off = 0; off < data.size(); ++off) {
    uint8_t mask = static_cast<uint8_t>(rnd.Range(1, 255));
    SCOPED_TRACE(img.manifest + std::string(" byte ") + std::to_string(off) + std::string(" ^= ") +
                 std::to_string(mask));
    FileSet files = img.files;
    files[img.manifest] = Flip(data, off, mask);
    ASSERT_NO_FATAL_FAILURE(CheckDamagedNonWal(files, "MANIFEST", img.prefix.back(), img.keys,
                                               &flips, &img.older_states));
  }
  for (uint64_t len = 0; len < data.size(); ++len) {
    SCOPED_TRACE(img.manifest + std::string(" cut to ") + std::to_string(len));
    FileSet files = img.files;
    files[img.manifest] = data.substr(0, len);
    // A MANIFEST cut exactly after a whole edit reads as an older, valid MANIFEST; the
    // engine cannot tell (counted and printed, not failed).
    bool boundary = img.manifest_sizes.count(len) > 0;
    ASSERT_NO_FATAL_FAILURE(CheckDamagedNonWal(files, "MANIFEST", img.prefix.back(), img.keys,
                                               &cuts, &img.older_states, boundary));
  }
  std::fprintf(stderr, "[manifest flips] %s\n[manifest truncations] %s\n", flips.Summary().c_str(),
               cuts.Summary().c_str());
}

TEST_F(CorruptionTest, CurrentDamaged) {
  const Image& img = BaseImage();
  const std::string& data = img.files.at("CURRENT");
  Tally tally;
  auto check = [&](const FileSet& files) {
    tally.cases++;
    std::unique_ptr<MemEnv> mem = EnvWith(files);
    std::unique_ptr<DB> db;
    Status s = DB::Open(BaseOptions(mem.get()), kDir, &db);
    if (!s.ok()) {
      ASSERT_TRUE(s.IsCorruption()) << "Open: " << s.ToString();
      ASSERT_TRUE(Names(s, "CURRENT") || Names(s, "MANIFEST")) << s.ToString();
      tally.open_corruption++;
      return;
    }
    // Accepted: then it must be the whole database, not a fresh empty one.
    Status ds;
    ASSERT_EQ(MapDiff(img.prefix.back(), DumpDB(db.get(), ReadOptions(), &ds)), "");
    tally.undetected_harmless++;
    db->Close();
  };
  for (uint64_t off = 0; off < data.size(); ++off) {
    for (uint8_t mask : {uint8_t{1}, uint8_t{0x20}, uint8_t{0xff}}) {
      SCOPED_TRACE(std::string("CURRENT byte ") + std::to_string(off) + std::string(" ^= ") +
                   std::to_string(mask));
      FileSet files = img.files;
      files["CURRENT"] = Flip(data, off, mask);
      ASSERT_NO_FATAL_FAILURE(check(files));
    }
  }
  for (uint64_t len = 0; len < data.size(); ++len) {
    SCOPED_TRACE(std::string("CURRENT cut to ") + std::to_string(len));
    FileSet files = img.files;
    files["CURRENT"] = data.substr(0, len);
    ASSERT_NO_FATAL_FAILURE(check(files));
  }
  {
    SCOPED_TRACE("CURRENT missing, MANIFEST present");
    FileSet files = img.files;
    files.erase("CURRENT");
    tally.cases++;
    std::unique_ptr<MemEnv> mem = EnvWith(files);
    std::unique_ptr<DB> db;
    Status s = DB::Open(BaseOptions(mem.get()), kDir, &db);
    // Creating a fresh database over the old files would hide all the data.
    if (s.ok()) {
      Status ds;
      EXPECT_EQ(MapDiff(img.prefix.back(), DumpDB(db.get(), ReadOptions(), &ds)), "")
          << "Open without CURRENT made a new empty database over existing files";
      db->Close();
    }
  }
  std::fprintf(stderr, "[CURRENT] %s\n", tally.Summary().c_str());
}

// WAL damage at byte `at` (flip) or a cut to length `at`: the DB refuses with Corruption naming
// the WAL, or recovers batches 1..P with P >= every batch wholly before `at`, and reports
// dropped bytes when P < all. Cuts must always recover (a torn tail).
void CheckDamagedWal(const Image& img, const std::string& wal_data, uint64_t at, bool is_cut,
                     Tally* tally) {
  tally->cases++;
  FileSet files = img.files;
  files[img.wal] = wal_data;
  std::unique_ptr<MemEnv> mem = EnvWith(files);
  Options o = BaseOptions(mem.get());
  std::unique_ptr<DB> db;
  Status s = DB::Open(o, kDir, &db);
  // Batches wholly before the damage.
  size_t min_p = 0;
  while (min_p + 1 < img.wal_size.size() && img.wal_size[min_p + 1] <= at) ++min_p;
  const size_t all = img.wal_size.size() - 1;
  if (!s.ok()) {
    ASSERT_TRUE(s.IsCorruption()) << "Open: " << s.ToString();
    ASSERT_TRUE(Names(s, img.wal)) << "Open: " << s.ToString() << " does not name " << img.wal;
    // A cut is a torn tail and must be recovered, unless it cut into the file's header.
    ASSERT_TRUE(!is_cut || at < img.wal_size[0])
        << "a WAL cut to " << at << " bytes (a torn tail) was refused: " << s.ToString();
    tally->open_corruption++;
    return;
  }
  Status ds;
  Model got = DumpDB(db.get(), ReadOptions(), &ds);
  ASSERT_TRUE(ds.ok()) << ds.ToString();
  size_t p = min_p;
  while (p <= all && got != img.prefix[p]) ++p;
  ASSERT_LE(p, all) << "recovered state is not batches 1..P for any P >= " << min_p
                    << "; vs batches 1.." << min_p << ": " << MapDiff(img.prefix[min_p], got)
                    << "; vs all: " << MapDiff(img.prefix[all], got);
  if (is_cut) {
    // Exactly the whole records before the cut.
    size_t exact = 0;
    while (exact + 1 < img.wal_size.size() && img.wal_size[exact + 1] <= at) ++exact;
    ASSERT_EQ(p, exact) << "a cut WAL must keep every whole record before the cut";
  }
  int64_t dropped = RecoveryDroppedBytes(db.get());
  if (is_cut && at < img.wal_size[0]) {
    // Cut inside the file's header: nothing to say about dropped bytes.
  } else if (is_cut) {
    // A cut inside a record drops the record's bytes; a cut on a boundary drops nothing.
    if (at > img.wal_size[p]) {
      EXPECT_EQ(dropped, static_cast<int64_t>(at - img.wal_size[p]))
          << "zworld.recovery should report the " << at - img.wal_size[p]
          << " bytes of the torn record";
    } else {
      EXPECT_EQ(dropped, 0) << "a WAL cut on a record boundary lost nothing";
    }
  } else if (p < all && at >= img.wal_size[0]) {
    EXPECT_GT(dropped, 0) << "recovery dropped batches " << p + 1 << ".." << all
                          << " without saying so in zworld.recovery";
  }
  if (p == all && !is_cut)
    tally->undetected_harmless++;
  else
    tally->recovered_prefix++;
  for (size_t i = 0; i < img.keys.size(); i += 5) {
    std::string v;
    Status gs = db->Get(ReadOptions(), img.keys[i], &v);
    auto it = img.prefix[p].find(img.keys[i]);
    if (it == img.prefix[p].end()) {
      ASSERT_TRUE(gs.IsNotFound()) << img.keys[i] << ": " << gs.ToString();
    } else {
      ASSERT_TRUE(gs.ok()) << img.keys[i] << ": " << gs.ToString();
      ASSERT_EQ(v, it->second);
    }
  }
  // New writes after a recovery that dropped a tail must survive the next recovery (they must
  // not land behind the garbage).
  WriteOptions wo;
  wo.sync = true;
  ASSERT_TRUE(db->Put(wo, "zz-after-recovery", "1").ok());
  ASSERT_TRUE(db->Put(wo, "zz-after-recovery-2", "2").ok());
  db.reset();
  ASSERT_TRUE(DB::Open(o, kDir, &db).ok());
  Model expect = img.prefix[p];
  expect["zz-after-recovery"] = "1";
  expect["zz-after-recovery-2"] = "2";
  ASSERT_EQ(MapDiff(expect, DumpDB(db.get(), ReadOptions(), &ds)), "")
      << "after writing on top of the recovered WAL and reopening";
  db->Close();
}

TEST_F(CorruptionTest, WalTruncations) {
  const Image& img = BaseImage();
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  Random rnd(seed);
  const std::string& data = img.files.at(img.wal);
  Tally tally;
  // Every record boundary, and the bytes around it, and samples in between.
  std::set<uint64_t> cuts;
  for (uint64_t b : img.wal_size) {
    for (uint64_t d = 0; d < 3; ++d) {
      if (b >= d) cuts.insert(b - d);
      if (b + d < data.size()) cuts.insert(b + d);
    }
  }
  // Every length (the WAL is about 2 KiB); a sample under sanitizers.
  if (UnderSanitizer()) {
    for (uint64_t off : Offsets(data.size(), 300, &rnd)) cuts.insert(off);
  } else {
    for (uint64_t len = 0; len <= data.size(); ++len) cuts.insert(len);
  }
  for (uint64_t len : cuts) {
    if (len > data.size()) continue;
    SCOPED_TRACE(img.wal + std::string(" cut to ") + std::to_string(len) + std::string(" of ") +
                 std::to_string(data.size()));
    ASSERT_NO_FATAL_FAILURE(CheckDamagedWal(img, data.substr(0, len), len, true, &tally));
  }
  std::fprintf(stderr, "[wal truncations] %s\n", tally.Summary().c_str());
}

TEST_F(CorruptionTest, WalFlips) {
  const Image& img = BaseImage();
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  Random rnd(seed);
  const std::string& data = img.files.at(img.wal);
  Tally tally;
  std::vector<uint64_t> offsets = Offsets(data.size(), 300, &rnd);
  if (!UnderSanitizer()) {
    offsets.clear();  // every byte
    for (uint64_t off = 0; off < data.size(); ++off) offsets.push_back(off);
  }
  for (uint64_t off : offsets) {
    uint8_t mask = static_cast<uint8_t>(rnd.OneIn(2) ? 1u << rnd.Uniform(8) : rnd.Range(1, 255));
    SCOPED_TRACE(img.wal + std::string(" byte ") + std::to_string(off) + std::string(" ^= ") +
                 std::to_string(mask));
    ASSERT_NO_FATAL_FAILURE(CheckDamagedWal(img, Flip(data, off, mask), off, false, &tally));
  }
  std::fprintf(stderr, "[wal flips] %s\n", tally.Summary().c_str());
  EXPECT_EQ(tally.undetected_harmless, 0) << "a flipped WAL byte went unnoticed";
}

// ---------------------------------------------------------------------------------------------
// Fault injection.

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mem_ = NewMemEnv(Env::Default());
    env_ = std::make_unique<FaultEnv>(mem_.get());
    options_.env = env_.get();
    options_.info_log = false;
    path_ = UniqueMemPath();
  }

  void Open() {
    Status s = DB::Open(options_, path_, &db_);
    ASSERT_TRUE(s.ok()) << "Open: " << s.ToString();
  }
  void Reopen() {
    if (db_) db_->Close();
    db_.reset();
    env_->ClearFaults();
    ASSERT_NO_FATAL_FAILURE(Open());
  }

  // Write i: key "f<i>" (unique), value derived from i.
  static std::string K(uint64_t i) { return NumberKey(i, 7, "f"); }
  static std::string V(uint64_t i) {
    return std::string("value-") + std::to_string(i) + std::string(i % 97, 'x');
  }

  // Every acknowledged write is there; every failed one is there with its value or absent;
  // nothing else.
  void CheckAcked(const std::set<uint64_t>& acked, const std::set<uint64_t>& failed) {
    Status s;
    Model got = DumpDB(db_.get(), ReadOptions(), &s);
    ASSERT_TRUE(s.ok()) << s.ToString();
    for (uint64_t i : acked) {
      auto it = got.find(K(i));
      ASSERT_NE(it, got.end()) << "acknowledged write " << i << " lost";
      ASSERT_EQ(it->second, V(i)) << "write " << i;
      got.erase(it);
    }
    for (uint64_t i : failed) {
      auto it = got.find(K(i));
      if (it != got.end()) {
        ASSERT_EQ(it->second, V(i)) << "failed write " << i << " has a wrong value";
        got.erase(it);
      }
    }
    ASSERT_TRUE(got.empty()) << "unexpected key '" << Escape(got.begin()->first) << "'";
  }

  std::unique_ptr<MemEnv> mem_;
  std::unique_ptr<FaultEnv> env_;
  Options options_;
  std::string path_;
  std::unique_ptr<DB> db_;
};

TEST_F(FaultTest, FailedWalSyncFailsTheWriteAndLatches) {
  ASSERT_NO_FATAL_FAILURE(Open());
  WriteOptions sync;
  sync.sync = true;
  std::set<uint64_t> acked, failed;
  for (uint64_t i = 0; i < 20; ++i) {
    ASSERT_TRUE(db_->Put(sync, K(i), V(i)).ok());
    acked.insert(i);
  }
  env_->FailNth(FaultOp::kSync, 1, FaultError::kIOError, ".log");
  Status s = db_->Put(sync, K(20), V(20));
  ASSERT_FALSE(s.ok()) << "a write whose WAL fsync failed was acknowledged";
  EXPECT_TRUE(s.IsIOError()) << s.ToString();
  failed.insert(20);
  EXPECT_EQ(env_->InjectedFaults(), 1u);
  // Latched: later writes fail too, synced or not, without touching the disk.
  for (uint64_t i = 21; i < 25; ++i) {
    WriteOptions wo;
    wo.sync = (i % 2) == 0;
    Status ls = db_->Put(wo, K(i), V(i));
    EXPECT_FALSE(ls.ok()) << "write " << i << " after a failed fsync was acknowledged";
    EXPECT_EQ(ls.code(), s.code()) << ls.ToString();
  }
  WriteBatch b;
  b.Put(K(25), V(25));
  EXPECT_FALSE(db_->Write(WriteOptions(), b).ok());
  EXPECT_FALSE(db_->Flush().ok()) << "Flush after a latched WAL error";
  // Reads of acknowledged data still work.
  std::string v;
  ASSERT_TRUE(db_->Get(ReadOptions(), K(3), &v).ok());
  EXPECT_EQ(v, V(3));

  // Power loss now: the write whose sync failed may vanish, acknowledged ones may not.
  env_->SetFrozen(true);
  env_->DropUnsyncedData();
  db_.reset();
  env_->SetFrozen(false);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
  // The reopened DB writes again.
  ASSERT_TRUE(db_->Put(sync, K(30), V(30)).ok());
  acked.insert(30);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
}

TEST_F(FaultTest, NoSpaceInFlushLatchesAndLosesNothing) {
  options_.write_buffer_size = 8 << 10;
  ASSERT_NO_FATAL_FAILURE(Open());
  std::set<uint64_t> acked, failed;
  uint64_t i = 0;
  for (; i < 200; ++i) {
    ASSERT_TRUE(db_->Put(WriteOptions(), K(i), V(i)).ok());
    acked.insert(i);
  }
  env_->FailFrom(FaultOp::kAppend, 1, FaultError::kNoSpace, ".sst");
  Status s;
  for (; i < 5000; ++i) {
    s = db_->Put(WriteOptions(), K(i), V(i));
    if (!s.ok()) {
      failed.insert(i);
      break;
    }
    acked.insert(i);
  }
  ASSERT_FALSE(s.ok()) << "5000 writes with 8 KiB memtables and a full disk all succeeded";
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  Status s2 = db_->Put(WriteOptions(), K(i + 1), V(i + 1));
  EXPECT_TRUE(s2.IsNoSpace()) << "not latched: " << s2.ToString();
  failed.insert(i + 1);
  EXPECT_TRUE(db_->Flush().IsNoSpace());
  // Acknowledged data is still readable from memory.
  for (uint64_t k : {uint64_t{0}, *acked.rbegin()}) {
    std::string v;
    Status gs = db_->Get(ReadOptions(), K(k), &v);
    EXPECT_TRUE(gs.ok()) << gs.ToString();
  }
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
  ASSERT_TRUE(db_->Flush().ok());
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
}

TEST_F(FaultTest, NoSpaceInCompactionLatchesAndLosesNothing) {
  options_.write_buffer_size = 64 << 10;
  options_.l0_compaction_trigger = 50;
  options_.l0_slowdown_writes_trigger = 60;
  options_.l0_stop_writes_trigger = 70;
  ASSERT_NO_FATAL_FAILURE(Open());
  std::set<uint64_t> acked, failed;
  for (uint64_t i = 0; i < 600; ++i) {
    ASSERT_TRUE(db_->Put(WriteOptions(), K(i), V(i)).ok());
    acked.insert(i);
    if (i % 200 == 199) {
      ASSERT_TRUE(db_->Flush().ok());
    }
  }
  std::string l0;
  ASSERT_TRUE(db_->GetProperty("zworld.num-files-at-level0", &l0));
  EXPECT_EQ(l0, "3");
  env_->FailFrom(FaultOp::kAppend, 1, FaultError::kNoSpace, ".sst");
  Status s = db_->CompactRange(nullptr, nullptr);
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  Status ws = db_->Put(WriteOptions(), K(1000), V(1000));
  EXPECT_TRUE(ws.IsNoSpace()) << "compaction error not latched: " << ws.ToString();
  failed.insert(1000);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
  ASSERT_TRUE(db_->CompactRange(nullptr, nullptr).ok());
  ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
}

TEST_F(FaultTest, NoSpaceOnWalAppendFailsTheWrite) {
  ASSERT_NO_FATAL_FAILURE(Open());
  std::set<uint64_t> acked, failed;
  for (uint64_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(db_->Put(WriteOptions(), K(i), V(i)).ok());
    acked.insert(i);
  }
  env_->FailNth(FaultOp::kAppend, 1, FaultError::kNoSpace, ".log");
  Status s = db_->Put(WriteOptions(), K(10), V(10));
  EXPECT_TRUE(s.IsNoSpace()) << s.ToString();
  failed.insert(10);
  std::string v;
  EXPECT_TRUE(db_->Get(ReadOptions(), K(10), &v).IsNotFound()) << "a failed write is visible";
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
}

TEST_F(FaultTest, TornWalAppendRecoversUpToTheTear) {
  ASSERT_NO_FATAL_FAILURE(Open());
  WriteOptions sync;
  sync.sync = true;
  std::set<uint64_t> acked, failed;
  for (uint64_t i = 0; i < 30; ++i) {
    ASSERT_TRUE(db_->Put(sync, K(i), V(i)).ok());
    acked.insert(i);
  }
  env_->TearNthAppend(1, 9, ".log");
  EXPECT_FALSE(db_->Put(sync, K(30), V(30)).ok());
  failed.insert(30);
  env_->SetFrozen(true);
  db_.reset();
  env_->SetFrozen(false);
  ASSERT_NO_FATAL_FAILURE(Reopen());
  ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
  std::string v;
  EXPECT_TRUE(db_->Get(ReadOptions(), K(30), &v).IsNotFound()) << "the torn write came back";
  EXPECT_GT(RecoveryDroppedBytes(db_.get()), 0) << "the torn tail was not reported";
}

// Power loss at random moments, with flushes and compactions going on: every write
// acknowledged with sync=true survives, and the DB holds a prefix of the writes.
TEST_F(FaultTest, PowerLossKeepsSyncedWrites) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  Random rnd(seed);
  options_.write_buffer_size = 4 << 10;
  options_.l0_compaction_trigger = 2;
  options_.target_file_size = 8 << 10;
  options_.max_bytes_for_level_base = 32 << 10;
  uint64_t next = 0;  // writes 0..next-1 are in the DB
  const int rounds = Scaled(60);
  for (int round = 0; round < rounds; ++round) {
    SCOPED_TRACE(std::string("round ") + std::to_string(round));
    ASSERT_NO_FATAL_FAILURE(Open());
    uint64_t last_synced = next;  // writes below this are durable
    uint64_t n = rnd.Range(1, 400);
    // Writes are batches of 1-4 unique keys; batch j covers keys [first[j], first[j+1]).
    for (uint64_t j = 0; j < n; ++j) {
      WriteBatch b;
      uint64_t count = rnd.Range(1, 4);
      for (uint64_t c = 0; c < count; ++c) b.Put(K(next + c), V(next + c));
      WriteOptions wo;
      wo.sync = rnd.OneIn(5);
      Status s = db_->Write(wo, b);
      ASSERT_TRUE(s.ok()) << s.ToString();
      next += count;
      if (wo.sync) last_synced = next;
    }
    // The machine stops: nothing more reaches the disk, unsynced bytes are lost.
    env_->SetFrozen(true);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    env_->DropUnsyncedData();
    db_.reset();
    env_->SetFrozen(false);
    ASSERT_NO_FATAL_FAILURE(Open());
    Status s;
    Model got = DumpDB(db_.get(), ReadOptions(), &s);
    ASSERT_TRUE(s.ok()) << s.ToString();
    // Every synced write is there, and what survived is a prefix 0..P-1 (a machine crash
    // may lose the last writes, not some in the middle).
    uint64_t p = next, missing = 0;
    int64_t last_present = -1;
    for (uint64_t i = 0; i < next; ++i) {
      auto it = got.find(K(i));
      if (it == got.end()) {
        p = std::min(p, i);
        ++missing;
        ASSERT_GE(i, last_synced) << "write " << i << " was lost, but every write below "
                                  << last_synced << " was made durable by a sync=true write";
        continue;
      }
      ASSERT_EQ(it->second, V(i)) << "write " << i;
      last_present = static_cast<int64_t>(i);
      got.erase(it);
    }
    ASSERT_TRUE(got.empty()) << "unexpected key '" << Escape(got.begin()->first) << "'";
    ASSERT_TRUE(p == next || last_present < static_cast<int64_t>(p))
        << "not a prefix: write " << p << " was lost but write " << last_present << " survived ("
        << missing << " of " << next << " lost; writes below " << last_synced << " were synced)";
    ASSERT_LE(p, next);
    next = p;
    db_->Close();
    db_.reset();
  }
}

// Fails the Nth call of each kind of Env operation during a workload of writes, flushes and
// compactions (n sweeps over the first calls); after reopening without faults nothing
// acknowledged is missing.
TEST_F(FaultTest, NthCallFailureSweep) {
  const uint64_t seed = TestSeed();
  SCOPED_TRACE(SeedTrace(seed));
  Random rnd(seed);
  const FaultOp ops[] = {FaultOp::kAppend,         FaultOp::kSync,       FaultOp::kNewWritable,
                         FaultOp::kRename,         FaultOp::kSyncDir,    FaultOp::kClose,
                         FaultOp::kFlush,          FaultOp::kRemoveFile, FaultOp::kRead,
                         FaultOp::kNewRandomAccess};
  options_.write_buffer_size = 4 << 10;
  options_.l0_compaction_trigger = 2;
  options_.target_file_size = 8 << 10;
  int injected_cases = 0;
  const int per_op = Scaled(30);
  for (FaultOp op : ops) {
    for (int c = 0; c < per_op; ++c) {
      uint64_t nth = rnd.Range(1, 1 + rnd.Skewed(7));
      FaultError err = rnd.OneIn(2) ? FaultError::kIOError : FaultError::kNoSpace;
      SCOPED_TRACE(std::string("fail call #") + std::to_string(nth) + std::string(" of ") +
                   FaultOpName(op));
      path_ = UniqueMemPath();
      env_->ClearFaults();
      std::set<uint64_t> acked, failed;
      env_->FailNth(op, nth, err);
      Status s = DB::Open(options_, path_, &db_);
      uint64_t i = 0;
      if (s.ok()) {
        for (; i < 300; ++i) {
          WriteOptions wo;
          wo.sync = rnd.OneIn(4);
          Status ws = db_->Put(wo, K(i), V(i));
          if (ws.ok()) {
            acked.insert(i);
          } else {
            failed.insert(i);
          }
          if (rnd.OneIn(60)) db_->Flush();
          if (rnd.OneIn(150)) db_->CompactRange(nullptr, nullptr);
          if (env_->InjectedFaults() > 0 && rnd.OneIn(20)) break;
        }
      }
      if (env_->InjectedFaults() > 0) ++injected_cases;
      env_->ResetCounts();
      // Reopen without faults: it must work, and hold everything acknowledged.
      if (db_) db_->Close();
      db_.reset();
      env_->ClearFaults();
      const uint64_t injected_before = env_->InjectedFaults();
      s = DB::Open(options_, path_, &db_);
      ASSERT_TRUE(s.ok()) << "reopen after the fault: " << s.ToString();
      ASSERT_NO_FATAL_FAILURE(CheckAcked(acked, failed));
      ASSERT_EQ(env_->InjectedFaults(), injected_before);
      db_->Close();
      db_.reset();
      // Replace the counter of faults so the next case starts clean.
      env_ = std::make_unique<FaultEnv>(mem_.get());
      options_.env = env_.get();
    }
  }
  EXPECT_GT(injected_cases, 0);
  std::fprintf(stderr, "[fault sweep] %d cases hit their fault\n", injected_cases);
}

}  // namespace
}  // namespace zworld::engine::test
