// Helpers shared by the engine tests: temporary folders, seeded randomness that replays,
// random keys and values, and small DB/Env conveniences.
//
// Seeds: every randomised test calls TestSeed() once and puts SeedTrace(seed) in a
// SCOPED_TRACE, so a failure message carries the seed. Setting the environment variable
// ZWORLD_TEST_SEED=<n> makes every TestSeed() call of the process return n (replay one test
// with --gtest_filter).
//
// Temporary folders live under $ZWORLD_TEST_TMPDIR (or /tmp when unset), one unique folder
// per TempDir object, removed with everything inside when the object is destroyed.
//
// Thread safety: Random is not thread-safe (one per thread); the free functions are.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/test_common.h"
#include "zworld/engine/db.h"
#include "zworld/engine/env.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine::test {

using zworld::test::Random;
using zworld::test::SeedTrace;
using zworld::test::TempDir;
using zworld::test::TestSeed;
using zworld::test::TestTmpRoot;
using zworld::test::UnderSanitizer;
using zworld::test::UniqueMemPath;

// "<prefix><n as zero-padded decimal of width>" e.g. NumberKey(42, 6, "k") == "k000042";
// byte order equals numeric order for equal widths.
std::string NumberKey(uint64_t n, int width = 8, const std::string& prefix = "k");

// A key for randomised tests: mostly NumberKey(Uniform(key_space)) so keys repeat (overwrites,
// deletes of live keys), sometimes a variant with a random binary suffix, rarely the empty key
// or a long key (about 1 KiB) when allow_odd is true.
std::string RandomKey(Random* rnd, uint64_t key_space, bool allow_odd);
// A value of length Skewed(max_log) whose bytes encode tag so values of distinct writes differ;
// with probability 1/big_one_in (0 = never) a value of 20-70 KiB instead.
std::string RandomValue(Random* rnd, const std::string& tag, int max_log = 8,
                        uint64_t big_one_in = 0);

// Every live entry of db as seen by a full forward iteration with ro. *s (optional) receives
// the iterator's final status; entries read before an error are returned.
std::map<std::string, std::string> DumpDB(DB* db, const ReadOptions& ro = ReadOptions(),
                                          Status* s = nullptr);

// Readable rendering of a byte string for failure messages: printable bytes as themselves,
// others as \xNN; strings longer than max are cut with "...(<size> bytes)".
std::string Escape(const Slice& s, size_t max = 64);

// First difference between two maps, or "" if equal (for failure messages).
std::string MapDiff(const std::map<std::string, std::string>& expected,
                    const std::map<std::string, std::string>& actual);

// The kind of a file in a data folder, by its name (DESIGN/issue naming: NNNNNN.log,
// NNNNNN.sst, MANIFEST-NNNNNN, CURRENT, LOCK, LOG...).
enum class FileKind { kLog, kTable, kManifest, kCurrent, kLock, kInfoLog, kOther };
FileKind ClassifyFile(const std::string& name);
// The number in "000012.log" / "000012.sst" / "MANIFEST-000012"; 0 if none.
uint64_t FileNumber(const std::string& name);

// Names in dir of the given kind, sorted by file number (ascending).
std::vector<std::string> FilesOfKind(Env* env, const std::string& dir, FileKind kind);

// Reads fname whole; aborts the current test with a failure if it cannot.
std::string ReadFileOrDie(Env* env, const std::string& fname);
// Replaces fname's content with data (synced).
Status OverwriteFile(Env* env, const std::string& fname, const Slice& data);

// From the "zworld.recovery" property of the last Open ("manifest=MANIFEST-000005
// manifest_torn_tail_bytes=0 wal_files=1 000007.log:records=24,torn_tail_bytes=0"):
// the WAL bytes dropped as a torn tail or damage, summed over the WAL files replayed (0 when
// none was replayed), or -1 if the property is missing or has no WAL summary.
int64_t RecoveryDroppedBytes(DB* db);
// The bytes of a torn MANIFEST tail the last Open dropped, or -1 if not reported.
int64_t RecoveryManifestTornBytes(DB* db);

// A WritableFile appending to a string; fail_appends makes every Append an IOError.
class StringSink final : public WritableFile {
 public:
  Status Append(const Slice& data) override;
  Status Close() override { return Status::OK(); }
  Status Flush() override { return Status::OK(); }
  Status Sync() override { return Status::OK(); }

  std::string contents;
  bool fail_appends_ = false;
};

// A RandomAccessFile serving a string. mapped: results point into the string (like an
// mmapped file); otherwise they are copied into scratch (like pread). The string is shared
// with the test, which may change bytes under an open table to model on-disk corruption.
class StringSource final : public RandomAccessFile {
 public:
  explicit StringSource(const std::string* data, bool mapped = false)
      : data_(data), mapped_(mapped) {}
  Status Read(uint64_t offset, size_t n, Slice* result, char* scratch) const override;
  bool IsMapped() const override { return mapped_; }

 private:
  const std::string* data_;
  bool mapped_;
};

}  // namespace zworld::engine::test
