// db_bench: a db_bench-style benchmark of the zworld engine beside RocksDB and LevelDB.
//
//   bin/db_bench [--n 1000000] [--engines zworld,rocksdb,leveldb] [--ops fillseq,...]
//                [--dir /base/folder] [--keep] [--reads R] [--seeks S] [--scans C] [--seed X]
//
// Every engine runs the same schedule of operations over the same keys and values in the
// same order, in a fresh folder of its own. stdout gets one line per engine and operation,
//   bench=db engine=<e> op=<op> n=<entries> ops_per_s=<..> micros_per_op=<..> [more k=v]
// and then a human table (lines starting with '#'). Progress goes to stderr.
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "db_bench_engines.h"
#include "db_bench_util.h"

namespace zworld::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kSeekNexts = 10;          // seekrandom: Next() calls after each Seek
constexpr uint64_t kScanLength = 1000;  // scanrange: entries read after each Seek

// ---- operations and flags -----------------------------------------------------------------

enum class Op {
  kFillSeq,
  kFillRandom,
  kOverwrite,
  kReadRandom,
  kSeekRandom,
  kScanRange,
  kScanRangeBulk,
  kDeleteRandom,
  kCompact,
};

// What runs without --ops, in this order.
constexpr Op kDefaultOps[] = {Op::kFillSeq,       Op::kFillRandom,  Op::kOverwrite,
                              Op::kReadRandom,    Op::kSeekRandom,  Op::kScanRange,
                              Op::kScanRangeBulk, Op::kDeleteRandom};
// Every op --ops accepts: the defaults, and compact (so that reads can be measured on a
// compacted store, e.g. --ops fillrandom,overwrite,compact,scanrange,scanrange_bulk).
constexpr Op kKnownOps[] = {Op::kFillSeq,       Op::kFillRandom,   Op::kOverwrite,
                            Op::kReadRandom,    Op::kSeekRandom,   Op::kScanRange,
                            Op::kScanRangeBulk, Op::kDeleteRandom, Op::kCompact};

const char* OpName(Op op) {
  switch (op) {
    case Op::kFillSeq:
      return "fillseq";
    case Op::kFillRandom:
      return "fillrandom";
    case Op::kOverwrite:
      return "overwrite";
    case Op::kReadRandom:
      return "readrandom";
    case Op::kSeekRandom:
      return "seekrandom";
    case Op::kScanRange:
      return "scanrange";
    case Op::kScanRangeBulk:
      return "scanrange_bulk";
    case Op::kDeleteRandom:
      return "deleterandom";
    case Op::kCompact:
      return "compact";
  }
  return "?";
}

bool IsFill(Op op) { return op == Op::kFillSeq || op == Op::kFillRandom; }
bool IsScan(Op op) { return op == Op::kScanRange || op == Op::kScanRangeBulk; }
// Operations that expect every key 0..n-1 to be live when they start.
bool NeedsFullDb(Op op) { return !IsFill(op); }

const char* const kEngineNames[] = {"zworld", "rocksdb", "leveldb"};

struct Config {
  uint64_t n = 1000000;
  std::vector<std::string> engines = {"zworld", "rocksdb", "leveldb"};
  std::vector<Op> ops{std::begin(kDefaultOps), std::end(kDefaultOps)};
  std::string dir;  // empty: a fresh folder under /tmp
  bool keep = false;
  uint64_t reads = 0;  // 0: the defaults below
  uint64_t seeks = 0;
  uint64_t scans = 0;
  uint64_t seed = 301;
};

void Usage() {
  std::fprintf(stderr,
               "usage: db_bench [--n N] [--engines zworld,rocksdb,leveldb] [--ops LIST]\n"
               "                [--dir FOLDER] [--keep] [--reads R] [--seeks S] [--scans C]\n"
               "                [--seed X]\n"
               "  --n       entries (default 1000000)\n"
               "  --ops     comma list of fillseq,fillrandom,overwrite,readrandom,seekrandom,\n"
               "            scanrange,scanrange_bulk,deleterandom (the default, in this order)\n"
               "            and compact (a full manual compaction, timed)\n"
               "  --dir     base folder; each engine gets <dir>/<engine> (default: a fresh\n"
               "            folder under /tmp); removed at the end unless --keep\n"
               "  --reads   readrandom Gets (default n); also sets the defaults of --seeks\n"
               "            (reads/10) and --scans (reads/1000)\n"
               "  --seeks   seekrandom Seeks, each followed by 10 Next()\n"
               "  --scans   scanrange scans of 1000 entries\n"
               "  --seed    seed of every random choice (default 301)\n");
}

