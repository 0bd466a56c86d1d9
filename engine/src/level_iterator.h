// Reading one level >= 1 as a single sorted run: its tables are sorted and disjoint, so
// they are concatenated, each opened (through the TableCache) only when the read reaches it.
#pragma once

#include <memory>
#include <span>

#include "scan_source.h"
#include "table_cache.h"
#include "version_set.h"
#include "zworld/engine/iterator.h"

namespace zworld::engine {

// The index of the first file whose largest key is >= ikey (files.size() if none). files
// must be sorted and disjoint (a level >= 1).
size_t FindFile(std::span<const FilePtr> files, const Slice& ikey);

// An iterator over the internal keys of files (sorted, disjoint). It stops at the first
// error of a table (status() reports it). files must outlive the iterator.
std::unique_ptr<Iterator> NewLevelIterator(TableCache* cache, const ReadOptions& options,
                                           std::span<const FilePtr> files);

// A scan source over files (sorted, disjoint). PeekNextBlock and SkipNextBlock work across
// table boundaries (a peek may open the next table). files must outlive the source.
std::unique_ptr<ScanSource> NewLevelScanSource(TableCache* cache, const ReadOptions& options,
                                               std::span<const FilePtr> files);

}  // namespace zworld::engine
