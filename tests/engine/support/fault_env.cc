#include "engine/support/fault_env.h"

#include <cstdint>
#include <utility>

namespace zworld::engine::test {

namespace {

Status MakeError(FaultError err, const std::string& fname) {
  if (err == FaultError::kNoSpace) return Status::NoSpace(fname, "injected fault (ENOSPC)");
  return Status::IOError(fname, "injected fault (EIO)");
}

class FaultWritableFile : public WritableFile {
 public:
  FaultWritableFile(FaultEnv* env, std::string fname, std::unique_ptr<WritableFile> target)
      : env_(env), fname_(std::move(fname)), target_(std::move(target)) {}

  Status Append(const Slice& data) override {
    size_t keep = SIZE_MAX;
    Status s = env_->Check(FaultOp::kAppend, fname_, "", &keep);
    if (!s.ok()) {
      if (keep != SIZE_MAX && !env_->frozen()) {
        Slice prefix(data.data(), keep < data.size() ? keep : data.size());
        target_->Append(prefix);  // the torn part reaches the file; the error is ours
        target_->Flush();
      }
      return s;
    }
    return target_->Append(data);
  }
  Status Close() override {
    Status s = env_->Check(FaultOp::kClose, fname_);
    if (!s.ok()) return s;
    return target_->Close();
  }
  Status Flush() override {
    Status s = env_->Check(FaultOp::kFlush, fname_);
    if (!s.ok()) return s;
    return target_->Flush();
  }
  Status Sync() override {
    Status s = env_->Check(FaultOp::kSync, fname_);
    if (!s.ok()) return s;
    return target_->Sync();
  }

 private:
  FaultEnv* env_;
  std::string fname_;
  std::unique_ptr<WritableFile> target_;
};

class FaultSequentialFile : public SequentialFile {
 public:
  FaultSequentialFile(FaultEnv* env, std::string fname, std::unique_ptr<SequentialFile> target)
      : env_(env), fname_(std::move(fname)), target_(std::move(target)) {}
  Status Read(size_t n, Slice* result, char* scratch) override {
    Status s = env_->Check(FaultOp::kRead, fname_);
    if (!s.ok()) return s;
    return target_->Read(n, result, scratch);
  }
  Status Skip(uint64_t n) override { return target_->Skip(n); }

 private:
  FaultEnv* env_;
  std::string fname_;
  std::unique_ptr<SequentialFile> target_;
};

class FaultRandomAccessFile : public RandomAccessFile {
 public:
  FaultRandomAccessFile(FaultEnv* env, std::string fname, std::unique_ptr<RandomAccessFile> target)
      : env_(env), fname_(std::move(fname)), target_(std::move(target)) {}
  Status Read(uint64_t offset, size_t n, Slice* result, char* scratch) const override {
    Status s = env_->Check(FaultOp::kRead, fname_);
    if (!s.ok()) return s;
    return target_->Read(offset, n, result, scratch);
  }
  bool IsMapped() const override { return target_->IsMapped(); }

