#include "info_log.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <thread>

#include "filename.h"

namespace zworld::engine {

Status InfoLog::Open(Env* env, const std::string& dbname, std::unique_ptr<InfoLog>* result) {
  result->reset();
  std::string name = InfoLogFileName(dbname);
  if (env->FileExists(name)) {
    // Losing the previous LOG is not worth failing Open over; the new one is still written.
    env->RenameFile(name, OldInfoLogFileName(dbname));
  }
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(name, &file);
  if (!s.ok()) return s;
  *result = std::make_unique<InfoLog>(std::move(file));
  return Status::OK();
}

InfoLog::InfoLog(std::unique_ptr<WritableFile> file) : file_(std::move(file)) {}

InfoLog::~InfoLog() {
  if (file_ != nullptr) file_->Close();
}

void InfoLog::LogV(const char* format, va_list ap) {
  // The wall clock, not Env::NowMicros (whose origin is arbitrary): a reader of LOG wants to
  // line events up with the rest of the system.
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm t;
  localtime_r(&ts.tv_sec, &t);
  auto tid =
      static_cast<unsigned long long>(std::hash<std::thread::id>()(std::this_thread::get_id()));

  char stack_buf[512];
  std::string heap_buf;
  char* buf = stack_buf;
  size_t cap = sizeof(stack_buf);
  for (int attempt = 0; attempt < 2; ++attempt) {
    int prefix = std::snprintf(buf, cap, "%04d/%02d/%02d-%02d:%02d:%02d.%06ld %llx ",
                               t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min,
                               t.tm_sec, ts.tv_nsec / 1000, tid & 0xffffffull);
    va_list copy;
    va_copy(copy, ap);
    int body = std::vsnprintf(buf + prefix, cap - static_cast<size_t>(prefix), format, copy);
    va_end(copy);
    size_t need = static_cast<size_t>(prefix) + static_cast<size_t>(body) + 2;  // '\n', NUL
    if (need > cap && attempt == 0) {
      heap_buf.resize(need);
      buf = heap_buf.data();
      cap = need;
      continue;
    }
    size_t len = std::min(need - 2, cap - 2);
    if (len == 0 || buf[len - 1] != '\n') buf[len++] = '\n';
    std::lock_guard<std::mutex> l(mu_);
    if (file_ != nullptr) {
      file_->Append(Slice(buf, len));
      file_->Flush();
    }
    break;
  }
}

void InfoLog::Log(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  LogV(format, ap);
  va_end(ap);
}

void Log(InfoLog* log, const char* format, ...) {
  if (log == nullptr) return;
  va_list ap;
  va_start(ap, format);
  log->LogV(format, ap);
  va_end(ap);
}

}  // namespace zworld::engine
