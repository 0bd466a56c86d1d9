// The POSIX Env: buffered sequential writes, mmap'd random reads, fcntl locks.
#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "zworld/engine/env.h"

namespace zworld::engine {
namespace {

Status PosixError(const std::string& context, int err) {
  if (err == ENOENT) return Status::NotFound(context, std::strerror(err));
  if (err == ENOSPC) return Status::NoSpace(context, std::strerror(err));
  return Status::IOError(context, std::strerror(err));
}

class PosixSequentialFile final : public SequentialFile {
 public:
  PosixSequentialFile(std::string name, int fd) : name_(std::move(name)), fd_(fd) {}
  ~PosixSequentialFile() override { ::close(fd_); }

  Status Read(size_t n, Slice* result, char* scratch) override {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::read(fd_, scratch + got, n - got);
      if (r < 0) {
        if (errno == EINTR) continue;
        *result = Slice(scratch, got);
        return PosixError(name_, errno);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    *result = Slice(scratch, got);
    return Status::OK();
  }

  Status Skip(uint64_t n) override {
    if (::lseek(fd_, static_cast<off_t>(n), SEEK_CUR) == static_cast<off_t>(-1)) {
      return PosixError(name_, errno);
    }
    return Status::OK();
  }

 private:
  const std::string name_;
  const int fd_;
};

// Reads through a read-only mapping of the whole file: no system call and no copy per read.
class PosixMmapFile final : public RandomAccessFile {
 public:
  PosixMmapFile(std::string name, char* base, size_t length)
      : name_(std::move(name)), base_(base), length_(length) {}
  ~PosixMmapFile() override {
    if (length_ > 0) ::munmap(base_, length_);
  }

  Status Read(uint64_t offset, size_t n, Slice* result, char*) const override {
    if (offset > length_) {
      *result = Slice();
      return Status::IOError(name_, "read past end of file");
    }
    size_t avail = length_ - offset;
    *result = Slice(base_ + offset, n < avail ? n : avail);
    return Status::OK();
  }
  bool IsMapped() const override { return true; }

 private:
  const std::string name_;
  char* const base_;
  const size_t length_;
};

// pread-based reads, used when a mapping fails (e.g. address space exhausted).
class PosixReadFile final : public RandomAccessFile {
 public:
  PosixReadFile(std::string name, int fd) : name_(std::move(name)), fd_(fd) {}
  ~PosixReadFile() override { ::close(fd_); }

  Status Read(uint64_t offset, size_t n, Slice* result, char* scratch) const override {
    size_t got = 0;
    while (got < n) {
      ssize_t r = ::pread(fd_, scratch + got, n - got, static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        *result = Slice();
        return PosixError(name_, errno);
      }
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    *result = Slice(scratch, got);
    return Status::OK();
  }

 private:
  const std::string name_;
  const int fd_;
};

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string name, int fd) : name_(std::move(name)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) Close();
  }

  Status Append(const Slice& data) override {
    // Small appends are gathered; large ones go straight to the kernel.
    if (buf_.size() + data.size() <= kBufferSize) {
      buf_.append(data.data(), data.size());
      return Status::OK();
    }
    Status s = FlushBuffer();
    if (!s.ok()) return s;
    if (data.size() <= kBufferSize) {
      buf_.append(data.data(), data.size());
      return Status::OK();
    }
    return WriteRaw(data.data(), data.size());
  }

  Status Close() override {
    Status s = FlushBuffer();
    if (fd_ >= 0 && ::close(fd_) < 0 && s.ok()) s = PosixError(name_, errno);
    fd_ = -1;
    return s;
  }

  Status Flush() override { return FlushBuffer(); }

  Status Sync() override {
    Status s = FlushBuffer();
    if (!s.ok()) return s;
    if (::fdatasync(fd_) < 0) return PosixError(name_ + ": fdatasync", errno);
    return Status::OK();
  }

 private:
  static constexpr size_t kBufferSize = 64 * 1024;

  Status FlushBuffer() {
    Status s = WriteRaw(buf_.data(), buf_.size());
    buf_.clear();
    return s;
  }

  Status WriteRaw(const char* p, size_t n) {
    while (n > 0) {
      ssize_t r = ::write(fd_, p, n);
      if (r < 0) {
        if (errno == EINTR) continue;
        return PosixError(name_, errno);
      }
      p += r;
      n -= static_cast<size_t>(r);
    }
    return Status::OK();
  }

  const std::string name_;
  int fd_;
  std::string buf_;
};

class PosixFileLock final : public FileLock {
 public:
  PosixFileLock(int fd, std::string name) : fd(fd), name(std::move(name)) {}
  int fd;
  std::string name;
};

class PosixEnv final : public Env {
 public:
  Status NewSequentialFile(const std::string& f, std::unique_ptr<SequentialFile>* r) override {
    int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(f, errno);
    *r = std::make_unique<PosixSequentialFile>(f, fd);
    return Status::OK();
  }

