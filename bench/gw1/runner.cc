#include "runner.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

namespace zworld::gw1 {
namespace {

using Clock = std::chrono::steady_clock;

uint64_t NanosSince(Clock::time_point start) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
}

double SecsSince(Clock::time_point start) { return static_cast<double>(NanosSince(start)) * 1e-9; }

// A one-line progress bar on stderr for one phase of one engine. On a terminal it redraws
// in place; otherwise it prints one line when the phase ends.
class ProgressBar {
 public:
  ProgressBar(bool enabled, const char* engine, const char* phase, uint64_t total)
      : enabled_(enabled),
        tty_(isatty(STDERR_FILENO) != 0),
        engine_(engine),
        phase_(phase),
        total_(total),
        start_(Clock::now()) {
    Update(0);
  }

  void Update(uint64_t done) {
    if (!enabled_ || !tty_) return;
    const int percent = total_ == 0 ? 100 : static_cast<int>(done * 100 / total_);
    if (percent == last_percent_) return;
    last_percent_ = percent;
    char bar[41];
    const int filled = percent * 40 / 100;
    for (int i = 0; i < 40; ++i) bar[i] = i < filled ? '#' : '.';
    bar[40] = '\0';
    std::fprintf(stderr, "\r%-14s %-6s [%s] %3d%%", engine_, phase_, bar, percent);
    std::fflush(stderr);
  }

  // Ends the bar; `timed_secs` is the phase's timed engine time.
  void Finish(double timed_secs) {
    if (!enabled_) return;
    if (tty_) {
      Update(total_);
      std::fprintf(stderr, "\r\033[K");
    }
    std::fprintf(stderr, "gw1: %-14s %-6s done: %.3f s in engine calls, %.3f s wall\n", engine_,
                 phase_, timed_secs, SecsSince(start_));
    std::fflush(stderr);
  }

