// WriteBatch and WriteBatchInternal (write_batch_internal.h has the byte layout).

#include "zworld/engine/write_batch.h"

#include <string>

#include "coding.h"
#include "dbformat.h"
#include "memtable.h"
#include "write_batch_internal.h"

namespace zworld::engine {

namespace {

// Calls put(key, value) / del(key) for each record of rep in order. Corruption (naming the
// byte offset inside the batch) if a record is damaged or the header's count is wrong.
template <typename PutFn, typename DelFn>
Status ParseBatch(const Slice& rep, PutFn&& put, DelFn&& del) {
  if (rep.size() < WriteBatchInternal::kHeader) {
    return Status::Corruption("WriteBatch: shorter than its 12-byte header, size " +
                              std::to_string(rep.size()));
  }
  const uint32_t expected = DecodeFixed32(rep.data() + 8);
  Slice input(rep.data() + WriteBatchInternal::kHeader, rep.size() - WriteBatchInternal::kHeader);
  uint32_t found = 0;
  while (!input.empty()) {
    const size_t offset = rep.size() - input.size();
    const auto tag = static_cast<uint8_t>(input[0]);
    input.remove_prefix(1);
    Slice key, value;
    switch (tag) {
      case kTypeValue:
        if (!GetLengthPrefixedSlice(&input, &key) || !GetLengthPrefixedSlice(&input, &value)) {
          return Status::Corruption("WriteBatch: bad Put record at byte " + std::to_string(offset));
        }
        put(key, value);
        break;
      case kTypeDeletion:
        if (!GetLengthPrefixedSlice(&input, &key)) {
          return Status::Corruption("WriteBatch: bad Delete record at byte " +
                                    std::to_string(offset));
        }
        del(key);
        break;
      default:
        return Status::Corruption("WriteBatch: unknown record type " + std::to_string(tag) +
                                  " at byte " + std::to_string(offset));
    }
    found++;
  }
  if (found != expected) {
    return Status::Corruption("WriteBatch: header count " + std::to_string(expected) + " but " +
                              std::to_string(found) + " records");
  }
  return Status::OK();
}

}  // namespace

WriteBatch::WriteBatch() { Clear(); }

void WriteBatch::Clear() { rep_.assign(WriteBatchInternal::kHeader, '\0'); }

uint32_t WriteBatch::Count() const { return WriteBatchInternal::Count(this); }

void WriteBatch::Put(const Slice& key, const Slice& value) {
  WriteBatchInternal::SetCount(this, WriteBatchInternal::Count(this) + 1);
  rep_.push_back(static_cast<char>(kTypeValue));
  PutLengthPrefixedSlice(&rep_, key);
  PutLengthPrefixedSlice(&rep_, value);
}

void WriteBatch::Delete(const Slice& key) {
  WriteBatchInternal::SetCount(this, WriteBatchInternal::Count(this) + 1);
  rep_.push_back(static_cast<char>(kTypeDeletion));
  PutLengthPrefixedSlice(&rep_, key);
}

void WriteBatch::Append(const WriteBatch& src) { WriteBatchInternal::Append(this, &src); }

Status WriteBatch::Iterate(Handler* handler) const {
  return ParseBatch(
      rep_, [handler](const Slice& k, const Slice& v) { handler->Put(k, v); },
      [handler](const Slice& k) { handler->Delete(k); });
}

uint32_t WriteBatchInternal::Count(const WriteBatch* b) {
  return DecodeFixed32(b->rep_.data() + 8);
}

void WriteBatchInternal::SetCount(WriteBatch* b, uint32_t n) {
  EncodeFixed32(b->rep_.data() + 8, n);
}

SequenceNumber WriteBatchInternal::Sequence(const WriteBatch* b) {
  return DecodeFixed64(b->rep_.data());
}

void WriteBatchInternal::SetSequence(WriteBatch* b, SequenceNumber s) {
  EncodeFixed64(b->rep_.data(), s);
}

Slice WriteBatchInternal::Contents(const WriteBatch* b) { return Slice(b->rep_); }

size_t WriteBatchInternal::ByteSize(const WriteBatch* b) { return b->rep_.size(); }

Status WriteBatchInternal::SetContents(WriteBatch* b, const Slice& contents) {
  if (contents.size() < kHeader) {
    return Status::Corruption("WriteBatch: shorter than its 12-byte header, size " +
                              std::to_string(contents.size()));
  }
  b->rep_.assign(contents.data(), contents.size());
  return Status::OK();
}

Status WriteBatchInternal::InsertInto(const WriteBatch* b, MemTable* mem) {
  SequenceNumber seq = Sequence(b);
  if (Count(b) >= MemTable::kBulkInsertMinEntries) {
    MemTable::BulkInserter inserter(mem, Count(b));
    Status s = ParseBatch(
        b->rep_,
        [&inserter, &seq](const Slice& k, const Slice& v) {
          inserter.Add(seq++, kTypeValue, k, v);
        },
        [&inserter, &seq](const Slice& k) { inserter.Add(seq++, kTypeDeletion, k, Slice()); });
    // Entries parsed before a malformed record are inserted, as in the entry-by-entry path.
    inserter.Finish();
    return s;
  }
  return ParseBatch(
      b->rep_, [mem, &seq](const Slice& k, const Slice& v) { mem->Add(seq++, kTypeValue, k, v); },
      [mem, &seq](const Slice& k) { mem->Add(seq++, kTypeDeletion, k, Slice()); });
}

void WriteBatchInternal::Append(WriteBatch* dst, const WriteBatch* src) {
  SetCount(dst, Count(dst) + Count(src));
  dst->rep_.append(src->rep_.data() + kHeader, src->rep_.size() - kHeader);
}

}  // namespace zworld::engine