std::vector<std::string> SplitList(const std::string& s) {
  std::vector<std::string> out;
  size_t begin = 0;
  while (begin <= s.size()) {
    size_t end = s.find(',', begin);
    if (end == std::string::npos) end = s.size();
    if (end > begin) out.push_back(s.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

uint64_t ParseCount(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  errno = 0;
  unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || errno != 0) Fail("bad number for " + flag + ": '" + v + "'");
  return x;
}

Config ParseFlags(int argc, char** argv) {
  Config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      Usage();
      std::exit(0);
    }
    if (arg == "--keep") {
      cfg.keep = true;
      continue;
    }
    std::string value;
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    }
    static const char* const kValueFlags[] = {"--n",     "--engines", "--ops",   "--dir",
                                              "--reads", "--seeks",   "--scans", "--seed"};
    if (std::find(std::begin(kValueFlags), std::end(kValueFlags), arg) == std::end(kValueFlags)) {
      Usage();
      Fail("unknown flag " + arg);
    }
    if (eq == std::string::npos) {
      if (i + 1 >= argc) {
        Usage();
        Fail("flag " + arg + " needs a value");
      }
      value = argv[++i];
    }
    if (arg == "--n") {
      cfg.n = ParseCount(arg, value);
    } else if (arg == "--engines") {
      cfg.engines = SplitList(value);
      for (const std::string& e : cfg.engines) {
        if (std::find(std::begin(kEngineNames), std::end(kEngineNames), e) ==
            std::end(kEngineNames)) {
          Fail("unknown engine '" + e + "' (zworld, rocksdb, leveldb)");
        }
      }
    } else if (arg == "--ops") {
      cfg.ops.clear();
      for (const std::string& name : SplitList(value)) {
        auto it = std::find_if(std::begin(kKnownOps), std::end(kKnownOps),
                               [&](Op op) { return name == OpName(op); });
        if (it == std::end(kKnownOps)) Fail("unknown op '" + name + "'");
        cfg.ops.push_back(*it);
      }
    } else if (arg == "--dir") {
      cfg.dir = value;
    } else if (arg == "--reads") {
      cfg.reads = ParseCount(arg, value);
    } else if (arg == "--seeks") {
      cfg.seeks = ParseCount(arg, value);
    } else if (arg == "--scans") {
      cfg.scans = ParseCount(arg, value);
    } else if (arg == "--seed") {
      cfg.seed = ParseCount(arg, value);
    }
  }
  if (cfg.n == 0) Fail("--n must be at least 1");
  if (cfg.n >= 10000000000000000ull) Fail("--n must be below 10^16 (16 decimal digits)");
  if (cfg.engines.empty()) Fail("--engines is empty");
  if (cfg.ops.empty()) Fail("--ops is empty");
  if (cfg.reads == 0) cfg.reads = cfg.n;
  if (cfg.seeks == 0) cfg.seeks = std::max<uint64_t>(1, cfg.reads / 10);
  if (cfg.scans == 0) cfg.scans = std::max<uint64_t>(1, cfg.reads / 1000);
  return cfg;
}

// ---- schedule -----------------------------------------------------------------------------

// One step of the schedule every engine runs. Prep steps load the DB for an operation that
// needs every key live (e.g. --ops readrandom alone); they are not reported.
struct Step {
  Op op;
  bool reported = true;
  uint64_t seed = 0;
  std::string starts_from;  // the DB state the step starts from, for the notes
};

