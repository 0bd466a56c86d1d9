// WriteBatchInternal: the parts of WriteBatch that the engine uses and clients do not.
//
// Representation (engine/FORMATS.md, "WriteBatch"):
//   fixed64 sequence ++ fixed32 count ++ count records, each
//     kTypeValue byte ++ varint32 key length ++ key ++ varint32 value length ++ value
//   | kTypeDeletion byte ++ varint32 key length ++ key
//
// Thread safety: as WriteBatch (none).
#pragma once

#include <cstddef>
#include <cstdint>

#include "dbformat.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"
#include "zworld/engine/write_batch.h"

namespace zworld::engine {

class MemTable;

class WriteBatchInternal {
 public:
  // fixed64 sequence ++ fixed32 count.
  static constexpr size_t kHeader = 12;

  // The count stored in the header (not verified against the records).
  static uint32_t Count(const WriteBatch* b);
  static void SetCount(WriteBatch* b, uint32_t n);

  // The sequence number of the first operation.
  static SequenceNumber Sequence(const WriteBatch* b);
  static void SetSequence(WriteBatch* b, SequenceNumber s);

  // The whole representation; valid until b changes.
  static Slice Contents(const WriteBatch* b);
  static size_t ByteSize(const WriteBatch* b);

  // Replaces b's representation with a copy of contents. Corruption if contents is shorter
  // than the header; the records are checked only when the batch is iterated.
  static Status SetContents(WriteBatch* b, const Slice& contents);

  // Adds every operation of b to mem, the first with Sequence(b), then +1, +2, ...
  // Corruption if the representation is damaged or the count does not match; operations
  // before the damage have then already been added. Caller serialises writers of mem.
  static Status InsertInto(const WriteBatch* b, MemTable* mem);

  // Appends src's operations to dst (dst keeps its sequence).
  static void Append(WriteBatch* dst, const WriteBatch* src);
};

}  // namespace zworld::engine