  Status NewRandomAccessFile(const std::string& f, std::unique_ptr<RandomAccessFile>* r) override {
    int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return PosixError(f, errno);
    struct stat st;
    if (::fstat(fd, &st) < 0) {
      Status s = PosixError(f, errno);
      ::close(fd);
      return s;
    }
    size_t length = static_cast<size_t>(st.st_size);
    if (length == 0) {
      *r = std::make_unique<PosixMmapFile>(f, nullptr, 0);
      ::close(fd);
      return Status::OK();
    }
    void* base = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) {
      *r = std::make_unique<PosixReadFile>(f, fd);
      return Status::OK();
    }
    ::close(fd);  // the mapping stays valid
    *r = std::make_unique<PosixMmapFile>(f, static_cast<char*>(base), length);
    return Status::OK();
  }

  Status NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    int fd = ::open(f.c_str(), O_TRUNC | O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError(f, errno);
    *r = std::make_unique<PosixWritableFile>(f, fd);
    return Status::OK();
  }

  Status NewAppendableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    int fd = ::open(f.c_str(), O_APPEND | O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError(f, errno);
    *r = std::make_unique<PosixWritableFile>(f, fd);
    return Status::OK();
  }

  bool FileExists(const std::string& f) override { return ::access(f.c_str(), F_OK) == 0; }

  Status GetChildren(const std::string& dir, std::vector<std::string>* result) override {
    result->clear();
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return PosixError(dir, errno);
    while (struct dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      result->emplace_back(e->d_name);
    }
    ::closedir(d);
    return Status::OK();
  }

  Status RemoveFile(const std::string& f) override {
    if (::unlink(f.c_str()) < 0) return PosixError(f, errno);
    return Status::OK();
  }

  Status CreateDir(const std::string& d) override {
    if (::mkdir(d.c_str(), 0755) < 0 && errno != EEXIST) return PosixError(d, errno);
    return Status::OK();
  }

  Status RemoveDir(const std::string& d) override {
    if (::rmdir(d.c_str()) < 0) return PosixError(d, errno);
    return Status::OK();
  }

  Status GetFileSize(const std::string& f, uint64_t* size) override {
    struct stat st;
    if (::stat(f.c_str(), &st) < 0) {
      *size = 0;
      return PosixError(f, errno);
    }
    *size = static_cast<uint64_t>(st.st_size);
    return Status::OK();
  }

  Status RenameFile(const std::string& src, const std::string& dst) override {
    if (::rename(src.c_str(), dst.c_str()) < 0) return PosixError(src, errno);
    return Status::OK();
  }

  Status SyncDir(const std::string& d) override {
    int fd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError(d, errno);
    Status s;
    if (::fsync(fd) < 0) s = PosixError(d + ": fsync", errno);
    ::close(fd);
    return s;
  }

  Status LockFile(const std::string& f, std::unique_ptr<FileLock>* lock) override {
    // fcntl locks are per process, so a second open from this process must be refused by
    // remembering which files this process holds.
    std::lock_guard<std::mutex> l(locks_mu_);
    if (locked_.count(f) != 0) return Status::Busy(f, "already locked by this process");
    int fd = ::open(f.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return PosixError(f, errno);
    struct flock fl;
    std::memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    if (::fcntl(fd, F_SETLK, &fl) < 0) {
      int err = errno;
      ::close(fd);
      if (err == EACCES || err == EAGAIN) {
        return Status::Busy(f, "locked by another process");
      }
      return PosixError(f, err);
    }
    locked_.insert(f);
    *lock = std::make_unique<PosixFileLock>(fd, f);
    return Status::OK();
  }

  Status UnlockFile(std::unique_ptr<FileLock> lock) override {
    auto* l = static_cast<PosixFileLock*>(lock.get());
    std::lock_guard<std::mutex> g(locks_mu_);
    locked_.erase(l->name);
    ::close(l->fd);  // closing the descriptor releases the fcntl lock
    return Status::OK();
  }

  uint64_t NowMicros() override {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now().time_since_epoch())
                                     .count());
  }

  void SleepForMicroseconds(int micros) override { ::usleep(static_cast<useconds_t>(micros)); }

 private:
  std::mutex locks_mu_;
  std::set<std::string> locked_;  // guarded by locks_mu_
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();  // never deleted: background threads may outlive main
  return env;
}

Status WriteStringToFile(Env* env, const Slice& data, const std::string& fname, bool sync) {
  std::unique_ptr<WritableFile> file;
  Status s = env->NewWritableFile(fname, &file);
  if (!s.ok()) return s;
  s = file->Append(data);
  if (s.ok() && sync) s = file->Sync();
  if (s.ok()) s = file->Close();
  if (!s.ok()) env->RemoveFile(fname);
  return s;
}

Status ReadFileToString(Env* env, const std::string& fname, std::string* data) {
  data->clear();
  std::unique_ptr<SequentialFile> file;
  Status s = env->NewSequentialFile(fname, &file);
  if (!s.ok()) return s;
  constexpr size_t kChunk = 8192;
  std::string scratch(kChunk, '\0');
  while (true) {
    Slice fragment;
    s = file->Read(kChunk, &fragment, scratch.data());
    if (!s.ok()) break;
    data->append(fragment.data(), fragment.size());
    if (fragment.size() < kChunk) break;
  }
  return s;
}

}  // namespace zworld::engine
