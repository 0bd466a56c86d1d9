// TableProperties: facts about one SSTable, written into its properties block by
// TableBuilder::Finish and read back by Table::Open (engine/FORMATS.md, "SSTable",
// "Properties block").
#pragma once

#include <cstdint>
#include <string>

#include "dbformat.h"

namespace zworld::engine {

struct TableProperties {
  uint64_t num_entries = 0;    // entries of every type (values and deletions)
  uint64_t num_deletions = 0;  // entries of type kTypeDeletion
  uint64_t num_data_blocks = 0;
  uint64_t raw_key_bytes = 0;    // sum of internal key sizes (user key + 8-byte tag)
  uint64_t raw_value_bytes = 0;  // sum of value sizes
  SequenceNumber min_sequence = 0, max_sequence = 0;  // both 0 for an empty table
  std::string smallest_key, largest_key;              // internal keys; empty for an empty table
  std::string collector_name, collector_summary;      // from Options::table_collector, if any
};

}  // namespace zworld::engine
