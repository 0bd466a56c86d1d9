// The bulk scan merge behind DB::Scan: merges scan sources (memtables, L0 tables, one
// concatenated run per deeper level) block by block and hands the visitor runs of live
// entries, with no virtual call and no key copy per entry.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dbformat.h"
#include "scan_source.h"
#include "zworld/engine/db.h"

namespace zworld::engine {

// Data blocks the sources read and skipped during one scan.
struct ScanCounters {
  uint64_t blocks_read = 0;
  uint64_t blocks_skipped = 0;
};

// Visits the live entries with start <= user key < limit (empty limit: no upper bound) as of
// sequence snapshot, in key order. sources hold internal keys; a newer version of a key may
// be in any source. The Slices handed to the visitor point into the sources' blocks and are
// valid during the call only. Returns OK (also when the visitor stops) or the first error
// of a source. Adds the sources' block counts to *counters.
Status MergeScan(const std::vector<std::unique_ptr<ScanSource>>& sources, SequenceNumber snapshot,
                 const Slice& start, const Slice& limit, const ScanOptions& scan_options,
                 ScanVisitor* visitor, ScanCounters* counters);

}  // namespace zworld::engine