std::vector<Step> BuildSchedule(const Config& cfg) {
  std::vector<Step> steps;
  std::map<std::string, uint64_t> occurrences;  // per op name, for distinct seeds
  auto seed_for = [&](const std::string& name, uint64_t k) {
    return Rng(cfg.seed ^ HashName(name) ^ (k << 40)).Next();
  };
  bool full = false;
  std::string state = "empty DB";
  for (Op op : cfg.ops) {
    if (NeedsFullDb(op) && !full) {
      steps.push_back(
          {Op::kFillRandom, false, seed_for("prep", occurrences["prep"]++), "fresh DB"});
      state = "after an unreported fillrandom";
      full = true;
    }
    uint64_t seed;
    if (op == Op::kScanRangeBulk) {
      // The very ranges of the latest scanrange, so the two paths read the same entries.
      const uint64_t scans = occurrences["scanrange"];
      seed = seed_for("scanrange", scans > 0 ? scans - 1 : 0);
    } else {
      seed = seed_for(OpName(op), occurrences[OpName(op)]++);
    }
    steps.push_back({op, true, seed, IsFill(op) ? "fresh DB" : state});
    if (IsFill(op)) {
      state = std::string("after ") + OpName(op);
      full = true;
    } else if (op == Op::kOverwrite || op == Op::kDeleteRandom || op == Op::kCompact) {
      state += std::string(" + ") + OpName(op);
      full = op != Op::kDeleteRandom;
    }
  }
  return steps;
}

// ---- running one engine -------------------------------------------------------------------

struct Result {
  std::string engine;
  Op op;
  uint64_t ops = 0;      // operations timed (Puts, Gets, Seeks, scans, Deletes, compactions)
  uint64_t entries = 0;  // scans: entries read
  Timing time;
  uint64_t db_bytes = 0;  // size of the data folder after the operation
  double OpsPerSecond() const { return time.seconds > 0 ? ops / time.seconds : 0; }
  double EntriesPerSecond() const { return time.seconds > 0 ? entries / time.seconds : 0; }
  // What the table compares: entries/s for scans, operations/s otherwise (for compact, one
  // operation: the inverse of its time).
  double TableRate() const { return IsScan(op) ? EntriesPerSecond() : OpsPerSecond(); }
};

// The expected content of the DB, the same for every engine: the value index last written to
// each key, and whether every key is live.
struct Model {
  bool full = false;
  std::vector<uint32_t> value_of_key;
};

// Sink for the bytes the read loops touch, so the compiler keeps the work.
volatile uint64_t g_sink = 0;

class EngineRunner {
 public:
  EngineRunner(const Config& cfg, const ValuePool& pool) : cfg_(cfg), pool_(pool) {}

  template <class E>
  void Run(const std::vector<Step>& steps, const std::string& dir, std::vector<Result>* out) {
    E db;
    Model model;
    fs::remove_all(dir);
    db.Open(dir);
    bool fresh = true;
    for (const Step& step : steps) {
      if (step.op == Op::kScanRangeBulk && !E::kHasBulkScan) continue;
      if (IsFill(step.op) && !fresh) {
        db.Close();
        fs::remove_all(dir);
        db.Open(dir);
      }
      fresh = false;
      Result r;
      r.engine = E::kName;
      r.op = step.op;
      RunStep(db, step, &model, &r);
      if (!step.reported) continue;
      r.db_bytes = DirBytes(dir);
      PrintLine(r);
      out->push_back(r);
    }
    db.Close();
    if (!cfg_.keep) fs::remove_all(dir);
  }

  void PrintLine(const Result& r) const {
    std::printf("bench=db engine=%s op=%s n=%" PRIu64
                " ops_per_s=%.1f micros_per_op=%.3f ops=%" PRIu64 " seconds=%.3f",
                r.engine.c_str(), OpName(r.op), cfg_.n, r.OpsPerSecond(),
                r.ops > 0 ? r.time.seconds * 1e6 / r.ops : 0.0, r.ops, r.time.seconds);
    std::printf(" thread_cpu_micros_per_op=%.3f",
                r.ops > 0 ? r.time.cpu_seconds * 1e6 / r.ops : 0.0);
    if (r.entries > 0) std::printf(" entries=%" PRIu64, r.entries);
    if (IsScan(r.op)) std::printf(" entries_per_s=%.1f", r.EntriesPerSecond());
    std::printf(" db_bytes=%" PRIu64 "\n", r.db_bytes);
    std::fflush(stdout);
  }

