// The merging iterator: one ordered view over several iterators of internal keys (the
// memtables and the SSTables of a read, or the inputs of a compaction).
//
// Entries equal in internal key from several children are all returned when moving in one
// direction (compaction drops the duplicates); a change of direction may skip such copies.
// Forward and backward movement may be mixed.
#pragma once

#include <memory>
#include <vector>

#include "zworld/engine/iterator.h"

namespace zworld::engine {

// Takes ownership of children, whose keys must be internal keys (dbformat.h) in internal-key
// order. The result's status() is the first error of any child. key() and value() stay
// valid until the result moves. One thread at a time.
std::unique_ptr<Iterator> NewMergingIterator(std::vector<std::unique_ptr<Iterator>> children);

}  // namespace zworld::engine