 private:
  const bool enabled_;
  const bool tty_;
  const char* engine_;
  const char* phase_;
  const uint64_t total_;
  const Clock::time_point start_;
  int last_percent_ = -1;
};

// Current resident set size (VmRSS) of this process in KiB, 0 if unknown.
uint64_t CurrentRssKb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

uint64_t PeakRssKb() {
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
  return static_cast<uint64_t>(usage.ru_maxrss);  // KiB on Linux
}

void PrintLine(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void PrintLine(const char* fmt, ...) {
  va_list args;
  va_start(args, fmt);
  std::vprintf(fmt, args);
  va_end(args);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

void PrintPass(const EngineResult& r, const char* phase, const PassResult& p) {
  PrintLine("engine=%s phase=%s n=%" PRIu64 " q=%" PRIu64 " secs=%.6f qps=%.1f results=%" PRIu64
            " results_per_s=%.0f checksum=0x%016" PRIx64 " idsum=%" PRIu64
            " p50_us=%.2f p99_us=%.2f max_us=%.2f scanned=%" PRIu64 " seeks=%" PRIu64
            " prefix_q=%" PRIu64 " prefix_results=%" PRIu64 " prefix_checksum=0x%016" PRIx64,
            r.engine, phase, r.n, p.q, p.secs, PerSecond(static_cast<double>(p.q), p.secs),
            p.sums.results, PerSecond(static_cast<double>(p.sums.results), p.secs), p.sums.checksum,
            p.sums.idsum, p.latency.p50_us, p.latency.p99_us, p.latency.max_us, p.scanned, p.seeks,
            p.prefix_q, p.prefix.results, p.prefix.checksum);
}

// The brute-force answer of one query over the current world, sorted.
void ExactAnswer(const World& world, const AoiBox& box, std::vector<uint64_t>* out) {
  out->clear();
  for (uint64_t id = 0; id < world.size(); ++id) {
    if (box.Contains(world.x[id], world.y[id])) out->push_back(id);
  }
}

class Runner {
 public:
  Runner(const EngineFactory& factory, const RunParams& params)
      : factory_(factory), params_(params) {}

  EngineResult Run() {
    CopyString(factory_.name, r_.engine);
    r_.n = params_.n;
    r_.seed = params_.seed;
    r_.ticks = params_.ticks;
    Status s = RunPhases();
    if (engine_ != nullptr) {
      // An error left the engine open; release it before reporting.
      (void)engine_->Close();
      engine_.reset();
    }
    r_.ok = s.ok();
    if (!s.ok()) CopyString(s.ToString(), r_.error);
    return r_;
  }

 private:
  Status RunPhases() {
    Status s;
    Generate();
    r_.baseline_rss_kb = CurrentRssKb();

    EngineConfig config;
    config.n = params_.n;
    config.seed = params_.seed;
    engine_ = factory_.make(config);
    r_.persistent = engine_->Persistent();
    CopyString(engine_->Notes(), r_.notes);
    Clock::time_point start = Clock::now();
    if (!(s = engine_->Open(params_.dir)).ok()) return s;
    r_.open_secs = SecsSince(start);

    if (!(s = LoadPhase()).ok()) return s;
    if (!(s = AoiPhase("aoi", kTagAoi, params_.q, &r_.aoi)).ok()) return s;
    if (!(s = MovePhase()).ok()) return s;
    if (!(s = AoiPhase("aoi2", kTagAoi2, params_.q / 4, &r_.aoi2)).ok()) return s;

    start = Clock::now();
    s = engine_->Close();
    r_.close_secs = SecsSince(start);
    engine_.reset();
    if (!s.ok()) return s;
    r_.disk_bytes_final = DirectoryBytes(params_.dir);
    r_.peak_rss_kb = PeakRssKb();
    PrintLine("engine=%s phase=summary n=%" PRIu64 " peak_rss_kb=%" PRIu64
              " baseline_rss_kb=%" PRIu64 " disk_bytes_after_load=%" PRIu64
              " disk_bytes_final=%" PRIu64
              " persistent=%d gen_secs=%.6f open_secs=%.6f"
              " close_secs=%.6f notes=%s",
              r_.engine, r_.n, r_.peak_rss_kb, r_.baseline_rss_kb, r_.disk_bytes_after_load,
              r_.disk_bytes_final, r_.persistent ? 1 : 0, r_.gen_secs, r_.open_secs, r_.close_secs,
              r_.notes);
    return Status::OK();
  }

  void Generate() {
    const Clock::time_point start = Clock::now();
    world_ = GenerateWorld(params_.seed, params_.n);
    r_.gen_secs = SecsSince(start);
    r_.world_hash = WorldHash(world_);
    PrintLine("engine=%s phase=world n=%" PRIu64 " seed=%" PRIu64
              " gen_secs=%.6f world_hash=0x%016" PRIx64,
              r_.engine, r_.n, r_.seed, r_.gen_secs, r_.world_hash);
  }

  Status LoadPhase() {
    ProgressBar bar(params_.progress, r_.engine, "load", params_.n);
    std::vector<uint8_t> payloads(kBatchSize * kPayloadBytes);
    std::vector<LoadEntity> batch;
    batch.reserve(kBatchSize);
    uint64_t nanos = 0;
    for (uint64_t first = 0; first < params_.n; first += kBatchSize) {
      const uint64_t end = std::min(params_.n, first + kBatchSize);
      batch.clear();
      for (uint64_t id = first; id < end; ++id) {
        uint8_t* payload = payloads.data() + (id - first) * kPayloadBytes;
        MakePayload(params_.seed, id, payload);
        batch.push_back(LoadEntity{id, world_.x[id], world_.y[id], payload});
      }
      const Clock::time_point start = Clock::now();
      Status s = engine_->Load(batch);
      nanos += NanosSince(start);
      if (!s.ok()) return s;
      bar.Update(end);
    }
    r_.load_secs = static_cast<double>(nanos) * 1e-9;
    bar.Finish(r_.load_secs);
    r_.disk_bytes_after_load = DirectoryBytes(params_.dir);
    PrintLine("engine=%s phase=load n=%" PRIu64 " secs=%.6f ops_per_s=%.0f disk_bytes=%" PRIu64,
              r_.engine, r_.n, r_.load_secs,
              PerSecond(static_cast<double>(params_.n), r_.load_secs), r_.disk_bytes_after_load);
    return Status::OK();
  }

  Status AoiPhase(const char* phase, uint64_t tag, uint64_t q, PassResult* pass) {
    ProgressBar bar(params_.progress, r_.engine, phase, q);
    Rng rng(params_.seed, tag);
    pass->q = q;
    pass->prefix_q = std::min(q, kPrefixQueries);
    std::vector<uint64_t> nanos(q);
    std::vector<uint64_t> ids, expected;
    ids.reserve(4096);
    uint64_t total_nanos = 0;
    QueryCounters counters;
    for (uint64_t i = 0; i < q; ++i) {
      const uint64_t e = rng.Below(params_.n);
      const AoiBox box = MakeAoiBox(world_.x[e], world_.y[e]);
      ids.clear();
      const Clock::time_point start = Clock::now();
      Status s = engine_->Query(box, &ids, &counters);
      nanos[i] = NanosSince(start);
      if (!s.ok()) return s;
      total_nanos += nanos[i];
      pass->sums.Add(ids);
      if (i < pass->prefix_q) pass->prefix.Add(ids);
      if (params_.verify) {
        ExactAnswer(world_, box, &expected);
        std::sort(ids.begin(), ids.end());
        if (ids != expected) {
          return Status::Corruption(std::string(phase) + " query " + std::to_string(i),
                                    "returned " + std::to_string(ids.size()) +
                                        " ids, the exact answer has " +
                                        std::to_string(expected.size()) + " (--verify)");
        }
      }
      if ((i & 63) == 0) bar.Update(i);
    }
    pass->secs = static_cast<double>(total_nanos) * 1e-9;
    pass->latency = ComputePercentiles(&nanos);
    pass->scanned = counters.scanned;
    pass->seeks = counters.seeks;
    bar.Finish(pass->secs);
    PrintPass(r_, phase, *pass);
    return Status::OK();
  }

  Status MovePhase() {
    ProgressBar bar(params_.progress, r_.engine, "move", params_.ticks);
    MoveStream stream(&world_);
    std::vector<Move> moves;
    std::vector<uint8_t> payloads;
    uint64_t nanos = 0;
    for (uint64_t tick = 0; tick < params_.ticks; ++tick) {
      stream.NextTick(&moves);
      payloads.resize(moves.size() * kPayloadBytes);
      for (size_t i = 0; i < moves.size(); ++i) {
        uint8_t* payload = payloads.data() + i * kPayloadBytes;
        MakePayload(params_.seed, moves[i].id, payload);
        moves[i].payload = payload;
      }
      const Clock::time_point start = Clock::now();
      Status s = engine_->ApplyMoves(moves);
      nanos += NanosSince(start);
      if (!s.ok()) return s;
      r_.moves += moves.size();
      bar.Update(tick + 1);
    }
    r_.move_secs = static_cast<double>(nanos) * 1e-9;
    bar.Finish(r_.move_secs);
    r_.world_hash_after = WorldHash(world_);
    PrintLine("engine=%s phase=move n=%" PRIu64 " ticks=%" PRIu64 " moves=%" PRIu64
              " secs=%.6f moves_per_s=%.0f world_hash_after=0x%016" PRIx64,
              r_.engine, r_.n, r_.ticks, r_.moves, r_.move_secs,
              PerSecond(static_cast<double>(r_.moves), r_.move_secs), r_.world_hash_after);
    return Status::OK();
  }

  const EngineFactory& factory_;
  const RunParams& params_;
  EngineResult r_;
  World world_;
  std::unique_ptr<Engine> engine_;
};

}  // namespace

EngineResult RunEngine(const EngineFactory& factory, const RunParams& params) {
  return Runner(factory, params).Run();
}

uint64_t DirectoryBytes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint64_t total = 0;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code size_ec;
    if (it->is_regular_file(size_ec)) {
      const uintmax_t size = it->file_size(size_ec);
      if (!size_ec) total += size;
    }
  }
  return total;
}

}  // namespace zworld::gw1
