#include "report.h"

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

namespace zworld::gw1 {
namespace {

// One row of the GW-1.md section 1.9 table (seed 1, T = 5).
struct SpecRow {
  uint64_t n, q;
  uint64_t world_hash;
  uint64_t results1, checksum1, idsum1;
  uint64_t world_hash_after;
  uint64_t results2, checksum2, idsum2;
};

constexpr SpecRow kSpecRows[] = {
    {20000, 2000, 0xeb1710ee190505c4ull, 16494, 0x1a6f, 164463687ull, 0xc9a067e0904d7fecull, 4268,
     0x2697, 42522707ull},
    {200000, 20000, 0x5fc6d953ca92dd08ull, 1456426, 0x21f3d, 145575097813ull, 0xa1dcf46ac8618939ull,
     373571, 0x3404c, 37319058500ull},
    {1000000, 20000, 0xb915d404b2316f6bull, 7232586, 0xa9026, 3616826131140ull,
     0x0d1e862c4b703858ull, 1807520, 0x55cb0, 903504013134ull},
};

const SpecRow* FindSpecRow(const RunSpec& spec) {
  if (spec.seed != 1 || spec.ticks != 5) return nullptr;
  for (const SpecRow& row : kSpecRows) {
    if (row.n == spec.n && row.q == spec.q) return &row;
  }
  return nullptr;
}

// The values one check line compares.
struct CheckValues {
  uint64_t q, results, checksum, idsum;
  bool operator==(const CheckValues&) const = default;
};

std::string Describe(const CheckValues& v) {
  char buf[160];
  std::snprintf(buf, sizeof(buf),
                "q=%" PRIu64 " results=%" PRIu64 " checksum=0x%016" PRIx64 " idsum=%" PRIu64, v.q,
                v.results, v.checksum, v.idsum);
  return buf;
}

std::string Hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof(buf), "0x%016" PRIx64, v);
  return buf;
}

void Loud(const std::string& what) {
  std::fprintf(stderr, "gw1: *** MISMATCH *** %s\n", what.c_str());
}

// "1,234,567" (rounded to an integer).
std::string Grouped(double v) {
  const auto n = static_cast<uint64_t>(v < 0 ? 0 : v + 0.5);
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string Ratio(double v, double ref) {
  if (ref <= 0) return "-";
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v / ref);
  return buf;
}

double Mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string Fixed(double v, int decimals) {
  char buf[48];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  return buf;
}

}  // namespace

