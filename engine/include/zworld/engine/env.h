// Env: every file the engine touches, every thread it starts and every clock it reads go
// through this interface, so that tests can substitute an in-memory file system or inject
// faults (a failed fsync, a full disk, a torn write, power loss).
//
// Env::Default() is the POSIX implementation; NewMemEnv() an in-memory one. EnvWrapper
// forwards every call to a target Env, so a test overrides just the call it wants to break.
//
// Thread safety: an Env and its files may be used from several threads unless a class says
// otherwise (WritableFile and SequentialFile are used by one thread at a time).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "zworld/engine/slice.h"
#include "zworld/engine/status.h"

namespace zworld::engine {

// A file read from start to end (WAL and MANIFEST replay). One thread at a time.
class SequentialFile {
 public:
  virtual ~SequentialFile() = default;
  // Reads up to n bytes. *result points into scratch (which holds at least n bytes) or into
  // memory the file owns; it stays valid until the next call. A short read means end of file.
  virtual Status Read(size_t n, Slice* result, char* scratch) = 0;
  virtual Status Skip(uint64_t n) = 0;
};

// A file read at arbitrary offsets (SSTables). Safe for concurrent use.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Reads up to n bytes at offset. *result points into scratch or into memory the file
  // owns for its whole life (then the caller may keep it without copying, see IsMapped()).
  virtual Status Read(uint64_t offset, size_t n, Slice* result, char* scratch) const = 0;
  // True when Read results point into memory that lives as long as the file.
  virtual bool IsMapped() const { return false; }
};

// A file written sequentially (WAL, SSTables, MANIFEST, info log). One thread at a time.
class WritableFile {
 public:
  virtual ~WritableFile() = default;
  virtual Status Append(const Slice& data) = 0;
  virtual Status Close() = 0;
  // Hands buffered data to the operating system (no durability promise).
  virtual Status Flush() = 0;
  // Makes everything appended so far durable (fdatasync). A failed Sync is never retried
  // as if it were fine: the caller latches the error.
  virtual Status Sync() = 0;
};

// An advisory lock held on a file (the LOCK file of a data folder).
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class Env {
 public:
  virtual ~Env() = default;

  // The process-wide POSIX Env. Never deleted.
  static Env* Default();

  virtual Status NewSequentialFile(const std::string& fname,
                                   std::unique_ptr<SequentialFile>* result) = 0;
  virtual Status NewRandomAccessFile(const std::string& fname,
                                     std::unique_ptr<RandomAccessFile>* result) = 0;
  // Creates or truncates fname.
  virtual Status NewWritableFile(const std::string& fname,
                                 std::unique_ptr<WritableFile>* result) = 0;
  // Opens fname for appending, creating it if missing.
  virtual Status NewAppendableFile(const std::string& fname,
                                   std::unique_ptr<WritableFile>* result) = 0;

  virtual bool FileExists(const std::string& fname) = 0;
  // Names (not paths) of the entries of dir, without "." and "..".
  virtual Status GetChildren(const std::string& dir, std::vector<std::string>* result) = 0;
  virtual Status RemoveFile(const std::string& fname) = 0;
  virtual Status CreateDir(const std::string& dirname) = 0;  // OK if it exists
  virtual Status RemoveDir(const std::string& dirname) = 0;
  virtual Status GetFileSize(const std::string& fname, uint64_t* size) = 0;
  // Atomically replaces dst with src (POSIX rename).
  virtual Status RenameFile(const std::string& src, const std::string& dst) = 0;
  // Makes the directory's entries (creations, renames, removals) durable.
  virtual Status SyncDir(const std::string& dirname) = 0;

  // Locks fname (creating it) so no second process opens the same data folder.
  // Returns Busy if another process (or this one) holds it.
  virtual Status LockFile(const std::string& fname, std::unique_ptr<FileLock>* lock) = 0;
  virtual Status UnlockFile(std::unique_ptr<FileLock> lock) = 0;

  // Starts a thread running fn. The caller joins it.
  virtual std::thread StartThread(std::function<void()> fn) { return std::thread(std::move(fn)); }

  // Microseconds since some fixed point; only differences are meaningful.
  virtual uint64_t NowMicros() = 0;
  virtual void SleepForMicroseconds(int micros) = 0;
};

// An Env that keeps every file in memory, for tests. It remembers, per file, how many bytes
// were synced, so a test can simulate power loss with it. It is independent of base except
// for the clock and threads, which it takes from base.
class MemEnv : public Env {
 public:
  // Power loss: every file is cut back to the bytes covered by its last successful Sync.
  virtual void DropUnsyncedData() = 0;
};
std::unique_ptr<MemEnv> NewMemEnv(Env* base);

// Forwards every call to target(). Subclass it and override what a test needs to break.
class EnvWrapper : public Env {
 public:
  explicit EnvWrapper(Env* target) : target_(target) {}
  Env* target() const { return target_; }

  Status NewSequentialFile(const std::string& f, std::unique_ptr<SequentialFile>* r) override {
    return target_->NewSequentialFile(f, r);
  }
  Status NewRandomAccessFile(const std::string& f,
                             std::unique_ptr<RandomAccessFile>* r) override {
    return target_->NewRandomAccessFile(f, r);
  }
  Status NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    return target_->NewWritableFile(f, r);
  }
  Status NewAppendableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    return target_->NewAppendableFile(f, r);
  }
  bool FileExists(const std::string& f) override { return target_->FileExists(f); }
  Status GetChildren(const std::string& d, std::vector<std::string>* r) override {
    return target_->GetChildren(d, r);
  }
  Status RemoveFile(const std::string& f) override { return target_->RemoveFile(f); }
  Status CreateDir(const std::string& d) override { return target_->CreateDir(d); }
  Status RemoveDir(const std::string& d) override { return target_->RemoveDir(d); }
  Status GetFileSize(const std::string& f, uint64_t* s) override {
    return target_->GetFileSize(f, s);
  }
  Status RenameFile(const std::string& s, const std::string& d) override {
    return target_->RenameFile(s, d);
  }
  Status SyncDir(const std::string& d) override { return target_->SyncDir(d); }
  Status LockFile(const std::string& f, std::unique_ptr<FileLock>* l) override {
    return target_->LockFile(f, l);
  }
  Status UnlockFile(std::unique_ptr<FileLock> l) override {
    return target_->UnlockFile(std::move(l));
  }
  std::thread StartThread(std::function<void()> fn) override {
    return target_->StartThread(std::move(fn));
  }
  uint64_t NowMicros() override { return target_->NowMicros(); }
  void SleepForMicroseconds(int m) override { target_->SleepForMicroseconds(m); }

 private:
  Env* target_;
};

// Convenience helpers built on an Env.
Status WriteStringToFile(Env* env, const Slice& data, const std::string& fname, bool sync);
Status ReadFileToString(Env* env, const std::string& fname, std::string* data);

}  // namespace zworld::engine
