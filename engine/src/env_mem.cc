// An in-memory Env for tests: fast corruption sweeps and simulated power loss.
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "zworld/engine/env.h"

namespace zworld::engine {
namespace {

// The contents of one file. Shared by the name table and by open handles, so a removed
// file stays readable through handles opened before (as on POSIX).
class FileState {
 public:
  size_t Size() const {
    std::lock_guard<std::mutex> l(mu_);
    return data_.size();
  }
  void Append(const Slice& d) {
    std::lock_guard<std::mutex> l(mu_);
    data_.append(d.data(), d.size());
  }
  void Truncate() {
    std::lock_guard<std::mutex> l(mu_);
    data_.clear();
    synced_ = 0;
  }
  void MarkSynced() {
    std::lock_guard<std::mutex> l(mu_);
    synced_ = data_.size();
  }
  void DropUnsynced() {
    std::lock_guard<std::mutex> l(mu_);
    data_.resize(synced_);
  }
  // Copies up to n bytes at offset into scratch; returns the count.
  size_t Read(uint64_t offset, size_t n, char* scratch) const {
    std::lock_guard<std::mutex> l(mu_);
    if (offset >= data_.size()) return 0;
    size_t got = std::min(n, data_.size() - static_cast<size_t>(offset));
    std::memcpy(scratch, data_.data() + offset, got);
    return got;
  }

 private:
  mutable std::mutex mu_;
  std::string data_;   // guarded by mu_
  size_t synced_ = 0;  // guarded by mu_; bytes that survive DropUnsynced
};

using FileRef = std::shared_ptr<FileState>;

class MemSequentialFile final : public SequentialFile {
 public:
  explicit MemSequentialFile(FileRef f) : file_(std::move(f)) {}
  Status Read(size_t n, Slice* result, char* scratch) override {
    size_t got = file_->Read(pos_, n, scratch);
    pos_ += got;
    *result = Slice(scratch, got);
    return Status::OK();
  }
  Status Skip(uint64_t n) override {
    pos_ = std::min<uint64_t>(pos_ + n, file_->Size());
    return Status::OK();
  }

 private:
  FileRef file_;
  uint64_t pos_ = 0;
};

class MemRandomAccessFile final : public RandomAccessFile {
 public:
  MemRandomAccessFile(FileRef f, std::string name) : file_(std::move(f)), name_(std::move(name)) {}
  Status Read(uint64_t offset, size_t n, Slice* result, char* scratch) const override {
    if (offset > file_->Size()) {
      *result = Slice();
      return Status::IOError(name_, "read past end of file");
    }
    *result = Slice(scratch, file_->Read(offset, n, scratch));
    return Status::OK();
  }

 private:
  FileRef file_;
  std::string name_;
};

class MemWritableFile final : public WritableFile {
 public:
  explicit MemWritableFile(FileRef f) : file_(std::move(f)) {}
  Status Append(const Slice& data) override {
    file_->Append(data);
    return Status::OK();
  }
  Status Close() override { return Status::OK(); }
  Status Flush() override { return Status::OK(); }
  Status Sync() override {
    file_->MarkSynced();
    return Status::OK();
  }

 private:
  FileRef file_;
};

class MemFileLock final : public FileLock {
 public:
  explicit MemFileLock(std::string n) : name(std::move(n)) {}
  std::string name;
};

class InMemoryEnv final : public MemEnv {
 public:
  explicit InMemoryEnv(Env* base) : base_(base) {}

