// gw1: the GW-1 game-world workload (shared/workloads/GW-1.md) on zworld and on peer
// stores side by side. Each engine runs in its own child process, so its peak RSS is its
// own; the parent collects the results over a pipe, compares them and prints the check
// lines, the human table and a CSV file.
//
// Exit status: 0 when every engine finished and all results match (each other and, where
// it applies, the check values of GW-1.md section 1.9); 1 on any mismatch or engine
// failure; 2 on a usage error.
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "engine.h"
#include "report.h"
#include "runner.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

namespace zworld::gw1 {
namespace {

struct Flags {
  RunParams params;
  std::vector<std::string> engines;  // empty: all
  std::string dir;
  std::string csv;
  bool keep = false;
};

void Usage(const std::vector<EngineFactory>& all) {
  std::string names;
  for (const EngineFactory& f : all) names += (names.empty() ? "" : ",") + f.name;
  std::fprintf(stderr,
               "usage: gw1 [--n N] [--q Q] [--ticks T] [--seed S] [--engines a,b,...]\n"
               "           [--dir DIR] [--csv PATH] [--keep] [--verify] [--no-progress]\n"
               "  --n        entities (default 1000000)\n"
               "  --q        AOI queries in pass 1; pass 2 runs q/4 (default 20000)\n"
               "  --ticks    MOVE ticks (default 5)\n"
               "  --seed     master seed (default 1)\n"
               "  --engines  comma-separated engines (default: all of %s)\n"
               "  --dir      folder for the engines' data, one subfolder each\n"
               "             (default $TMPDIR/gw1 or /tmp/gw1)\n"
               "  --csv      CSV output (default DIR/gw1.csv)\n"
               "  --keep     keep the engines' data folders after the run\n"
               "  --verify   check every query against a brute-force scan (slow at large n)\n"
               "  --no-progress  no progress bars on stderr\n",
               names.c_str());
}

bool ParseU64(const char* s, uint64_t* out) {
  const char* end = s + std::strlen(s);
  auto [ptr, ec] = std::from_chars(s, end, *out);
  return ec == std::errc() && ptr == end && ptr != s;
}

std::vector<std::string> SplitCommas(const std::string& s) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= s.size()) {
    const size_t comma = s.find(',', start);
    const size_t end = comma == std::string::npos ? s.size() : comma;
    if (end > start) parts.push_back(s.substr(start, end - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return parts;
}

// Returns 0 on success, else the exit status for a usage error.
int ParseFlags(int argc, char** argv, const std::vector<EngineFactory>& all, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto number = [&](uint64_t* out) {
      const char* v = value();
      if (v == nullptr || !ParseU64(v, out)) {
        std::fprintf(stderr, "gw1: %s needs a non-negative integer\n", arg.c_str());
        return false;
      }
      return true;
    };
    bool ok = true;
    if (arg == "--n") {
      ok = number(&flags->params.n);
    } else if (arg == "--q") {
      ok = number(&flags->params.q);
    } else if (arg == "--ticks") {
      ok = number(&flags->params.ticks);
    } else if (arg == "--seed") {
      ok = number(&flags->params.seed);
    } else if (arg == "--engines" || arg == "--dir" || arg == "--csv") {
      const char* v = value();
      if (v == nullptr) {
        std::fprintf(stderr, "gw1: %s needs a value\n", arg.c_str());
        ok = false;
      } else if (arg == "--engines") {
        flags->engines = SplitCommas(v);
      } else if (arg == "--dir") {
        flags->dir = v;
      } else {
        flags->csv = v;
      }
    } else if (arg == "--keep") {
      flags->keep = true;
    } else if (arg == "--verify") {
      flags->params.verify = true;
    } else if (arg == "--no-progress") {
      flags->params.progress = false;
    } else if (arg == "--help" || arg == "-h") {
      Usage(all);
      std::exit(0);
    } else {
      std::fprintf(stderr, "gw1: unknown argument %s\n", arg.c_str());
      ok = false;
    }
    if (!ok) {
      Usage(all);
      return 2;
    }
  }
  if (flags->params.n == 0 || flags->params.n >= (uint64_t{1} << 32)) {
    std::fprintf(stderr, "gw1: --n must be in 1..2^32-1\n");
    return 2;
  }
  if (flags->dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    flags->dir = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/gw1";
  }
  if (flags->csv.empty()) flags->csv = flags->dir + "/gw1.csv";
  return 0;
}

bool WriteAll(int fd, const void* data, size_t size) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

// Reads up to `size` bytes; returns how many arrived before end of file or an error.
size_t ReadAll(int fd, void* data, size_t size) {
  auto* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < size) {
    const ssize_t n = read(fd, p + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  return got;
}

// Runs one engine in a child process. Returns false (with *error) if the child could not
// run or did not deliver a result; an engine error arrives as result->ok = false.
bool RunInChild(const EngineFactory& factory, const RunParams& params, EngineResult* result,
                std::string* error) {
  int fds[2];
  if (pipe(fds) != 0) {
    *error = std::string("pipe: ") + std::strerror(errno);
    return false;
  }
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = fork();
  if (pid < 0) {
    *error = std::string("fork: ") + std::strerror(errno);
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    const EngineResult r = RunEngine(factory, params);
    const bool sent = WriteAll(fds[1], &r, sizeof(r));
    close(fds[1]);
    std::fflush(stdout);
    std::fflush(stderr);
#if defined(__SANITIZE_ADDRESS__)
    __lsan_do_leak_check();
#endif
    // _exit: the engines' background threads and static state are not torn down twice.
    _exit(sent ? 0 : 3);
  }
  close(fds[1]);
  const size_t got = ReadAll(fds[0], result, sizeof(*result));
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    *error = "child process killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
             strsignal(WTERMSIG(status)) + ")";
    return false;
  }
  if (got != sizeof(*result) || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    *error = "child process exited with status " + std::to_string(WEXITSTATUS(status)) +
             " without a complete result";
    return false;
  }
  return true;
}

int Main(int argc, char** argv) {
  const std::vector<EngineFactory> all = AllEngines();
  Flags flags;
  if (int rc = ParseFlags(argc, argv, all, &flags); rc != 0) return rc;

  std::vector<const EngineFactory*> chosen;
  if (flags.engines.empty()) {
    for (const EngineFactory& f : all) chosen.push_back(&f);
  } else {
    for (const std::string& name : flags.engines) {
      const EngineFactory* found = nullptr;
      for (const EngineFactory& f : all) {
        if (f.name == name) found = &f;
      }
      if (found == nullptr) {
        std::fprintf(stderr, "gw1: unknown engine %s\n", name.c_str());
        Usage(all);
        return 2;
      }
      chosen.push_back(found);
    }
  }

  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(flags.dir, ec);
  if (ec) {
    std::fprintf(stderr, "gw1: cannot create %s: %s\n", flags.dir.c_str(), ec.message().c_str());
    return 1;
  }

  std::vector<EngineResult> results;
  std::vector<std::string> failed;
  for (const EngineFactory* factory : chosen) {
    RunParams params = flags.params;
    params.dir = flags.dir + "/" + factory->name;
    fs::remove_all(params.dir, ec);
    fs::create_directories(params.dir, ec);
    if (ec) {
      std::fprintf(stderr, "gw1: cannot create %s: %s\n", params.dir.c_str(), ec.message().c_str());
      return 1;
    }
    EngineResult result;
    std::string error;
    if (!RunInChild(*factory, params, &result, &error)) {
      std::fprintf(stderr, "gw1: *** ENGINE FAILED *** %s: %s\n", factory->name.c_str(),
                   error.c_str());
      failed.push_back(factory->name);
    } else if (!result.ok) {
      std::fprintf(stderr, "gw1: *** ENGINE FAILED *** %s: %s\n", factory->name.c_str(),
                   result.error);
      failed.push_back(factory->name);
    } else {
      results.push_back(result);
    }
    if (!flags.keep) fs::remove_all(params.dir, ec);
  }

  RunSpec spec{flags.params.n, flags.params.q, flags.params.ticks, flags.params.seed};
  std::vector<std::string> findings;
  const bool all_match = PrintChecks(results, spec, failed, &findings);
  const Status csv = WriteCsv(flags.csv, results);
  if (csv.ok()) {
    findings.push_back("CSV: " + flags.csv);
  } else {
    findings.push_back("CSV not written: " + csv.ToString());
  }
  PrintHumanTable(results, spec, findings);
  if (!all_match) {
    std::fprintf(stderr, "gw1: *** MISMATCH *** see the check lines above; exit status 1\n");
    return 1;
  }
  return csv.ok() ? 0 : 1;
}

}  // namespace
}  // namespace zworld::gw1

int main(int argc, char** argv) { return zworld::gw1::Main(argc, argv); }
