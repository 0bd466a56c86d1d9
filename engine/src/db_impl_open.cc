// DBImpl: opening a data folder (lock, CURRENT -> MANIFEST, WAL replay), creating a new
// one, and DestroyDB.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "db_impl.h"
#include "filename.h"
#include "log_reader.h"
#include "write_batch_internal.h"

namespace zworld::engine {

namespace {

Status CheckOptions(const Options& o) {
  if (o.env == nullptr) return Status::InvalidArgument("options.env is null");
  if (o.num_levels < 2 || o.num_levels > kMaxNumLevels) {
    return Status::InvalidArgument("options.num_levels must be between 2 and 8");
  }
  if (o.write_buffer_size < (4u << 10)) {
    return Status::InvalidArgument("options.write_buffer_size must be at least 4 KiB");
  }
  if (o.max_immutable_memtables < 1) {
    return Status::InvalidArgument("options.max_immutable_memtables must be at least 1");
  }
  if (o.l0_compaction_trigger < 1 || o.l0_slowdown_writes_trigger < o.l0_compaction_trigger ||
      o.l0_stop_writes_trigger < o.l0_slowdown_writes_trigger) {
    return Status::InvalidArgument(
        "options need 1 <= l0_compaction_trigger <= l0_slowdown_writes_trigger <= "
        "l0_stop_writes_trigger");
  }
  if (o.target_file_size == 0 || o.max_bytes_for_level_base == 0 || o.level_size_multiplier < 1) {
    return Status::InvalidArgument(
        "options.target_file_size, max_bytes_for_level_base and level_size_multiplier must be "
        "positive");
  }
  if (o.max_open_files < 1) return Status::InvalidArgument("options.max_open_files must be >= 1");
  return Status::OK();
}

std::string BareName(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

Status DB::Open(const Options& options, const std::string& path, std::unique_ptr<DB>* db) {
  db->reset();
  Status s = CheckOptions(options);
  if (!s.ok()) return s;
  auto impl = std::make_unique<DBImpl>(options, path);
  {
    std::unique_lock<std::mutex> l(impl->mu_);
    VersionEdit edit;
    s = impl->Recover(&edit);
    if (s.ok()) {
      // A fresh WAL: never append after a torn tail.
      uint64_t log_number = impl->versions_->NewFileNumber();
      std::unique_ptr<WritableFile> file;
      s = options.env->NewWritableFile(LogFileName(path, log_number), &file);
      if (s.ok()) {
        edit.SetLogNumber(log_number);
        impl->logfile_ = std::move(file);
        impl->logfile_number_ = log_number;
        impl->log_ = std::make_unique<log::Writer>(impl->logfile_.get());
        impl->mem_ = new MemTable();
        impl->mem_->Ref();
        // Writes a fresh MANIFEST: the one recovered from is never appended to.
        s = impl->versions_->LogAndApply(&edit, &l);
      }
    }
    impl->pending_outputs_.clear();  // the tables written by recovery are in the MANIFEST now
    if (s.ok()) {
      impl->InstallSuperVersion();
      impl->DeleteObsoleteFiles(&l);
      Log(impl->info_log_.get(), "opened %s: %s", path.c_str(),
          impl->versions_->current()->DebugString().c_str());
    }
  }
  if (!s.ok()) {
    Log(impl->info_log_.get(), "open failed: %s", s.ToString().c_str());
    impl->Close();
    return s;
  }
  DBImpl* raw = impl.get();
  impl->flush_thread_ = options.env->StartThread([raw] { raw->FlushThread(); });
  impl->compaction_thread_ = options.env->StartThread([raw] { raw->CompactionThread(); });
  *db = std::move(impl);
  return Status::OK();
}

Status DBImpl::NewDB() {
  VersionEdit edit;
  edit.SetLogNumber(0);
  edit.SetNextFileNumber(2);
  edit.SetLastSequence(0);
  const std::string manifest = DescriptorFileName(dbname_, 1);
  std::unique_ptr<WritableFile> file;
  Status s = options_.env->NewWritableFile(manifest, &file);
  if (!s.ok()) return s;
  {
    log::Writer writer(file.get());
    std::string record;
    edit.EncodeTo(&record);
    s = writer.AddRecord(record);
    if (s.ok()) s = file->Sync();
    Status c = file->Close();
    if (s.ok()) s = c;
  }
  if (s.ok()) s = SetCurrentFile(options_.env, dbname_, 1);
  if (!s.ok() && !CurrentFileNames(options_.env, dbname_, 1)) options_.env->RemoveFile(manifest);
  return s;
}

Status DBImpl::Recover(VersionEdit* edit) {
  Env* env = options_.env;
  Status s = env->CreateDir(dbname_);
  if (!s.ok()) return s;
  s = env->LockFile(LockFileName(dbname_), &db_lock_);
  if (!s.ok()) return s;
  if (options_.info_log) {
    // The info log is a convenience: a folder where LOG cannot be written still opens.
    InfoLog::Open(env, dbname_, &info_log_);
  }
  if (options_.block_cache_bytes > 0) {
    block_cache_ = std::make_unique<BlockCache>(options_.block_cache_bytes);
  }
  // Some descriptors stay for the WAL, the MANIFEST, LOCK and LOG.
  table_cache_ = std::make_unique<TableCache>(dbname_, options_, block_cache_.get(),
                                              std::max(options_.max_open_files - 10, 16));
  versions_ = std::make_unique<VersionSet>(dbname_, &options_, table_cache_.get(), info_log_.get());

  if (!env->FileExists(CurrentFileName(dbname_))) {
    // Without CURRENT, a folder that holds a MANIFEST or tables is a damaged database, not
    // an empty one: creating a fresh database over it would hide all its data.
    std::vector<std::string> existing;
    env->GetChildren(dbname_, &existing);
    for (const auto& name : existing) {
      uint64_t number;
      FileType type;
      // MANIFEST-000001 alone is what a creation interrupted before CURRENT leaves behind.
      if (ParseFileName(name, &number, &type) &&
          ((type == FileType::kDescriptorFile && number > 1) || type == FileType::kTableFile ||
           type == FileType::kLogFile)) {
        return Status::Corruption("CURRENT", "is missing but the folder holds " + name);
      }
    }
    if (!options_.create_if_missing) {
      return Status::InvalidArgument(dbname_, "does not exist (create_if_missing is false)");
    }
    Log(info_log_.get(), "creating a new database in %s", dbname_.c_str());
    s = NewDB();
    if (!s.ok()) return s;
  } else if (options_.error_if_exists) {
    return Status::InvalidArgument(dbname_, "exists (error_if_exists is true)");
  }

  uint64_t manifest_torn = 0;
  s = versions_->Recover(&manifest_torn);
  if (!s.ok()) return s;

  // Every table the MANIFEST names must be there; WALs at or after its log number are
  // replayed in order.
  std::vector<std::string> children;
  s = env->GetChildren(dbname_, &children);
  if (!s.ok()) return s;
  std::set<uint64_t> expected;
  versions_->AddLiveFiles(&expected);
  std::vector<uint64_t> logs;
  for (const auto& name : children) {
    uint64_t number;
    FileType type;
    if (!ParseFileName(name, &number, &type)) continue;
    versions_->MarkFileNumberUsed(number);
    if (type == FileType::kTableFile) expected.erase(number);
    if (type == FileType::kLogFile && number >= versions_->LogNumber()) logs.push_back(number);
  }
  if (!expected.empty()) {
    char buf[128];
    std::snprintf(buf, sizeof(buf), "%zu table files named by the MANIFEST are missing, e.g. %s",
                  expected.size(), BareName(TableFileName(dbname_, *expected.begin())).c_str());
    return Status::Corruption(dbname_, buf);
  }
  // The WAL the MANIFEST names as the oldest still needed is deleted only after a later
  // edit that moves the log number past it is synced. If it is gone, the MANIFEST lost an
  // edit that was once durable (damage in its last record that looks like a torn tail, or a
  // cut at a record boundary): opening would silently roll back a flush.
  if (versions_->LogNumber() != 0 &&
      !env->FileExists(LogFileName(dbname_, versions_->LogNumber()))) {
    char buf[200];
    std::snprintf(buf, sizeof(buf),
                  "MANIFEST-%06" PRIu64 " names log %06" PRIu64
                  ".log, which no longer exists: the MANIFEST lost a durable edit "
                  "(%" PRIu64 " bytes of damaged tail dropped)",
                  versions_->ManifestFileNumber(), versions_->LogNumber(), manifest_torn);
    return Status::Corruption(dbname_, buf);
  }
  std::sort(logs.begin(), logs.end());
  SequenceNumber max_sequence = versions_->LastSequence();
  char buf[160];
  std::snprintf(buf, sizeof(buf),
                "manifest=MANIFEST-%06" PRIu64 " manifest_torn_tail_bytes=%" PRIu64
                " wal_files=%zu",
                versions_->ManifestFileNumber(), manifest_torn, logs.size());
  recovery_report_ = buf;
  for (uint64_t log_number : logs) {
    s = RecoverLogFile(log_number, &max_sequence, edit);
    if (!s.ok()) return s;
  }
  versions_->SetLastSequence(max_sequence);
  Log(info_log_.get(), "recovered: %s last_sequence=%" PRIu64, recovery_report_.c_str(),
      max_sequence);
  return Status::OK();
}

namespace {

struct WalReporter : public log::Reader::Reporter {
  InfoLog* info_log;
  void Corruption(uint64_t offset, size_t bytes, const Status& reason) override {
    Log(info_log, "WAL damage: %zu bytes dropped at offset %" PRIu64 ": %s", bytes, offset,
        reason.ToString().c_str());
  }
};

}  // namespace

Status DBImpl::RecoverLogFile(uint64_t log_number, SequenceNumber* max_sequence,
                              VersionEdit* edit) {
  Env* env = options_.env;
  const std::string fname = LogFileName(dbname_, log_number);
  const std::string bare = BareName(fname);
  std::unique_ptr<SequentialFile> file;
  Status s = env->NewSequentialFile(fname, &file);
  if (!s.ok()) return s;

  WalReporter reporter;
  reporter.info_log = info_log_.get();
  log::Reader reader(file.get(), bare, &reporter, /*checksum=*/true);
  Slice record;
  std::string scratch;
  WriteBatch batch;
  MemTable* mem = nullptr;
  uint64_t records = 0;
  auto flush_mem = [&]() -> Status {
    std::vector<uint64_t> table_numbers;
    Status fs = WriteLevel0Table(mem, edit, nullptr, nullptr, &table_numbers);
    mem->Unref();
    mem = nullptr;
    return fs;
  };
  while (s.ok() && reader.ReadRecord(&record, &scratch)) {
    char where[64];
    std::snprintf(where, sizeof(where), "record at offset %" PRIu64, reader.LastRecordOffset());
    if (record.size() < WriteBatchInternal::kHeader) {
      s = Status::Corruption(bare, std::string("WAL record too short: ") + where);
      break;
    }
    WriteBatchInternal::SetContents(&batch, record);
    if (mem == nullptr) {
      mem = new MemTable();
      mem->Ref();
    }
    s = WriteBatchInternal::InsertInto(&batch, mem);
    if (!s.ok()) {
      s = Status::Corruption(bare, s.message() + " (" + where + ")");
      break;
    }
    records++;
    uint32_t count = WriteBatchInternal::Count(&batch);
    SequenceNumber last = WriteBatchInternal::Sequence(&batch) + (count > 0 ? count - 1 : 0);
    *max_sequence = std::max(*max_sequence, last);
    if (mem->ApproximateMemoryUsage() > options_.write_buffer_size) s = flush_mem();
  }
  if (s.ok() && !reader.status().ok()) s = reader.status();
  if (s.ok() && reader.corruption_before_valid_record()) {
    char msg[96];
    std::snprintf(msg, sizeof(msg),
                  "damaged records at offset %" PRIu64 " (%" PRIu64
                  " bytes dropped) followed by valid ones",
                  reader.first_corruption_offset(), reader.dropped_bytes());
    s = Status::Corruption(bare, msg);
  }
  if (s.ok() && mem != nullptr) s = flush_mem();
  if (mem != nullptr) mem->Unref();
  if (!s.ok()) return s;

  char buf[160];
  if (reader.dropped_bytes() > 0) {
    std::snprintf(buf, sizeof(buf),
                  " %s:records=%" PRIu64 ",torn_tail_bytes=%" PRIu64 ",torn_tail_offset=%" PRIu64,
                  bare.c_str(), records, reader.dropped_bytes(), reader.first_corruption_offset());
    Log(info_log_.get(),
        "%s: cut a torn tail of %" PRIu64 " bytes at offset %" PRIu64 " after %" PRIu64 " records",
        bare.c_str(), reader.dropped_bytes(), reader.first_corruption_offset(), records);
  } else {
    std::snprintf(buf, sizeof(buf), " %s:records=%" PRIu64 ",torn_tail_bytes=0", bare.c_str(),
                  records);
    Log(info_log_.get(), "%s: replayed %" PRIu64 " records", bare.c_str(), records);
  }
  recovery_report_ += buf;
  return Status::OK();
}

// ---- DestroyDB ------------------------------------------------------------------------------

Status DestroyDB(const std::string& path, const Options& options) {
  Env* env = options.env != nullptr ? options.env : Env::Default();
  std::vector<std::string> children;
  Status s = env->GetChildren(path, &children);
  if (!s.ok()) return Status::OK();  // nothing there
  std::unique_ptr<FileLock> lock;
  const std::string lockname = LockFileName(path);
  s = env->LockFile(lockname, &lock);
  if (!s.ok()) return s;
  for (const auto& name : children) {
    uint64_t number;
    FileType type;
    if (ParseFileName(name, &number, &type) && type != FileType::kLockFile) {
      Status d = env->RemoveFile(path + "/" + name);
      if (s.ok() && !d.ok()) s = d;
    }
  }
  env->UnlockFile(std::move(lock));
  env->RemoveFile(lockname);
  env->RemoveDir(path);  // fails harmlessly if other files remain
  return s;
}

}  // namespace zworld::engine