  Status NewSequentialFile(const std::string& f, std::unique_ptr<SequentialFile>* r) override {
    FileRef file = Find(f);
    if (!file) return Status::NotFound(f, "no such file");
    *r = std::make_unique<MemSequentialFile>(std::move(file));
    return Status::OK();
  }
  Status NewRandomAccessFile(const std::string& f, std::unique_ptr<RandomAccessFile>* r) override {
    FileRef file = Find(f);
    if (!file) return Status::NotFound(f, "no such file");
    *r = std::make_unique<MemRandomAccessFile>(std::move(file), f);
    return Status::OK();
  }
  Status NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    std::lock_guard<std::mutex> l(mu_);
    FileRef& file = files_[f];
    // Truncating replaces the contents seen by every handle, as O_TRUNC does.
    if (file) file->Truncate();
    else file = std::make_shared<FileState>();
    *r = std::make_unique<MemWritableFile>(file);
    return Status::OK();
  }
  Status NewAppendableFile(const std::string& f, std::unique_ptr<WritableFile>* r) override {
    std::lock_guard<std::mutex> l(mu_);
    FileRef& file = files_[f];
    if (!file) file = std::make_shared<FileState>();
    *r = std::make_unique<MemWritableFile>(file);
    return Status::OK();
  }
  bool FileExists(const std::string& f) override {
    std::lock_guard<std::mutex> l(mu_);
    return files_.count(f) != 0 || dirs_.count(f) != 0;
  }
  Status GetChildren(const std::string& dir, std::vector<std::string>* result) override {
    result->clear();
    std::lock_guard<std::mutex> l(mu_);
    const std::string prefix = dir.empty() || dir.back() == '/' ? dir : dir + "/";
    for (const auto& [name, file] : files_) {
      if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0 &&
          name.find('/', prefix.size()) == std::string::npos) {
        result->push_back(name.substr(prefix.size()));
      }
    }
    if (result->empty() && dirs_.count(dir) == 0) return Status::NotFound(dir, "no such folder");
    return Status::OK();
  }
  Status RemoveFile(const std::string& f) override {
    std::lock_guard<std::mutex> l(mu_);
    if (files_.erase(f) == 0) return Status::NotFound(f, "no such file");
    return Status::OK();
  }
  Status CreateDir(const std::string& d) override {
    std::lock_guard<std::mutex> l(mu_);
    dirs_.insert(d);
    return Status::OK();
  }
  Status RemoveDir(const std::string& d) override {
    std::lock_guard<std::mutex> l(mu_);
    dirs_.erase(d);
    return Status::OK();
  }
  Status GetFileSize(const std::string& f, uint64_t* size) override {
    FileRef file = Find(f);
    if (!file) return Status::NotFound(f, "no such file");
    *size = file->Size();
    return Status::OK();
  }
  Status RenameFile(const std::string& src, const std::string& dst) override {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(src);
    if (it == files_.end()) return Status::NotFound(src, "no such file");
    FileRef file = it->second;
    files_.erase(it);
    files_[dst] = std::move(file);
    return Status::OK();
  }
  Status SyncDir(const std::string&) override { return Status::OK(); }
  Status LockFile(const std::string& f, std::unique_ptr<FileLock>* lock) override {
    std::lock_guard<std::mutex> l(mu_);
    if (!locks_.insert(f).second) return Status::Busy(f, "already locked");
    if (!files_[f]) files_[f] = std::make_shared<FileState>();
    *lock = std::make_unique<MemFileLock>(f);
    return Status::OK();
  }
  Status UnlockFile(std::unique_ptr<FileLock> lock) override {
    std::lock_guard<std::mutex> l(mu_);
    locks_.erase(static_cast<MemFileLock*>(lock.get())->name);
    return Status::OK();
  }
  std::thread StartThread(std::function<void()> fn) override {
    return base_->StartThread(std::move(fn));
  }
  uint64_t NowMicros() override { return base_->NowMicros(); }
  void SleepForMicroseconds(int micros) override { base_->SleepForMicroseconds(micros); }

  void DropUnsyncedData() override {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [name, file] : files_) file->DropUnsynced();
  }

 private:
  FileRef Find(const std::string& f) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = files_.find(f);
    return it == files_.end() ? nullptr : it->second;
  }

  Env* const base_;
  std::mutex mu_;
  std::map<std::string, FileRef> files_;  // guarded by mu_
  std::set<std::string> dirs_;            // guarded by mu_
  std::set<std::string> locks_;           // guarded by mu_
};

}  // namespace

std::unique_ptr<MemEnv> NewMemEnv(Env* base) { return std::make_unique<InMemoryEnv>(base); }

}  // namespace zworld::engine