 private:
  template <class E>
  void RunStep(E& db, const Step& step, Model* model, Result* r) {
    const char* name = step.reported ? OpName(step.op) : "(prep fill)";
    Rng rng(step.seed);
    KeyPlan plan;
    const uint64_t n = cfg_.n;
    switch (step.op) {
      case Op::kFillSeq:
      case Op::kFillRandom:
      case Op::kOverwrite:
      case Op::kDeleteRandom: {
        plan.nums.resize(n);
        for (uint64_t i = 0; i < n; ++i) plan.nums[i] = i;
        if (step.op != Op::kFillSeq) {
          for (uint64_t i = n - 1; i > 0; --i)
            std::swap(plan.nums[i], plan.nums[rng.Uniform(i + 1)]);
        }
        plan.Format();
        if (step.op == Op::kDeleteRandom) {
          r->time = TimedLoop(E::kName, name, n, [&](uint64_t i) { db.Delete(plan.Key(i)); });
          model->full = false;
        } else {
          const uint64_t base = rng.Uniform(kNumValues);
          plan.values.resize(n);
          for (uint64_t i = 0; i < n; ++i)
            plan.values[i] = static_cast<uint32_t>((base + i) % kNumValues);
          r->time = TimedLoop(E::kName, name, n, [&](uint64_t i) {
            db.Put(plan.Key(i), pool_.Value(plan.values[i]));
          });
          model->value_of_key.resize(n);
          for (uint64_t i = 0; i < n; ++i) model->value_of_key[plan.nums[i]] = plan.values[i];
          model->full = true;
        }
        r->ops = n;
        break;
      }
      case Op::kReadRandom:
        plan.nums.resize(cfg_.reads);
        for (uint64_t& k : plan.nums) k = rng.Uniform(n);
        plan.Format();
        r->ops = cfg_.reads;
        r->time = ReadRandom(db, plan, *model);
        break;
      case Op::kSeekRandom:
        plan.nums.resize(cfg_.seeks);
        for (uint64_t& k : plan.nums) k = rng.Uniform(n);
        plan.Format();
        r->ops = cfg_.seeks;
        r->time = SeekRandom(db, plan, &r->entries);
        break;
      case Op::kCompact:
        r->ops = 1;
        r->time = TimedLoop(E::kName, name, 1, [&](uint64_t) { db.CompactAll(); });
        break;
      case Op::kScanRange:
      case Op::kScanRangeBulk: {
        const uint64_t length = std::min(kScanLength, n);
        plan.nums.resize(cfg_.scans);
        for (uint64_t& k : plan.nums) k = rng.Uniform(n - length + 1);
        plan.Format();
        r->ops = cfg_.scans;
        r->entries = r->ops * length;
        if constexpr (E::kHasBulkScan) {
          if (step.op == Op::kScanRangeBulk) {
            r->time = ScanRangeBulk(db, plan, length);
            break;
          }
        }
        r->time = ScanRange(db, plan, length);
        break;
      }
    }
  }

  // Gets of existing keys; every one must find the value the model says was written last.
  template <class E>
  Timing ReadRandom(E& db, const KeyPlan& plan, const Model& model) {
    std::string value;
    uint64_t found = 0;
    uint64_t wrong = 0;
    const Timing timing = TimedLoop(E::kName, "readrandom", plan.nums.size(), [&](uint64_t i) {
      if (db.Get(plan.Key(i), &value)) {
        ++found;
        const char* want = pool_.Value(model.value_of_key[plan.nums[i]]);
        wrong += value.size() != kValueSize || std::memcmp(value.data(), want, kValueSize) != 0;
      }
    });
    if (found != plan.nums.size() || wrong != 0) {
      Fail(std::string(E::kName) + " readrandom: " + std::to_string(found) + " of " +
           std::to_string(plan.nums.size()) + " keys found, " + std::to_string(wrong) +
           " with a wrong value");
    }
    return timing;
  }

  // Touches one byte of the key and of the value of an entry, and counts value bytes.
  struct Toucher {
    uint64_t sum = 0;
    uint64_t value_bytes = 0;
    template <class S>
    void operator()(const S& key, const S& value) {
      sum += static_cast<unsigned char>(key.data()[key.size() - 1]) +
             static_cast<unsigned char>(value.data()[0]);
      value_bytes += value.size();
    }
  };

