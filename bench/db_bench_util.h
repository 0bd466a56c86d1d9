// Helpers of db_bench (bench/db_bench.cc): keys, values and random choices, the timed loop,
// and facts about the machine. Everything here is deterministic given its seed.
//
// Thread safety: none of these types is shared between threads.
#pragma once

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "db_bench_engines.h"

namespace zworld::bench {

inline constexpr uint32_t kNumValues = 10007;  // distinct values in the value pool (a prime)

// ---- keys, values, random choices ---------------------------------------------------------

// splitmix64: small, fast and good enough to pick keys.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint64_t Uniform(uint64_t n) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * n) >> 64);
  }

 private:
  uint64_t state_;
};

inline uint64_t HashName(std::string_view s) {
  uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (char c : s) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ull;
  return h;
}

// Key number k as 16 zero-padded decimal digits (LevelDB db_bench's "%016d"), so byte order
// is numeric order.
inline void FormatKey(uint64_t k, char* out) {
  for (int i = static_cast<int>(kKeySize) - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + k % 10);
    k /= 10;
  }
}

// kNumValues values of kValueSize bytes, laid end to end. Each value is 50 random printable
// bytes followed by the same 50 again (compressible to about half, as in LevelDB's db_bench);
// the pool depends only on the seed.
class ValuePool {
 public:
  explicit ValuePool(uint64_t seed) : data_(size_t{kNumValues} * kValueSize, '\0') {
    Rng rng(seed ^ 0x76616c7565ull);
    for (size_t v = 0; v < kNumValues; ++v) {
      char* p = &data_[v * kValueSize];
      for (size_t i = 0; i < kValueSize / 2; ++i) p[i] = static_cast<char>(' ' + rng.Uniform(95));
      std::memcpy(p + kValueSize / 2, p, kValueSize - kValueSize / 2);
    }
  }
  const char* Value(uint32_t index) const { return &data_[size_t{index} * kValueSize]; }

 private:
  std::string data_;
};

// The key numbers of one operation, formatted once before timing starts.
struct KeyPlan {
  std::vector<uint64_t> nums;
  std::string bytes;             // nums.size() keys of kKeySize bytes
  std::vector<uint32_t> values;  // writes only: value index per key

  const char* Key(uint64_t i) const { return &bytes[i * kKeySize]; }
  void Format() {
    bytes.resize(nums.size() * kKeySize);
    for (size_t i = 0; i < nums.size(); ++i) FormatKey(nums[i], &bytes[i * kKeySize]);
  }
};

// ---- timing and progress ------------------------------------------------------------------

// Wall time and the calling thread's CPU time of the timed part of an operation. The thread
// time leaves out background work (flushes, compactions) and time spent waiting.
struct Timing {
  double seconds = 0;
  double cpu_seconds = 0;
};

inline double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Runs body(i) for i in [0, count) in 100 chunks. Only the chunks are timed; progress is
// printed between them.
template <class Body>
Timing TimedLoop(const char* engine, const char* op, uint64_t count, Body&& body) {
  std::fprintf(stderr, "[%s] %-14s ", engine, op);
  const uint64_t chunk = std::max<uint64_t>(1, count / 100);
  int printed_tenths = 0;
  std::chrono::steady_clock::duration total{};
  double cpu = 0;
  for (uint64_t begin = 0; begin < count; begin += chunk) {
    const uint64_t end = std::min(count, begin + chunk);
    const double cpu0 = ThreadCpuSeconds();
    const auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = begin; i < end; ++i) body(i);
    total += std::chrono::steady_clock::now() - t0;
    cpu += ThreadCpuSeconds() - cpu0;
    const int tenths = static_cast<int>(end * 10 / count);
    while (printed_tenths < tenths) {
      ++printed_tenths;
      std::fprintf(stderr, "%d%%%s", printed_tenths * 10, printed_tenths < 10 ? ".." : "");
    }
  }
  const Timing t{std::chrono::duration<double>(total).count(), cpu};
  std::fprintf(stderr, " %.2f s (thread cpu %.2f s)\n", t.seconds, t.cpu_seconds);
  return t;
}

// Total bytes of the regular files under dir (0 if dir is missing).
inline uint64_t DirBytes(const std::string& dir) {
  uint64_t bytes = 0;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const uintmax_t size = it->file_size(size_ec);
      if (!size_ec) bytes += size;
    }
  }
  return bytes;
}

// ---- machine facts ------------------------------------------------------------------------

// The text after the colon of the first line of file path that starts with prefix (e.g.
// "model name" in /proc/cpuinfo), or "unknown" if there is no such line.
inline std::string ReadFirstMatch(const char* path, const char* prefix) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) == 0) {
      size_t colon = line.find(':');
      if (colon == std::string::npos) return line;
      size_t begin = line.find_first_not_of(" \t", colon + 1);
      return begin == std::string::npos ? "" : line.substr(begin);
    }
  }
  return "unknown";
}

// The 1, 5 and 15 minute load averages, e.g. "0.12 0.30 0.25".
inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  if (!(in >> a >> b >> c)) return "unknown";
  return a + " " + b + " " + c;
}

}  // namespace zworld::bench
