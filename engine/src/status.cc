#include "zworld/engine/status.h"

namespace zworld::engine {

Status::Status(Code code, const Slice& msg, const Slice& msg2)
    : rep_(std::make_unique<Rep>(Rep{code, msg.ToString()})) {
  if (!msg2.empty()) {
    rep_->message.append(": ");
    rep_->message.append(msg2.data(), msg2.size());
  }
}

std::string Status::ToString() const {
  if (rep_ == nullptr) return "OK";
  const char* name = "Unknown";
  switch (rep_->code) {
    case Code::kOk: name = "OK"; break;
    case Code::kNotFound: name = "NotFound"; break;
    case Code::kCorruption: name = "Corruption"; break;
    case Code::kNotSupported: name = "NotSupported"; break;
    case Code::kInvalidArgument: name = "InvalidArgument"; break;
    case Code::kIOError: name = "IOError"; break;
    case Code::kBusy: name = "Busy"; break;
    case Code::kNoSpace: name = "NoSpace"; break;
    case Code::kAborted: name = "Aborted"; break;
  }
  return std::string(name) + ": " + rep_->message;
}

}  // namespace zworld::engine
