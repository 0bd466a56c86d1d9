// Status: the result of every engine operation. No exception crosses the engine API.
//
// Success costs one null pointer; an error carries a code and a message that names the
// file and offset where that applies ("000012.sst: block checksum mismatch at offset 8192").
// Thread safety: a Status is a value; distinct objects may be used from distinct threads.
#pragma once

#include <memory>
#include <string>

#include "zworld/engine/slice.h"

namespace zworld::engine {

class Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound = 1,
    kCorruption = 2,
    kNotSupported = 3,
    kInvalidArgument = 4,
    kIOError = 5,
    kBusy = 6,         // e.g. the data folder is locked by another process
    kNoSpace = 7,      // ENOSPC: the disk is full
    kAborted = 8,      // the operation was cancelled (shutdown)
  };

  Status() noexcept = default;
  Status(const Status& s) : rep_(s.rep_ ? std::make_unique<Rep>(*s.rep_) : nullptr) {}
  Status& operator=(const Status& s) {
    if (this != &s) rep_ = s.rep_ ? std::make_unique<Rep>(*s.rep_) : nullptr;
    return *this;
  }
  Status(Status&&) noexcept = default;
  Status& operator=(Status&&) noexcept = default;

  static Status OK() { return Status(); }
  static Status NotFound(const Slice& msg, const Slice& msg2 = Slice()) {
    return Status(Code::kNotFound, msg, msg2);
  }
  static Status Corruption(const Slice& msg, const Slice& msg2 = Slice()) {
    return Status(Code::kCorruption, msg, msg2);
  }
  static Status NotSupported(const Slice& msg, const Slice& msg2 = Slice()) {
    return Status(Code::kNotSupported, msg, msg2);
  }
  static Status InvalidArgument(const Slice& msg, const Slice& msg2 = Slice()) {
    return Status(Code::kInvalidArgument, msg, msg2);
  }
  static Status IOError(const Slice& msg, const Slice& msg2 = Slice()) {
    return Status(Code::kIOError, msg, msg2);
  }
  static Status Busy(const Slice& msg, const Slice& msg2 = Slice()) {
    return Status(Code::kBusy, msg, msg2);
  }
  static Status NoSpace(const Slice& msg, const Slice& msg2 = Slice()) {
    return Status(Code::kNoSpace, msg, msg2);
  }
  static Status Aborted(const Slice& msg, const Slice& msg2 = Slice()) {
    return Status(Code::kAborted, msg, msg2);
  }

  bool ok() const { return rep_ == nullptr; }
  Code code() const { return rep_ ? rep_->code : Code::kOk; }
  bool IsNotFound() const { return code() == Code::kNotFound; }
  bool IsCorruption() const { return code() == Code::kCorruption; }
  bool IsNotSupported() const { return code() == Code::kNotSupported; }
  bool IsInvalidArgument() const { return code() == Code::kInvalidArgument; }
  bool IsIOError() const { return code() == Code::kIOError; }
  bool IsBusy() const { return code() == Code::kBusy; }
  bool IsNoSpace() const { return code() == Code::kNoSpace; }
  bool IsAborted() const { return code() == Code::kAborted; }

  // The message alone (empty for OK).
  std::string message() const { return rep_ ? rep_->message : std::string(); }
  // "OK", or "<code name>: <message>".
  std::string ToString() const;

 private:
  struct Rep {
    Code code;
    std::string message;
  };
  Status(Code code, const Slice& msg, const Slice& msg2);

  std::unique_ptr<Rep> rep_;  // null means OK
};

}  // namespace zworld::engine
