// Helpers shared by the tests of every module: temporary folders, seeds that replay, and a
// seeded random generator.
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
#include <string>
#include <utility>
#include <vector>

namespace zworld::test {

// A unique, freshly created folder on the real file system (see the file comment).
class TempDir {
 public:
  // Creates <root>/<tag>.XXXXXX, where tag names the running gtest test when there is one.
  // Aborts the test binary (with a message) if the folder cannot be created.
  TempDir();
  ~TempDir();  // removes the folder recursively
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path() + "/" + name (nothing is created).
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// The root for temporary folders: $ZWORLD_TEST_TMPDIR if set and non-empty, else "/tmp".
std::string TestTmpRoot();

// A path for a MemEnv database, unique within the process ("/mem/<tag>-<n>"). Nothing is
// created.
std::string UniqueMemPath();

// The seed of a randomised test: $ZWORLD_TEST_SEED when set, otherwise a fresh value from the
// clock and the test's name. Prints "[seed] <test>: ZWORLD_TEST_SEED=<n>" to stderr.
uint64_t TestSeed();
// "seed=<n> (replay: ZWORLD_TEST_SEED=<n> <binary> --gtest_filter=<test>)", for SCOPED_TRACE.
std::string SeedTrace(uint64_t seed);

// True in AddressSanitizer or ThreadSanitizer builds, where tests scale their work down.
bool UnderSanitizer();

// The key range of each table listed by GetProperty("zworld.sstables"), as printed there
// (printable bytes as themselves): (smallest, largest) per line, file order.
std::vector<std::pair<std::string, std::string>> TableKeyRanges(const std::string& sstables);

// A small, fast, seeded pseudo-random generator (splitmix64 then xoshiro256**).
class Random {
 public:
  explicit Random(uint64_t seed);
  uint64_t Next();
  // Uniform in [0, n); n must be > 0.
  uint64_t Uniform(uint64_t n);
  // Uniform in [lo, hi]; requires lo <= hi.
  uint64_t Range(uint64_t lo, uint64_t hi) { return lo + Uniform(hi - lo + 1); }
  bool OneIn(uint64_t n) { return Uniform(n) == 0; }
  // Picks k uniformly in [0, max_log], then returns a value uniform in [0, 2^k): small values
  // are common, large ones possible.
  uint64_t Skewed(int max_log);
  // len arbitrary bytes (including 0x00 and 0xff).
  std::string Bytes(size_t len);
  // len bytes from [a-z0-9].
  std::string Printable(size_t len);
  // Uniform in [0, 1).
  double Unit();
  // Uniform in [lo, hi).
  double Between(double lo, double hi) { return lo + (hi - lo) * Unit(); }
  // Roughly normal with mean 0 and deviation 1 (a sum of uniforms).
  double Gaussian();

 private:
  uint64_t s_[4];
};

}  // namespace zworld::test