bool PrintChecks(const std::vector<EngineResult>& results, const RunSpec& spec,
                 const std::vector<std::string>& failed, std::vector<std::string>* findings) {
  bool all_ok = failed.empty() && !results.empty();
  for (const std::string& name : failed) {
    findings->push_back("engine " + name + " failed; its values are missing from the checks");
  }
  std::string engines;
  for (const EngineResult& r : results) {
    if (!engines.empty()) engines += ",";
    engines += r.engine;
  }

  auto check = [&](const char* phase, const std::function<CheckValues(const EngineResult&)>& get) {
    bool match = true;
    CheckValues first{};
    if (!results.empty()) first = get(results.front());
    for (const EngineResult& r : results) match = match && get(r) == first;
    std::printf("check phase=%s status=%s %s engines=%s\n", phase, match ? "MATCH" : "MISMATCH",
                Describe(first).c_str(), engines.c_str());
    if (!match) {
      all_ok = false;
      for (const EngineResult& r : results) {
        Loud(std::string("phase=") + phase + " engine=" + r.engine + " " + Describe(get(r)));
      }
      findings->push_back(std::string("MISMATCH: engines disagree in phase ") + phase);
    }
  };
  check("aoi", [](const EngineResult& r) {
    return CheckValues{r.aoi.q, r.aoi.sums.results, r.aoi.sums.checksum, r.aoi.sums.idsum};
  });
  check("aoi-prefix", [](const EngineResult& r) {
    return CheckValues{r.aoi.prefix_q, r.aoi.prefix.results, r.aoi.prefix.checksum,
                       r.aoi.prefix.idsum};
  });
  check("aoi2", [](const EngineResult& r) {
    return CheckValues{r.aoi2.q, r.aoi2.sums.results, r.aoi2.sums.checksum, r.aoi2.sums.idsum};
  });
  check("aoi2-prefix", [](const EngineResult& r) {
    return CheckValues{r.aoi2.prefix_q, r.aoi2.prefix.results, r.aoi2.prefix.checksum,
                       r.aoi2.prefix.idsum};
  });

  // Every engine process generates and moves its own copy of the world.
  for (const EngineResult& r : results) {
    if (r.world_hash != results.front().world_hash ||
        r.world_hash_after != results.front().world_hash_after) {
      all_ok = false;
      Loud(std::string("engine=") + r.engine + " world_hash=" + Hex(r.world_hash) +
           " world_hash_after=" + Hex(r.world_hash_after) + " differ from engine " +
           results.front().engine);
      findings->push_back(std::string("MISMATCH: world hashes differ for ") + r.engine);
    }
  }

  if (const SpecRow* row = FindSpecRow(spec)) {
    const CheckValues want1{spec.q, row->results1, row->checksum1, row->idsum1};
    const CheckValues want2{spec.q / 4, row->results2, row->checksum2, row->idsum2};
    bool row_ok = true;
    for (const EngineResult& r : results) {
      const CheckValues got1{r.aoi.q, r.aoi.sums.results, r.aoi.sums.checksum, r.aoi.sums.idsum};
      const CheckValues got2{r.aoi2.q, r.aoi2.sums.results, r.aoi2.sums.checksum,
                             r.aoi2.sums.idsum};
      auto expect = [&](bool good, const std::string& what) {
        if (good) return;
        row_ok = false;
        Loud(std::string("engine=") + r.engine +
             " differs from GW-1.md 1.9 (N=" + std::to_string(spec.n) + "): " + what);
      };
      expect(r.world_hash == row->world_hash,
             "world_hash=" + Hex(r.world_hash) + " want " + Hex(row->world_hash));
      expect(got1 == want1, "aoi " + Describe(got1) + " want " + Describe(want1));
      expect(r.world_hash_after == row->world_hash_after,
             "world_hash_after=" + Hex(r.world_hash_after) + " want " + Hex(row->world_hash_after));
      expect(got2 == want2, "aoi2 " + Describe(got2) + " want " + Describe(want2));
    }
    if (results.empty()) row_ok = false;
    all_ok = all_ok && row_ok;
    findings->push_back(std::string(row_ok ? "MATCH" : "MISMATCH") +
                        ": world_hash, world_hash_after and both passes against GW-1.md 1.9 " +
                        "row N=" + std::to_string(row->n) + " Q=" + std::to_string(row->q));
  } else {
    findings->push_back(
        "no GW-1.md 1.9 row for these parameters (rows: seed=1 ticks=5 with "
        "N=20000 Q=2000, N=200000 Q=20000, N=1000000 Q=20000)");
  }
  std::printf("check overall=%s\n", all_ok ? "MATCH" : "MISMATCH");
  std::fflush(stdout);
  return all_ok;
}

void PrintHumanTable(const std::vector<EngineResult>& results, const RunSpec& spec,
                     const std::vector<std::string>& findings) {
  const EngineResult* ref = results.empty() ? nullptr : &results.front();
  for (const EngineResult& r : results) {
    if (std::string(r.engine).rfind("zworld", 0) == 0) {
      ref = &r;
      break;
    }
  }
  std::printf(
      "#\n# GW-1  n=%s  q=%s (aoi2 %s)  ticks=%" PRIu64 "  seed=%" PRIu64 "   x = value / %s\n",
      Grouped(static_cast<double>(spec.n)).c_str(), Grouped(static_cast<double>(spec.q)).c_str(),
      Grouped(static_cast<double>(spec.q / 4)).c_str(), spec.ticks, spec.seed,
      ref ? ref->engine : "-");
  std::printf("# %-14s %11s %5s %9s %5s %8s %8s %9s %9s %5s %10s %5s\n", "engine", "load/s", "x",
              "aoi q/s", "x", "p50 us", "p99 us", "max us", "aoi2 q/s", "x", "moves/s", "x");
  auto load_rate = [](const EngineResult& r) {
    return PerSecond(static_cast<double>(r.n), r.load_secs);
  };
  auto qps = [](const PassResult& p) { return PerSecond(static_cast<double>(p.q), p.secs); };
  auto move_rate = [](const EngineResult& r) {
    return PerSecond(static_cast<double>(r.moves), r.move_secs);
  };
  for (const EngineResult& r : results) {
    std::printf("# %-14s %11s %5s %9s %5s %8s %8s %9s %9s %5s %10s %5s\n", r.engine,
                Grouped(load_rate(r)).c_str(), Ratio(load_rate(r), load_rate(*ref)).c_str(),
                Grouped(qps(r.aoi)).c_str(), Ratio(qps(r.aoi), qps(ref->aoi)).c_str(),
                Fixed(r.aoi.latency.p50_us, 1).c_str(), Fixed(r.aoi.latency.p99_us, 1).c_str(),
                Fixed(r.aoi.latency.max_us, 1).c_str(), Grouped(qps(r.aoi2)).c_str(),
                Ratio(qps(r.aoi2), qps(ref->aoi2)).c_str(), Grouped(move_rate(r)).c_str(),
                Ratio(move_rate(r), move_rate(*ref)).c_str());
  }
  std::printf("#\n# %-14s %9s %5s %9s %10s %10s %5s %10s %9s %s\n", "engine", "peak MiB", "x",
              "base MiB", "disk load", "disk final", "x", "scanned/q", "seeks/q", "persistent");
  for (const EngineResult& r : results) {
    const double queries = static_cast<double>(r.aoi.q + r.aoi2.q);
    const bool kv = r.aoi.seeks > 0;
    std::printf(
        "# %-14s %9s %5s %9s %10s %10s %5s %10s %9s %s\n", r.engine,
        Fixed(static_cast<double>(r.peak_rss_kb) / 1024.0, 1).c_str(),
        Ratio(static_cast<double>(r.peak_rss_kb), static_cast<double>(ref->peak_rss_kb)).c_str(),
        Fixed(static_cast<double>(r.baseline_rss_kb) / 1024.0, 1).c_str(),
        Fixed(Mib(r.disk_bytes_after_load), 1).c_str(), Fixed(Mib(r.disk_bytes_final), 1).c_str(),
        Ratio(static_cast<double>(r.disk_bytes_final), static_cast<double>(ref->disk_bytes_final))
            .c_str(),
        kv ? Fixed(static_cast<double>(r.aoi.scanned + r.aoi2.scanned) / queries, 1).c_str() : "-",
        kv ? Fixed(static_cast<double>(r.aoi.seeks + r.aoi2.seeks) / queries, 1).c_str() : "-",
        r.persistent ? "yes" : "no (memory only)");
  }
  std::printf(
      "#\n# disk MiB: files in the engine's folder after LOAD (open) and at the end "
      "(closed); peak MiB includes the world arrays (base MiB).\n");
  for (const std::string& f : findings) std::printf("# %s\n", f.c_str());
  std::fflush(stdout);
}