  // A new iterator per Seek (as a query would), then up to kSeekNexts Next() calls.
  template <class E>
  Timing SeekRandom(E& db, const KeyPlan& plan, uint64_t* entries) {
    Toucher touch;
    uint64_t exact = 0;
    uint64_t seen = 0;
    const Timing timing = TimedLoop(E::kName, "seekrandom", plan.nums.size(), [&](uint64_t i) {
      std::unique_ptr<typename E::Iterator> it = db.NewIterator();
      const char* target = plan.Key(i);
      it->Seek(typename E::Slice(target, kKeySize));
      if (it->Valid()) {
        exact +=
            it->key().size() == kKeySize && std::memcmp(it->key().data(), target, kKeySize) == 0;
        touch(it->key(), it->value());
        ++seen;
        for (int j = 0; j < kSeekNexts; ++j) {
          it->Next();
          if (!it->Valid()) break;
          touch(it->key(), it->value());
          ++seen;
        }
      }
      E::CheckIterator(*it);
    });
    if (exact != plan.nums.size()) {
      Fail(std::string(E::kName) + " seekrandom: " + std::to_string(exact) + " of " +
           std::to_string(plan.nums.size()) + " seeks landed on their (existing) key");
    }
    g_sink = g_sink + touch.sum;
    *entries = seen;
    return timing;
  }

  // A new iterator per scan, Seek, then read `length` entries.
  template <class E>
  Timing ScanRange(E& db, const KeyPlan& plan, uint64_t length) {
    Toucher touch;
    uint64_t good = 0;
    const Timing timing = TimedLoop(E::kName, "scanrange", plan.nums.size(), [&](uint64_t i) {
      std::unique_ptr<typename E::Iterator> it = db.NewIterator();
      const char* start = plan.Key(i);
      it->Seek(typename E::Slice(start, kKeySize));
      const bool exact = it->Valid() && it->key().size() == kKeySize &&
                         std::memcmp(it->key().data(), start, kKeySize) == 0;
      uint64_t read = 0;
      while (it->Valid()) {
        touch(it->key(), it->value());
        if (++read == length) break;
        it->Next();
      }
      E::CheckIterator(*it);
      good += exact && read == length;
    });
    CheckScans(E::kName, "scanrange", good, plan.nums.size(), touch, length);
    return timing;
  }

  template <class E>
  Timing ScanRangeBulk(E& db, const KeyPlan& plan, uint64_t length) {
    Toucher touch;
    uint64_t good = 0;
    const Timing timing = TimedLoop(E::kName, "scanrange_bulk", plan.nums.size(), [&](uint64_t i) {
      const char* start = plan.Key(i);
      bool exact = false;
      bool at_first = true;
      const uint64_t read = db.BulkScan(start, length, [&](const auto& key, const auto& value) {
        if (at_first) {
          exact = key.size() == kKeySize && std::memcmp(key.data(), start, kKeySize) == 0;
          at_first = false;
        }
        touch(key, value);
      });
      good += exact && read == length;
    });
    CheckScans(E::kName, "scanrange_bulk", good, plan.nums.size(), touch, length);
    return timing;
  }

  static void CheckScans(const char* engine, const char* op, uint64_t good, uint64_t scans,
                         const Toucher& touch, uint64_t length) {
    if (good != scans || touch.value_bytes != scans * length * kValueSize) {
      Fail(std::string(engine) + " " + op + ": " + std::to_string(good) + " of " +
           std::to_string(scans) + " scans started at their key and read " +
           std::to_string(length) + " entries; value bytes " + std::to_string(touch.value_bytes) +
           " (want " + std::to_string(scans * length * kValueSize) + ")");
    }
    g_sink = g_sink + touch.sum;
  }

  const Config& cfg_;
  const ValuePool& pool_;
};

// ---- report -------------------------------------------------------------------------------

