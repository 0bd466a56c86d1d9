// InfoLog: the human-readable LOG file of a data folder. One timestamped line per event:
// opens, recoveries (with torn-tail bytes dropped), flushes, compactions, background errors.
// It is for operators, not a format: nothing parses it.
//
// Thread safety: Log may be called from any thread; lines are never interleaved.
#pragma once

#include <cstdarg>
#include <memory>
#include <mutex>
#include <string>

#include "zworld/engine/env.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

class InfoLog {
 public:
  // Opens dbname/LOG for writing after renaming an existing LOG to LOG.old (replacing an
  // older LOG.old). On error *result is null and the Status says why.
  static Status Open(Env* env, const std::string& dbname, std::unique_ptr<InfoLog>* result);

  explicit InfoLog(std::unique_ptr<WritableFile> file);
  InfoLog(const InfoLog&) = delete;
  InfoLog& operator=(const InfoLog&) = delete;
  ~InfoLog();

  // Appends one line "YYYY/MM/DD-HH:MM:SS.uuuuuu <thread> <message>\n" and hands it to the
  // operating system. Write errors are ignored: the info log never fails an operation.
  void Log(const char* format, ...) __attribute__((format(printf, 2, 3)));
  void LogV(const char* format, va_list ap);

 private:
  std::mutex mu_;
  std::unique_ptr<WritableFile> file_;  // guarded by mu_
};

// Logs to log if it is non-null; does nothing otherwise (Options::info_log = false).
void Log(InfoLog* log, const char* format, ...) __attribute__((format(printf, 2, 3)));

}  // namespace zworld::engine
