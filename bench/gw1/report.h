// What the parent process makes of the engines' results: the check lines (engines against
// each other and against the check values of GW-1.md section 1.9), the human table and
// the CSV file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "runner.h"

namespace zworld::gw1 {

// The parameters of one run (the same for every engine).
struct RunSpec {
  uint64_t n = 0, q = 0, ticks = 0, seed = 0;
};

// Prints the `check phase=... status=...` lines and `check overall=...` to stdout, and a
// loud MISMATCH report on stderr for every disagreement. Compares the successful engines
// with each other and, when (n, q, ticks, seed) is a row of the section 1.9 table, with
// that row. Appends one human-readable sentence per finding to *findings (for the table).
// Returns true if everything matched and no engine failed (`failed` = engines that did
// not finish).
bool PrintChecks(const std::vector<EngineResult>& results, const RunSpec& spec,
                 const std::vector<std::string>& failed, std::vector<std::string>* findings);

// Prints the human table (every line starts with '#'): rates, latencies, peak RSS, disk
// bytes and ratios to the first zworld row (or to the first engine when no zworld row ran),
// followed by the findings.
void PrintHumanTable(const std::vector<EngineResult>& results, const RunSpec& spec,
                     const std::vector<std::string>& findings);

// Writes one CSV row per successful engine (with a header line) to `path`, creating its
// folder. Returns IOError if the file cannot be written.
Status WriteCsv(const std::string& path, const std::vector<EngineResult>& results);

}  // namespace zworld::gw1