void PrintHeader(const Config& cfg, const std::vector<Step>& steps, const std::string& load_start) {
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  std::string mem = ReadFirstMatch("/proc/meminfo", "MemTotal");
  const double mem_gib = std::strtod(mem.c_str(), nullptr) / (1024.0 * 1024.0);
  char date[64];
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S UTC", &tm);
  utsname uts{};
  uname(&uts);

  std::printf("#\n# db_bench: zworld vs RocksDB vs LevelDB\n");
  std::printf("# machine: %ld cores, %.1f GiB memory, %s, Linux %s, %s\n", cores, mem_gib,
              ReadFirstMatch("/proc/cpuinfo", "model name").c_str(), uts.release, date);
  std::printf(
      "# load average (1/5/15 min): %s at start, %s at end (other work on the machine\n"
      "#   skews the figures)\n",
      load_start.c_str(), LoadAverage().c_str());
  std::printf(
      "# engines: zworld (%s), RocksDB %s (Debian librocksdb-dev), LevelDB %s (Debian "
      "libleveldb-dev)\n",
      ZworldStore::Version().c_str(), RocksDbStore::Version().c_str(),
      LevelDbStore::Version().c_str());
  std::printf(
      "# note: Debian's RocksDB is a portable build without hardware CRC32C (software\n"
      "#   checksums), which slows its write path compared with a native build.\n");
  std::printf(
      "# data: n=%" PRIu64
      " entries; keys 16 bytes (key number as \"%%016d\" decimal);\n"
      "#   values 100 bytes, half random (50 random printable bytes repeated twice, as\n"
      "#   compressible as LevelDB db_bench's), the same keys and values for every engine\n",
      cfg.n);
  std::printf(
      "# options, all engines: WAL on, sync off, write buffer 64 MiB, block cache 128 MiB,\n"
      "#   bloom filter 10 bits/key, 4 KiB blocks, NO compression (zworld's default is none;\n"
      "#   kNoCompression is set on LevelDB and RocksDB so they compare like for like);\n"
      "#   block checksums verified when a block is read from a file (zworld and RocksDB\n"
      "#   default, LevelDB ReadOptions.verify_checksums=true); other options at each\n"
      "#   engine's defaults\n");
  std::printf(
      "# method: each engine runs alone in a fresh folder, the same steps in the same order\n"
      "#   on one open DB (fill ops start a fresh DB); background work of a step may\n"
      "#   overlap the next, as in db_bench. Timed: the engine calls, in tight loops over keys\n"
      "#   prepared beforehand, plus the checks (a 100-byte compare per Get, one byte of key\n"
      "#   and value summed per entry read); every Get must find its key with the value\n"
      "#   written last, every Seek its key, every scan its full length, or the run fails.\n"
      "#   The table is wall time; thread_cpu_micros_per_op on the bench= lines is the\n"
      "#   benchmark thread's CPU time (no background work, no waiting for a core).\n");
  std::printf("# steps, in order:\n");
  for (const Step& s : steps) {
    uint64_t count = cfg.n;
    std::string what;
    switch (s.op) {
      case Op::kFillSeq:
        what = "Puts in key order";
        break;
      case Op::kFillRandom:
        what = "Puts, a random permutation of the keys";
        break;
      case Op::kOverwrite:
        what = "Puts, another permutation (all keys exist)";
        break;
      case Op::kReadRandom:
        count = cfg.reads;
        what = "Gets of uniformly random existing keys";
        break;
      case Op::kSeekRandom:
        count = cfg.seeks;
        what = "x (new iterator, Seek to a random existing key, Next() x10)";
        break;
      case Op::kScanRange:
        count = cfg.scans;
        what = "x (new iterator, Seek to a random key, read " +
               std::to_string(std::min(kScanLength, cfg.n)) + " entries), entries/s";
        break;
      case Op::kScanRangeBulk:
        count = cfg.scans;
        what = "x DB::Scan of the same ranges with a visitor (zworld only), entries/s";
        break;
      case Op::kDeleteRandom:
        what = "Deletes, a random permutation of the keys";
        break;
      case Op::kCompact:
        count = 1;
        what =
            "CompactRange over all keys, memtable flushed first (RocksDB: default\n"
            "#                  CompactRangeOptions), seconds";
        break;
    }
    std::printf("#   %-14s %" PRIu64 " %s; starts from: %s%s\n", OpName(s.op), count, what.c_str(),
                s.starts_from.c_str(), s.reported ? "" : " (not reported)");
  }
}

std::string FormatRate(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f", v);
  return buf;
}

