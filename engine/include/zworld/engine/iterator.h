// Iterator: an ordered cursor over key/value pairs.
//
// Keys are ordered as unsigned bytes. An iterator is positioned at an entry (Valid()) or
// past the end. key() and value() stay valid until the iterator moves or is destroyed.
// Errors surface through status(), never as exceptions; after an error Valid() is false.
// Thread safety: one thread at a time per iterator; distinct iterators are independent.
#pragma once

#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

class Iterator {
 public:
  Iterator() = default;
  Iterator(const Iterator&) = delete;
  Iterator& operator=(const Iterator&) = delete;
  virtual ~Iterator() = default;

  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // Positions at the first entry with key >= target.
  virtual void Seek(const Slice& target) = 0;
  // Requires Valid().
  virtual void Next() = 0;
  // Requires Valid().
  virtual void Prev() = 0;
  // Require Valid(). Valid until the next move of this iterator.
  virtual Slice key() const = 0;
  virtual Slice value() const = 0;
  virtual Status status() const = 0;
};

// An iterator over nothing that reports status s.
Iterator* NewEmptyIterator();
Iterator* NewErrorIterator(const Status& s);

}  // namespace zworld::engine
