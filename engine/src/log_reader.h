// log::Reader: reads the records of a write-ahead log file back (log_format.h,
// engine/FORMATS.md "WAL"), and tells a torn tail apart from damage in the middle of the file.
//
// Damage handling. A fragment with a bad checksum, an impossible length, an unknown or zero
// type, or a fragment that belongs to no whole record is dropped; after a bad fragment the
// rest of its block is dropped too (lengths inside it cannot be trusted). Consecutive dropped
// bytes between two returned records are reported to the Reporter as one range.
//   - A torn tail (the writer crashed mid-append: a partial header, a partial fragment, a
//     bad checksum or zero-filled / preallocated space, with no whole record after it) is
//     dropped and reported; corruption_before_valid_record() stays false.
//   - Damage followed by a whole, valid record makes corruption_before_valid_record() true;
//     the caller treats that as Corruption. A dropped range is also scanned for a
//     valid-looking fragment (correct checksum) at any offset; finding one means records
//     were lost mid-file, so the flag becomes true even if nothing valid follows the range
//     at a block boundary. (A payload that embeds a byte-exact log fragment can therefore
//     turn a torn tail into a reported corruption: a false alarm, never silent loss.)
//   - A read error from the file ends reading; it is reported (with the file's Status),
//     kept in status(), and also sets corruption_before_valid_record(), since what follows
//     it is unknown.
//
// Thread safety: one thread at a time. The Reader does not own the file or the reporter.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "log_format.h"
#include "zworld/engine/env.h"
#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine::log {

class Reader {
 public:
  // Receives dropped byte ranges. offset is the file offset of the first dropped byte, bytes
  // how many were dropped (0 for a read error), reason a Corruption (or the read error)
  // whose message names the file and the offset of the first problem.
  class Reporter {
   public:
    virtual ~Reporter() = default;
    virtual void Corruption(uint64_t offset, size_t bytes, const Status& reason) = 0;
  };

  // Reads file from its current position, which must be offset 0. file_name is used in
  // messages ("000007.log: bad record checksum at offset 12345"). reporter may be null.
  // With checksum false, payload checksums are not verified. file and reporter must
  // outlive the Reader.
  Reader(SequentialFile* file, std::string file_name, Reporter* reporter, bool checksum);

  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Reads the next whole record into *record and returns true, or returns false at the end
  // of the file (or after a read error). *record points into *scratch or into the Reader's
  // buffer and stays valid until the next ReadRecord call or until *scratch changes.
  bool ReadRecord(Slice* record, std::string* scratch);

  // File offset of the first header of the record last returned by ReadRecord.
  uint64_t LastRecordOffset() const { return last_record_offset_; }
  // File offset just past the last fragment of the record last returned (0 before the
  // first): where a writer continuing this log after a torn tail would start.
  uint64_t end_of_valid_data() const { return end_of_valid_data_; }
  // Total bytes dropped as damaged or torn so far.
  uint64_t dropped_bytes() const { return dropped_bytes_; }
  // True once some dropped range was followed by a valid record (or a read error occurred):
  // damage in the middle of the file. False if the only damage is a torn tail. Final once
  // ReadRecord has returned false.
  bool corruption_before_valid_record() const { return corruption_before_valid_record_; }
  // File offset of the first dropped byte; meaningful only when dropped_bytes() > 0.
  uint64_t first_corruption_offset() const { return first_corruption_offset_; }
  // The file's read error, if reading stopped on one; OK otherwise.
  const Status& status() const { return read_status_; }

 private:
  // What ReadPhysicalRecord found.
  enum Outcome {
    kFragment,  // a fragment with a valid header (and checksum)
    kEof,       // end of file, nothing left
    kBad,       // damaged bytes were dropped (already accounted)
  };

  Outcome ReadPhysicalRecord(Slice* payload, RecordType* type, uint64_t* fragment_offset);
  bool FillBuffer();
  // Adds [offset, offset + bytes) to the pending dropped range.
  void Drop(uint64_t offset, uint64_t bytes, const char* what, uint64_t problem_offset);
  // Sets lost_valid_fragment_ if region (the bytes after the bad header at its start) holds a
  // fragment with a correct checksum.
  void ScanForValidFragment(const char* region, size_t n);
  // Reports the pending dropped range, if any.
  void FlushDrop();
  uint64_t BufferOffset() const { return end_of_buffer_offset_ - buffer_.size(); }

  SequentialFile* const file_;
  const std::string file_name_;
  Reporter* const reporter_;
  const bool checksum_;

  std::unique_ptr<char[]> backing_;    // kBlockSize bytes
  Slice buffer_;                       // unread bytes of the current block
  bool eof_ = false;                   // the last read was short: no more blocks
  uint64_t end_of_buffer_offset_ = 0;  // file offset just past buffer_

  uint64_t last_record_offset_ = 0;
  uint64_t end_of_valid_data_ = 0;
  uint64_t dropped_bytes_ = 0;
  uint64_t first_corruption_offset_ = 0;
  bool corruption_before_valid_record_ = false;
  Status read_status_;

  // The dropped range not yet reported.
  bool pending_ = false;
  uint64_t pending_offset_ = 0;
  uint64_t pending_bytes_ = 0;
  std::string pending_reason_;
  bool lost_valid_fragment_ = false;  // a dropped range hides a checksummed fragment
};

}  // namespace zworld::engine::log