std::string FormatSeconds(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string FormatRatio(double num, double den) {
  if (num <= 0 || den <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2fx", num / den);
  return buf;
}

void PrintTable(const Config& cfg, const std::vector<Result>& results) {
  auto find = [&](const char* engine, Op op) -> const Result* {
    for (const Result& r : results) {
      if (r.engine == engine && r.op == op) return &r;  // first occurrence of a repeated op
    }
    return nullptr;
  };
  auto rate = [&](const char* engine, Op op) {
    const Result* r = find(engine, op);
    return r == nullptr ? 0.0 : r->TableRate();
  };
  std::printf("#\n# %-14s %-9s %12s %12s %12s %9s %9s %9s\n", "op", "unit", "zworld", "rocksdb",
              "leveldb", "zw/rocks", "zw/level", "zw/best");
  std::vector<Op> seen;
  for (Op op : cfg.ops) {
    if (std::find(seen.begin(), seen.end(), op) != seen.end()) continue;
    seen.push_back(op);
    const double z = rate("zworld", op);
    // scanrange_bulk is zworld's alone; it is compared with the peers' iterator scanrange.
    const Op peer_op = op == Op::kScanRangeBulk ? Op::kScanRange : op;
    const double rocks = rate("rocksdb", peer_op);
    const double level = rate("leveldb", peer_op);
    if (z == 0 && (op == Op::kScanRangeBulk || (rocks == 0 && level == 0))) continue;
    // compact shows seconds (its rate is one operation per run); the ratios still compare
    // rates, i.e. peer seconds / zworld seconds.
    auto cell = [&](double v, bool shown) {
      if (!shown || v <= 0) return std::string("-");
      return op == Op::kCompact ? FormatSeconds(1 / v) : FormatRate(v);
    };
    const bool peers_shown = op != Op::kScanRangeBulk;
    const char* unit = IsScan(op) ? "entries/s" : (op == Op::kCompact ? "seconds" : "ops/s");
    std::printf("# %-14s %-9s %12s %12s %12s %9s %9s %9s\n", OpName(op), unit,
                cell(z, true).c_str(), cell(rocks, peers_shown).c_str(),
                cell(level, peers_shown).c_str(), FormatRatio(z, rocks).c_str(),
                FormatRatio(z, level).c_str(), FormatRatio(z, std::max(rocks, level)).c_str());
  }
  std::printf(
      "# (ratios: higher is better; the scanrange_bulk ratios are against the peers' iterator\n"
      "#  scanrange; zw/best is against the faster of RocksDB and LevelDB; compact is in\n"
      "#  seconds, lower is better, and its ratios are peer seconds / zworld seconds)\n");
}

int Main(int argc, char** argv) {
  const Config cfg = ParseFlags(argc, argv);
  std::string base = cfg.dir;
  bool own_base = false;
  if (base.empty()) {
    std::string tmpl = "/tmp/zworld-db_bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp " + tmpl + ": " + std::strerror(errno));
    base = tmpl;
    own_base = true;
  } else {
    std::error_code ec;
    fs::create_directories(base, ec);
    if (ec) Fail("create " + base + ": " + ec.message());
  }
  std::fprintf(stderr, "db_bench: n=%" PRIu64 ", data under %s\n", cfg.n, base.c_str());

  const std::string load_start = LoadAverage();
  const std::vector<Step> steps = BuildSchedule(cfg);
  const ValuePool pool(cfg.seed);
  EngineRunner runner(cfg, pool);
  std::vector<Result> results;
  for (const std::string& engine : cfg.engines) {
    const std::string dir = base + "/" + engine;
    if (engine == "zworld") {
      runner.Run<ZworldStore>(steps, dir, &results);
    } else if (engine == "rocksdb") {
      runner.Run<RocksDbStore>(steps, dir, &results);
    } else {
      runner.Run<LevelDbStore>(steps, dir, &results);
    }
  }
  if (cfg.keep) {
    std::fprintf(stderr, "db_bench: data kept under %s\n", base.c_str());
  } else if (own_base) {
    fs::remove_all(base);
  }

  PrintHeader(cfg, steps, load_start);
  PrintTable(cfg, results);
  return 0;
}

}  // namespace
}  // namespace zworld::bench

int main(int argc, char** argv) { return zworld::bench::Main(argc, argv); }
