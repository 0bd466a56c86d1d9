// FaultEnv: an EnvWrapper that breaks chosen calls, for failure tests.
//
//   auto mem = NewMemEnv(Env::Default());
//   FaultEnv env(mem.get());
//   env.FailNth(FaultOp::kSync, 1, FaultError::kIOError, ".log");  // next WAL fsync: EIO
//   env.FailFrom(FaultOp::kAppend, 1, FaultError::kNoSpace, ".sst");  // disk full for tables
//   env.TearNthAppend(1, 5);       // next Append writes 5 bytes, then fails
//   env.SetFrozen(true);           // "the machine stopped": nothing reaches the target any more
//   mem->DropUnsyncedData();       // ... and unsynced bytes are gone (power loss)
//
// A rule matches a call by operation and by file name: file_filter must be a substring of the
// file's name (for renames, of the source or the destination); an empty filter matches every
// file. A rule counts the matching calls made after it was installed; its nth matching call
// fails (and, for FailFrom, every later matching call too). An injected failure never reaches
// the target (except for the prefix a torn Append writes), so for example a failed Sync leaves
// the bytes unsynced in a MemEnv. Injected errors are IOError (EIO) or NoSpace (ENOSPC) with a
// message naming the file and "injected".
//
// Count(op) counts every call of op since construction or ResetCounts(), failed ones included.
//
// Thread safety: every method may be called from any thread, concurrently with the engine's
// background threads using the Env.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "zworld/engine/env.h"
#include "zworld/engine/status.h"

namespace zworld::engine::test {

enum class FaultOp : int {
  kAppend = 0,       // WritableFile::Append
  kSync,             // WritableFile::Sync
  kFlush,            // WritableFile::Flush
  kClose,            // WritableFile::Close
  kRead,             // SequentialFile::Read and RandomAccessFile::Read
  kNewWritable,      // Env::NewWritableFile
  kNewAppendable,    // Env::NewAppendableFile
  kNewSequential,    // Env::NewSequentialFile
  kNewRandomAccess,  // Env::NewRandomAccessFile
  kRename,           // Env::RenameFile
  kRemoveFile,       // Env::RemoveFile
  kSyncDir,          // Env::SyncDir
  kCreateDir,        // Env::CreateDir
  kLock,             // Env::LockFile
};
inline constexpr int kNumFaultOps = static_cast<int>(FaultOp::kLock) + 1;

// A printable name ("Append", "Sync", ...).
const char* FaultOpName(FaultOp op);

enum class FaultError {
  kIOError,  // Status::IOError, as for EIO
  kNoSpace,  // Status::NoSpace, as for ENOSPC
};

class FaultEnv : public EnvWrapper {
 public:
  // target must outlive this object and every file opened through it.
  explicit FaultEnv(Env* target);
  ~FaultEnv() override;

  // The nth (1 = the next) call of op matching file_filter fails with err; then the rule is
  // spent.
  void FailNth(FaultOp op, uint64_t n, FaultError err = FaultError::kIOError,
               const std::string& file_filter = "");
  // The nth call of op matching file_filter and every later one fail with err, until
  // ClearFaults().
  void FailFrom(FaultOp op, uint64_t n, FaultError err = FaultError::kIOError,
                const std::string& file_filter = "");
  // The nth Append matching file_filter hands only the first min(keep, size) bytes of its data
  // to the target, then fails with IOError (a write torn by a crash).
  void TearNthAppend(uint64_t n, size_t keep, const std::string& file_filter = "");
  // Removes every rule (counters are kept).
  void ClearFaults();

  // While frozen, every call that would change stored state (Append, Sync, Flush, Close of
  // writable files, file creation, renames, removals, SyncDir, CreateDir, RemoveDir, LockFile)
  // fails with IOError without reaching the target: combined with MemEnv::DropUnsyncedData
  // this turns a DB that is still open into one whose machine lost power. Reads still work.
  void SetFrozen(bool frozen);
  bool frozen() const { return frozen_.load(std::memory_order_acquire); }

  // Calls of op seen since construction or ResetCounts(), failed ones included.
  uint64_t Count(FaultOp op) const;
  void ResetCounts();
  // Failures injected since construction (frozen refusals excluded).
  uint64_t InjectedFaults() const { return injected_.load(std::memory_order_relaxed); }

  // Calls the target's DropUnsyncedData when the target is a MemEnv; returns false otherwise.
  bool DropUnsyncedData();

  // Env overrides.
  Status NewSequentialFile(const std::string& f, std::unique_ptr<SequentialFile>* r) override;
  Status NewRandomAccessFile(const std::string& f, std::unique_ptr<RandomAccessFile>* r) override;
  Status NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override;
  Status NewAppendableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override;
  Status RemoveFile(const std::string& f) override;
  Status CreateDir(const std::string& d) override;
  Status RemoveDir(const std::string& d) override;
  Status RenameFile(const std::string& s, const std::string& d) override;
  Status SyncDir(const std::string& d) override;
  Status LockFile(const std::string& f, std::unique_ptr<FileLock>* l) override;

  // Used by the file wrappers (fault_env.cc): counts a call of op on fname and returns the
  // injected error, or OK to let the call through. For kAppend, *tear_keep (if given) is set
  // to the byte count a torn Append writes before failing, or SIZE_MAX when it is not torn.
  Status Check(FaultOp op, const std::string& fname, const std::string& fname2 = "",
               size_t* tear_keep = nullptr);

 private:
  struct Rule {
    FaultOp op;
    uint64_t nth;
    bool sticky;
    FaultError err;
    std::string filter;
    size_t tear_keep;  // SIZE_MAX unless a torn Append
    uint64_t seen = 0;
    bool spent = false;
  };
  void AddRule(Rule rule);
  static bool Mutates(FaultOp op);

  std::mutex mu_;
  std::vector<Rule> rules_;  // guarded by mu_
  std::array<std::atomic<uint64_t>, kNumFaultOps> counts_{};
  std::atomic<uint64_t> injected_{0};
  std::atomic<bool> frozen_{false};
};

}  // namespace zworld::engine::test