 private:
  FaultEnv* env_;
  std::string fname_;
  std::unique_ptr<RandomAccessFile> target_;
};

}  // namespace

const char* FaultOpName(FaultOp op) {
  switch (op) {
    case FaultOp::kAppend:
      return "Append";
    case FaultOp::kSync:
      return "Sync";
    case FaultOp::kFlush:
      return "Flush";
    case FaultOp::kClose:
      return "Close";
    case FaultOp::kRead:
      return "Read";
    case FaultOp::kNewWritable:
      return "NewWritableFile";
    case FaultOp::kNewAppendable:
      return "NewAppendableFile";
    case FaultOp::kNewSequential:
      return "NewSequentialFile";
    case FaultOp::kNewRandomAccess:
      return "NewRandomAccessFile";
    case FaultOp::kRename:
      return "RenameFile";
    case FaultOp::kRemoveFile:
      return "RemoveFile";
    case FaultOp::kSyncDir:
      return "SyncDir";
    case FaultOp::kCreateDir:
      return "CreateDir";
    case FaultOp::kLock:
      return "LockFile";
  }
  return "?";
}

FaultEnv::FaultEnv(Env* target) : EnvWrapper(target) {}
FaultEnv::~FaultEnv() = default;

void FaultEnv::AddRule(Rule rule) {
  std::lock_guard<std::mutex> l(mu_);
  rules_.push_back(std::move(rule));
}

void FaultEnv::FailNth(FaultOp op, uint64_t n, FaultError err, const std::string& file_filter) {
  AddRule(Rule{op, n, false, err, file_filter, SIZE_MAX});
}

void FaultEnv::FailFrom(FaultOp op, uint64_t n, FaultError err, const std::string& file_filter) {
  AddRule(Rule{op, n, true, err, file_filter, SIZE_MAX});
}

void FaultEnv::TearNthAppend(uint64_t n, size_t keep, const std::string& file_filter) {
  AddRule(Rule{FaultOp::kAppend, n, false, FaultError::kIOError, file_filter, keep});
}

void FaultEnv::ClearFaults() {
  std::lock_guard<std::mutex> l(mu_);
  rules_.clear();
}

void FaultEnv::SetFrozen(bool frozen) { frozen_.store(frozen, std::memory_order_release); }

uint64_t FaultEnv::Count(FaultOp op) const {
  return counts_[static_cast<int>(op)].load(std::memory_order_relaxed);
}

void FaultEnv::ResetCounts() {
  for (auto& c : counts_) c.store(0, std::memory_order_relaxed);
}

bool FaultEnv::DropUnsyncedData() {
  auto* mem = dynamic_cast<MemEnv*>(target());
  if (mem == nullptr) return false;
  mem->DropUnsyncedData();
  return true;
}

bool FaultEnv::Mutates(FaultOp op) {
  switch (op) {
    case FaultOp::kRead:
    case FaultOp::kNewSequential:
    case FaultOp::kNewRandomAccess:
      return false;
    default:
      return true;
  }
}

Status FaultEnv::Check(FaultOp op, const std::string& fname, const std::string& fname2,
                       size_t* tear_keep) {
  if (tear_keep != nullptr) *tear_keep = SIZE_MAX;
  counts_[static_cast<int>(op)].fetch_add(1, std::memory_order_relaxed);
  if (frozen() && Mutates(op)) return Status::IOError(fname, "injected fault (frozen env)");
  std::lock_guard<std::mutex> l(mu_);
  for (Rule& r : rules_) {
    if (r.op != op || r.spent) continue;
    if (!r.filter.empty() && fname.find(r.filter) == std::string::npos &&
        fname2.find(r.filter) == std::string::npos) {
      continue;
    }
    ++r.seen;
    if (r.seen < r.nth) continue;
    if (!r.sticky) r.spent = true;
    if (tear_keep != nullptr) *tear_keep = r.tear_keep;
    injected_.fetch_add(1, std::memory_order_relaxed);
    return MakeError(r.err, fname);
  }
  return Status::OK();
}

Status FaultEnv::NewSequentialFile(const std::string& f, std::unique_ptr<SequentialFile>* r) {
  Status s = Check(FaultOp::kNewSequential, f);
  if (!s.ok()) return s;
  std::unique_ptr<SequentialFile> file;
  s = target()->NewSequentialFile(f, &file);
  if (s.ok()) *r = std::make_unique<FaultSequentialFile>(this, f, std::move(file));
  return s;
}

Status FaultEnv::NewRandomAccessFile(const std::string& f, std::unique_ptr<RandomAccessFile>* r) {
  Status s = Check(FaultOp::kNewRandomAccess, f);
  if (!s.ok()) return s;
  std::unique_ptr<RandomAccessFile> file;
  s = target()->NewRandomAccessFile(f, &file);
  if (s.ok()) *r = std::make_unique<FaultRandomAccessFile>(this, f, std::move(file));
  return s;
}

Status FaultEnv::NewWritableFile(const std::string& f, std::unique_ptr<WritableFile>* r) {
  Status s = Check(FaultOp::kNewWritable, f);
  if (!s.ok()) return s;
  std::unique_ptr<WritableFile> file;
  s = target()->NewWritableFile(f, &file);
  if (s.ok()) *r = std::make_unique<FaultWritableFile>(this, f, std::move(file));
  return s;
}

Status FaultEnv::NewAppendableFile(const std::string& f, std::unique_ptr<WritableFile>* r) {
  Status s = Check(FaultOp::kNewAppendable, f);
  if (!s.ok()) return s;
  std::unique_ptr<WritableFile> file;
  s = target()->NewAppendableFile(f, &file);
  if (s.ok()) *r = std::make_unique<FaultWritableFile>(this, f, std::move(file));
  return s;
}

Status FaultEnv::RemoveFile(const std::string& f) {
  Status s = Check(FaultOp::kRemoveFile, f);
  return s.ok() ? target()->RemoveFile(f) : s;
}

Status FaultEnv::CreateDir(const std::string& d) {
  Status s = Check(FaultOp::kCreateDir, d);
  return s.ok() ? target()->CreateDir(d) : s;
}

Status FaultEnv::RemoveDir(const std::string& d) {
  if (frozen()) return Status::IOError(d, "injected fault (frozen env)");
  return target()->RemoveDir(d);
}

Status FaultEnv::RenameFile(const std::string& src, const std::string& dst) {
  Status s = Check(FaultOp::kRename, src, dst);
  return s.ok() ? target()->RenameFile(src, dst) : s;
}

Status FaultEnv::SyncDir(const std::string& d) {
  Status s = Check(FaultOp::kSyncDir, d);
  return s.ok() ? target()->SyncDir(d) : s;
}

Status FaultEnv::LockFile(const std::string& f, std::unique_ptr<FileLock>* l) {
  Status s = Check(FaultOp::kLock, f);
  return s.ok() ? target()->LockFile(f, l) : s;
}

}  // namespace zworld::engine::test
