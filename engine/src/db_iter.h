// The user-facing iterator of DB::NewIterator: turns an iterator over internal keys (the
// merge of memtables and SSTables) into one over user keys as of a sequence number. It hides
// versions newer than the sequence, versions shadowed by newer ones, and deleted keys.
#pragma once

#include <functional>
#include <memory>

#include "dbformat.h"
#include "zworld/engine/iterator.h"

namespace zworld::engine {

// internal_iter yields internal keys in internal-key order. Only entries with sequence <=
// sequence are visible. cleanup (may be empty) runs when the iterator is destroyed, after
// internal_iter is (it releases what internal_iter reads from). A damaged internal key stops
// the iterator with a Corruption status. One thread at a time.
std::unique_ptr<Iterator> NewDBIterator(std::unique_ptr<Iterator> internal_iter,
                                        SequenceNumber sequence, std::function<void()> cleanup);

}  // namespace zworld::engine
