// Runs the GW-1 phases (world, LOAD, AOI, MOVE, AOI2, close) on one engine and prints its
// engine=... lines (GW-1.md section 2) to stdout as each phase ends.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "engine.h"
#include "workload.h"

namespace zworld::gw1 {

struct RunParams {
  uint64_t n = 1000000;
  uint64_t q = 20000;
  uint64_t ticks = 5;
  uint64_t seed = 1;
  std::string dir;       // the engine's own, empty folder
  bool verify = false;   // check every query against a brute-force scan of the world
  bool progress = true;  // progress bars on stderr
};

// The figures of one AOI pass (section 1.6).
struct PassResult {
  uint64_t q = 0;
  double secs = 0;  // sum of the timed Query calls
  ResultSums sums;
  Percentiles latency;
  uint64_t scanned = 0;
  uint64_t seeks = 0;
  uint64_t prefix_q = 0;  // min(q, kPrefixQueries)
  ResultSums prefix;      // sums over the first prefix_q queries
};

// Everything the parent needs from one engine's run. Trivially copyable: it crosses the
// pipe from the child process as raw bytes. Strings are NUL-terminated (truncated to fit).
struct EngineResult {
  char engine[64] = {};
  char notes[256] = {};
  char error[1024] = {};  // empty when ok
  bool ok = false;
  bool persistent = false;
  uint64_t n = 0, seed = 0, ticks = 0;
  double gen_secs = 0;
  uint64_t world_hash = 0;
  double open_secs = 0;
  double load_secs = 0;
  uint64_t disk_bytes_after_load = 0;
  PassResult aoi;
  uint64_t moves = 0;
  double move_secs = 0;
  uint64_t world_hash_after = 0;
  PassResult aoi2;
  double close_secs = 0;
  uint64_t disk_bytes_final = 0;
  uint64_t peak_rss_kb = 0;
  uint64_t baseline_rss_kb = 0;
};
static_assert(std::is_trivially_copyable_v<EngineResult>);

// Runs every phase on a new engine made by `factory`, printing its lines to stdout
// (flushed after each line). On an engine error the run stops; the result has ok=false and
// the error text, and the lines of the phases that finished have been printed.
EngineResult RunEngine(const EngineFactory& factory, const RunParams& params);

// `count / secs`, or 0 when secs is not positive.
inline double PerSecond(double count, double secs) { return secs > 0 ? count / secs : 0.0; }

// Sum of the sizes of the regular files under `dir` (0 if it does not exist).
uint64_t DirectoryBytes(const std::string& dir);

// Copies s into a fixed char array, truncated and NUL-terminated.
template <size_t N>
void CopyString(const std::string& s, char (&out)[N]) {
  const size_t len = s.size() < N - 1 ? s.size() : N - 1;
  s.copy(out, len);
  out[len] = '\0';
}

}  // namespace zworld::gw1