Status WriteCsv(const std::string& path, const std::vector<EngineResult>& results) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) fs::create_directories(parent, ec);
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Status::IOError(path, "cannot open for writing");
  out << "engine,n,q,ticks,seed,world_hash,gen_secs,open_secs,load_secs,load_per_s,"
         "disk_bytes_after_load,aoi_q,aoi_secs,aoi_qps,aoi_results,aoi_results_per_s,"
         "aoi_checksum,aoi_idsum,aoi_p50_us,aoi_p99_us,aoi_max_us,aoi_scanned,aoi_seeks,"
         "moves,move_secs,moves_per_s,world_hash_after,aoi2_q,aoi2_secs,aoi2_qps,aoi2_results,"
         "aoi2_results_per_s,aoi2_checksum,aoi2_idsum,aoi2_p50_us,aoi2_p99_us,aoi2_max_us,"
         "aoi2_scanned,aoi2_seeks,close_secs,disk_bytes_final,peak_rss_kb,baseline_rss_kb,"
         "persistent\n";
  for (const EngineResult& r : results) {
    char line[2048];
    auto pass = [&](const PassResult& p, char* at, size_t room) {
      return std::snprintf(at, room,
                           "%" PRIu64 ",%.6f,%.1f,%" PRIu64 ",%.0f,%s,%" PRIu64
                           ",%.2f,%.2f,%.2f,%" PRIu64 ",%" PRIu64,
                           p.q, p.secs, PerSecond(static_cast<double>(p.q), p.secs), p.sums.results,
                           PerSecond(static_cast<double>(p.sums.results), p.secs),
                           Hex(p.sums.checksum).c_str(), p.sums.idsum, p.latency.p50_us,
                           p.latency.p99_us, p.latency.max_us, p.scanned, p.seeks);
    };
    int len = std::snprintf(
        line, sizeof(line),
        "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%s,%.6f,%.6f,%.6f,%.0f,%" PRIu64 ",",
        r.engine, r.n, r.aoi.q, r.ticks, r.seed, Hex(r.world_hash).c_str(), r.gen_secs, r.open_secs,
        r.load_secs, PerSecond(static_cast<double>(r.n), r.load_secs), r.disk_bytes_after_load);
    len += pass(r.aoi, line + len, sizeof(line) - len);
    len += std::snprintf(line + len, sizeof(line) - len, ",%" PRIu64 ",%.6f,%.0f,%s,", r.moves,
                         r.move_secs, PerSecond(static_cast<double>(r.moves), r.move_secs),
                         Hex(r.world_hash_after).c_str());
    len += pass(r.aoi2, line + len, sizeof(line) - len);
    std::snprintf(line + len, sizeof(line) - len, ",%.6f,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%d\n",
                  r.close_secs, r.disk_bytes_final, r.peak_rss_kb, r.baseline_rss_kb,
                  r.persistent ? 1 : 0);
    out << line;
  }
  out.close();
  if (!out) return Status::IOError(path, "write failed");
  return Status::OK();
}

}  // namespace zworld::gw1
