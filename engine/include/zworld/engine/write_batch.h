// WriteBatch: a group of Puts and Deletes applied atomically by DB::Write, in order.
//
// Its byte representation is what the WAL stores (engine/FORMATS.md, "WriteBatch").
// Thread safety: none; a batch is built by one thread and then handed to DB::Write.
#pragma once

#include <cstdint>
#include <string>

#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

class WriteBatch {
 public:
  WriteBatch();

  void Put(const Slice& key, const Slice& value);
  void Delete(const Slice& key);
  void Clear();
  // Appends every operation of src after those of this batch.
  void Append(const WriteBatch& src);

  // Number of operations.
  uint32_t Count() const;
  // Size of the representation in bytes (what the WAL will store, before framing).
  size_t ApproximateSize() const { return rep_.size(); }

  class Handler {
   public:
    virtual ~Handler() = default;
    virtual void Put(const Slice& key, const Slice& value) = 0;
    virtual void Delete(const Slice& key) = 0;
  };
  // Calls handler for each operation in order. Corruption if the representation is damaged.
  Status Iterate(Handler* handler) const;

 private:
  friend class WriteBatchInternal;
  std::string rep_;  // see engine/FORMATS.md, "WriteBatch"
};

}  // namespace zworld::engine
