#include "db_impl.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "db_iter.h"
#include "db_scan.h"
#include "filename.h"
#include "log_reader.h"
#include "merger.h"
#include "write_batch_internal.h"

namespace zworld::engine {

namespace {

constexpr size_t kMaxGroupBytes = 1 << 20;
constexpr size_t kSmallWriteBytes = 128 << 10;

}  // namespace

// ---- construction ----------------------------------------------------------

DBImpl::DBImpl(const Options& options, std::string dbname)
    : options_(options), dbname_(std::move(dbname)) {}

DBImpl::~DBImpl() {
  if (!closed_.load()) Close();
  for (SnapshotImpl* s : snapshots_) delete s;
  snapshots_.clear();
}

// ---- write path -----------------------------------------------------------------------------

Status DBImpl::Put(const WriteOptions& options, const Slice& key, const Slice& value) {
  WriteBatch batch;
  batch.Put(key, value);
  return Write(options, batch);
}

Status DBImpl::Delete(const WriteOptions& options, const Slice& key) {
  WriteBatch batch;
  batch.Delete(key);
  return Write(options, batch);
}

namespace {

class OnWriteHandler final : public WriteBatch::Handler {
 public:
  explicit OnWriteHandler(AccessPolicy* policy) : policy_(policy) {}
  void Put(const Slice& key, const Slice&) override { policy_->OnWrite(key); }
  void Delete(const Slice& key) override { policy_->OnWrite(key); }

 private:
  AccessPolicy* policy_;
};

}  // namespace

void DBImpl::NotifyWrites(const WriteBatch& batch) {
  OnWriteHandler handler(options_.access_policy.get());
  batch.Iterate(&handler);
}

Status DBImpl::Write(const WriteOptions& options, const WriteBatch& batch) {
  if (closed_.load(std::memory_order_relaxed)) return Status::Aborted("DB is closed");
  if (options_.access_policy) NotifyWrites(batch);
  Writer w;
  w.batch = &batch;
  w.sync = options.sync;
  return RunWriter(&w);
}

Status DBImpl::RunWriter(Writer* w) {
  std::unique_lock<std::mutex> l(mu_);
  if (closing_) return Status::Aborted("DB is closing");
  writers_.push_back(w);
  while (!w->done && w != writers_.front()) w->cv.wait(l);
  if (w->done) return w->status;

  // w leads. A carry skips MakeRoomForWrite: the flush thread that makes room is the one
  // waiting for it, and a memtable may exceed its budget by the few resident keys.
  Status s;
  Writer* last_writer = w;
  if (w->carry == nullptr) s = MakeRoomForWrite(w->force_switch, &l);
  if (s.ok() && w->carry != nullptr) {
    l.unlock();
    for (WriteBatch& b : *w->carry) {
      s = log_->AddRecord(WriteBatchInternal::Contents(&b));
      if (!s.ok()) break;
      s = WriteBatchInternal::InsertInto(&b, mem_);
      if (!s.ok()) break;
    }
    l.lock();
    if (!s.ok()) RecordBackgroundError(s);
  } else if (s.ok() && w->batch != nullptr) {
    bool need_sync = false;
    last_writer = BuildBatchGroup(&need_sync);
    SequenceNumber last_sequence = versions_->LastSequence();
    WriteBatchInternal::SetSequence(&tmp_batch_, last_sequence + 1);
    const uint32_t count = WriteBatchInternal::Count(&tmp_batch_);
    l.unlock();
    s = log_->AddRecord(WriteBatchInternal::Contents(&tmp_batch_));
    if (s.ok() && need_sync) {
      s = logfile_->Sync();
      if (s.ok() && !logfile_dir_synced_) {
        // The WAL's name must be durable too, or power loss could take the whole file.
        s = options_.env->SyncDir(dbname_);
        if (s.ok()) logfile_dir_synced_ = true;
      }
      counters_.wal_syncs.fetch_add(1, std::memory_order_relaxed);
    }
    if (s.ok()) s = WriteBatchInternal::InsertInto(&tmp_batch_, mem_);
    l.lock();
    if (s.ok()) {
      versions_->SetLastSequence(last_sequence + count);
      counters_.write_groups.fetch_add(1, std::memory_order_relaxed);
    } else {
      // The WAL's tail (or its durability) is now unknown: never write to it again.
      RecordBackgroundError(s);
    }
  }

  while (true) {
    Writer* ready = writers_.front();
    writers_.pop_front();
    if (ready != w) {
      ready->status = s;
      ready->done = true;
      ready->cv.notify_one();
    }
    if (ready == last_writer) break;
  }
  if (!writers_.empty()) writers_.front()->cv.notify_one();
  if (writers_.empty() && closing_) bg_cv_.notify_all();
  return s;
}

DBImpl::Writer* DBImpl::BuildBatchGroup(bool* need_sync) {
  Writer* first = writers_.front();
  tmp_batch_.Clear();
  WriteBatchInternal::Append(&tmp_batch_, first->batch);
  *need_sync = first->sync;
  size_t size = WriteBatchInternal::ByteSize(first->batch);
  size_t max_size = size <= kSmallWriteBytes ? size + kSmallWriteBytes : kMaxGroupBytes;
  uint64_t writes = 1, bytes = size;
  Writer* last = first;
  for (auto it = writers_.begin() + 1; it != writers_.end(); ++it) {
    Writer* w = *it;
    if (w->batch == nullptr) break;  // a switch or a carry runs alone
    size_t n = WriteBatchInternal::ByteSize(w->batch);
    if (size + n > max_size) break;
    size += n;
    WriteBatchInternal::Append(&tmp_batch_, w->batch);
    *need_sync = *need_sync || w->sync;
    writes++;
    bytes += n;
    last = w;
  }
  counters_.writes.fetch_add(writes, std::memory_order_relaxed);
  counters_.bytes_written.fetch_add(bytes, std::memory_order_relaxed);
  return last;
}

Status DBImpl::MakeRoomForWrite(bool force, std::unique_lock<std::mutex>* lock) {
  bool allow_delay = !force;
  bool counted_stop = false;
  while (true) {
    if (!bg_error_.ok()) return bg_error_;
    if (shutting_down_.load()) return Status::Aborted("DB is closing");
    const int l0_depth = versions_->L0Depth();
    if (allow_delay && l0_depth >= options_.l0_slowdown_writes_trigger) {
      // Give compaction some of the CPU instead of stopping writes outright later; at most
      // once per write.
      lock->unlock();
      options_.env->SleepForMicroseconds(1000);
      counters_.stall_micros.fetch_add(1000, std::memory_order_relaxed);
      counters_.slowdown_writes.fetch_add(1, std::memory_order_relaxed);
      allow_delay = false;
      lock->lock();
      continue;
    }
    if (!force && mem_->ApproximateMemoryUsage() <= options_.write_buffer_size) return Status::OK();
    if (static_cast<int>(imm_.size()) >= options_.max_immutable_memtables ||
        l0_depth >= options_.l0_stop_writes_trigger) {
      if (!counted_stop) {
        counters_.stopped_writes.fetch_add(1, std::memory_order_relaxed);
        counted_stop = true;
        Log(info_log_.get(), "writes stopped: %zu memtables waiting for flush, L0 depth %d",
            imm_.size(), l0_depth);
      }
      uint64_t start = options_.env->NowMicros();
      bg_cv_.wait(*lock);
      counters_.stall_micros.fetch_add(options_.env->NowMicros() - start,
                                       std::memory_order_relaxed);
      continue;
    }

    // Switch to a new memtable and WAL. The old WAL is synced first: a write that reaches
    // the new WAL (and is synced there) must never survive a power loss that takes an older
    // write, so that what recovery finds is always a prefix of the acknowledged writes.
    uint64_t new_log_number = versions_->NewFileNumber();
    std::unique_ptr<WritableFile> file;
    lock->unlock();  // the leader owns logfile_; nobody else switches meanwhile
    Status s = options_.env->NewWritableFile(LogFileName(dbname_, new_log_number), &file);
    Status old_log;
    if (s.ok()) {
      old_log = logfile_->Sync();
      if (old_log.ok()) old_log = logfile_->Close();
    }
    lock->lock();
    if (!s.ok()) return s;
    if (!old_log.ok()) {
      // Acknowledged writes in the old WAL may not be durable: never go on as if they were.
      RecordBackgroundError(old_log);
      return old_log;
    }
    counters_.wal_syncs.fetch_add(1, std::memory_order_relaxed);
    imm_.push_back(Immutable{mem_, logfile_number_, next_memtable_id_++});
    logfile_ = std::move(file);
    logfile_number_ = new_log_number;
    logfile_dir_synced_ = false;
    log_ = std::make_unique<log::Writer>(logfile_.get());
    mem_ = new MemTable();
    mem_->Ref();
    force = false;
    InstallSuperVersion();
    flush_cv_.notify_one();
  }
}

// ---- reads ----------------------------------------------------------------------------------

DBImpl::SuperVersion* DBImpl::AcquireSuperVersion() {
  std::lock_guard<std::mutex> l(sv_mu_);
  SuperVersion* sv = super_version_;
  sv->refs.fetch_add(1, std::memory_order_relaxed);
  return sv;
}

void DBImpl::ReleaseSuperVersion(SuperVersion* sv) {
  if (sv->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  sv->mem->Unref();
  for (MemTable* m : sv->imm) m->Unref();
  sv->version->Unref();
  delete sv;
}

void DBImpl::InstallSuperVersion() {
  auto* sv = new SuperVersion;
  sv->mem = mem_;
  mem_->Ref();
  sv->imm.reserve(imm_.size());
  for (auto it = imm_.rbegin(); it != imm_.rend(); ++it) {
    it->mem->Ref();
    sv->imm.push_back(it->mem);
  }
  sv->version = versions_->current();
  sv->version->Ref();
  SuperVersion* old;
  {
    std::lock_guard<std::mutex> l(sv_mu_);
    old = super_version_;
    super_version_ = sv;
  }
  if (old != nullptr) ReleaseSuperVersion(old);
}

SequenceNumber DBImpl::ReadSequence(const ReadOptions& options) const {
  if (options.snapshot != nullptr) {
    return static_cast<const SnapshotImpl*>(options.snapshot)->sequence;
  }
  return versions_->LastSequence();
}

Status DBImpl::Get(const ReadOptions& options, const Slice& key, std::string* value) {
  if (closed_.load(std::memory_order_relaxed)) return Status::Aborted("DB is closed");
  counters_.gets.fetch_add(1, std::memory_order_relaxed);
  if (options_.access_policy) options_.access_policy->OnRead(key);
  SuperVersion* sv = AcquireSuperVersion();  // before the sequence: see db_impl.h
  const SequenceNumber seq = ReadSequence(options);
  LookupKey lkey(key, seq);
  Status s;
  LookupResult r = sv->mem->Get(lkey, value);
  for (size_t i = 0; r == LookupResult::kAbsent && i < sv->imm.size(); ++i) {
    r = sv->imm[i]->Get(lkey, value);
  }
  if (r == LookupResult::kAbsent) {
    GetCounters counters;
    s = sv->version->Get(options, lkey, value, &r, &counters);
    if (counters.bloom_useful > 0) {
      counters_.bloom_useful.fetch_add(counters.bloom_useful, std::memory_order_relaxed);
    }
  }
  ReleaseSuperVersion(sv);
  if (!s.ok()) return s;
  if (r != LookupResult::kFound) return Status::NotFound(Slice());
  return Status::OK();
}

std::unique_ptr<Iterator> DBImpl::NewIterator(const ReadOptions& options) {
  if (closed_.load(std::memory_order_relaxed)) {
    return std::unique_ptr<Iterator>(NewErrorIterator(Status::Aborted("DB is closed")));
  }
  SuperVersion* sv = AcquireSuperVersion();
  const SequenceNumber seq = ReadSequence(options);
  std::vector<std::unique_ptr<Iterator>> children;
  children.reserve(2 + sv->imm.size() + sv->version->NumFiles(0) + options_.num_levels);
  children.push_back(sv->mem->NewIterator());
  for (MemTable* m : sv->imm) children.push_back(m->NewIterator());
  sv->version->AddIterators(options, &children);
  return NewDBIterator(NewMergingIterator(std::move(children)), seq,
                       [sv] { ReleaseSuperVersion(sv); });
}

Status DBImpl::Scan(const ReadOptions& options, const Slice& start, const Slice& limit,
                    const ScanOptions& scan_options, ScanVisitor* visitor) {
  if (closed_.load(std::memory_order_relaxed)) return Status::Aborted("DB is closed");
  SuperVersion* sv = AcquireSuperVersion();
  const SequenceNumber seq = ReadSequence(options);
  std::vector<std::unique_ptr<ScanSource>> sources;
  sources.push_back(sv->mem->NewScanSource());
  for (MemTable* m : sv->imm) sources.push_back(m->NewScanSource());
  Status s = sv->version->AddScanSources(options, start, limit, &sources);
  ScanCounters counters;
  if (s.ok()) s = MergeScan(sources, seq, start, limit, scan_options, visitor, &counters);
  sources.clear();
  ReleaseSuperVersion(sv);
  counters_.scan_blocks_read.fetch_add(counters.blocks_read, std::memory_order_relaxed);
  counters_.scan_blocks_skipped.fetch_add(counters.blocks_skipped, std::memory_order_relaxed);
  return s;
}

const Snapshot* DBImpl::GetSnapshot() {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_.load()) return nullptr;
  auto* s = new SnapshotImpl(versions_->LastSequence());
  s->pos = snapshots_.insert(snapshots_.end(), s);
  return s;
}

void DBImpl::ReleaseSnapshot(const Snapshot* snapshot) {
  if (snapshot == nullptr) return;
  auto* s = const_cast<SnapshotImpl*>(static_cast<const SnapshotImpl*>(snapshot));
  std::lock_guard<std::mutex> l(mu_);
  snapshots_.erase(s->pos);
  delete s;
}

SequenceNumber DBImpl::OldestSnapshotSequence() const {
  return snapshots_.empty() ? versions_->LastSequence() : snapshots_.front()->sequence;
}

// ---- flush and compaction requests ----------------------------------------------------------

Status DBImpl::WaitForFlush(uint64_t id, std::unique_lock<std::mutex>* lock) {
  while (flushed_memtable_id_ < id && bg_error_.ok() && !shutting_down_.load()) {
    bg_cv_.wait(*lock);
  }
  if (!bg_error_.ok()) return bg_error_;
  if (flushed_memtable_id_ < id) return Status::Aborted("DB is closing");
  return Status::OK();
}

Status DBImpl::Flush() {
  if (closed_.load()) return Status::Aborted("DB is closed");
  {
    std::unique_lock<std::mutex> l(mu_);
    if (mem_->NumEntries() == 0) return WaitForFlush(next_memtable_id_ - 1, &l);
  }
  Writer w;
  w.force_switch = true;
  Status s = RunWriter(&w);
  if (!s.ok()) return s;
  std::unique_lock<std::mutex> l(mu_);
  return WaitForFlush(next_memtable_id_ - 1, &l);
}

Status DBImpl::CompactRange(const Slice* begin, const Slice* end) {
  if (closed_.load()) return Status::Aborted("DB is closed");
  Status s = Flush();
  if (!s.ok()) return s;
  int max_level_with_files = 1;
  {
    std::lock_guard<std::mutex> l(mu_);
    Version* v = versions_->current();
    for (int level = 1; level < options_.num_levels; ++level) {
      if (v->OverlapInLevel(level, begin, end)) max_level_with_files = level;
    }
  }
  for (int level = 0; level < max_level_with_files && s.ok(); ++level) {
    s = RunManualCompaction(level, begin, end);
  }
  return s;
}

Status DBImpl::RunManualCompaction(int level, const Slice* begin, const Slice* end) {
  InternalKey begin_key, end_key;
  ManualCompaction m;
  m.level = level;
  if (begin != nullptr) {
    begin_key = InternalKey(*begin, kMaxSequenceNumber, kValueTypeForSeek);
    m.begin = &begin_key;
  } else {
    m.begin = nullptr;
  }
  if (end != nullptr) {
    end_key = InternalKey(*end, 0, kTypeDeletion);
    m.end = &end_key;
  } else {
    m.end = nullptr;
  }
  std::unique_lock<std::mutex> l(mu_);
  while (manual_compaction_ != nullptr && bg_error_.ok() && !shutting_down_.load()) {
    bg_cv_.wait(l);
  }
  if (!bg_error_.ok()) return bg_error_;
  if (shutting_down_.load()) return Status::Aborted("DB is closing");
  manual_compaction_ = &m;
  compact_cv_.notify_one();
  while (!m.done) bg_cv_.wait(l);
  if (manual_compaction_ == &m) manual_compaction_ = nullptr;
  bg_cv_.notify_all();
  return m.status;
}

Status DBImpl::TEST_WaitForBackgroundWork() {
  std::unique_lock<std::mutex> l(mu_);
  while (bg_error_.ok() && !shutting_down_.load() &&
         (!imm_.empty() || compaction_running_ || versions_->NeedsCompaction() ||
          manual_compaction_ != nullptr)) {
    bg_cv_.wait(l);
  }
  return bg_error_;
}

int DBImpl::TEST_NumLevelFiles(int level) {
  std::lock_guard<std::mutex> l(mu_);
  return versions_->NumLevelFiles(level);
}

// ---- properties and stats -------------------------------------------------------------------

DBStats DBImpl::GetStats() {
  DBStats st;
  auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
  st.writes = get(counters_.writes);
  st.write_groups = get(counters_.write_groups);
  st.wal_syncs = get(counters_.wal_syncs);
  st.bytes_written = get(counters_.bytes_written);
  st.gets = get(counters_.gets);
  st.flushes = get(counters_.flushes);
  st.compactions = get(counters_.compactions);
  st.tables_moved = get(counters_.tables_moved);
  st.compaction_bytes_read = get(counters_.compaction_bytes_read);
  st.compaction_bytes_written = get(counters_.compaction_bytes_written);
  st.stall_micros = get(counters_.stall_micros);
  st.slowdown_writes = get(counters_.slowdown_writes);
  st.stopped_writes = get(counters_.stopped_writes);
  st.bloom_useful = get(counters_.bloom_useful);
  st.scan_blocks_read = get(counters_.scan_blocks_read);
  st.scan_blocks_skipped = get(counters_.scan_blocks_skipped);
  if (closed_.load()) return st;
  std::lock_guard<std::mutex> l(mu_);
  if (versions_ == nullptr) return st;
  if (block_cache_ != nullptr) {
    st.block_cache_hits = block_cache_->hits();
    st.block_cache_misses = block_cache_->misses();
  }
  Version* v = versions_->current();
  st.l0_depth = static_cast<uint64_t>(v->L0Depth());
  for (int level = 0; level < options_.num_levels && level < 8; ++level) {
    st.files_per_level[level] = static_cast<uint64_t>(v->NumFiles(level));
    st.bytes_per_level[level] = v->NumBytes(level);
  }
  return st;
}

std::string DBImpl::StatsString() {
  DBStats st = GetStats();
  std::string r;
  char buf[256];
  std::snprintf(buf, sizeof(buf),
                "writes: %" PRIu64 " (groups %" PRIu64 ", wal syncs %" PRIu64 ", %" PRIu64
                " bytes)\n",
                st.writes, st.write_groups, st.wal_syncs, st.bytes_written);
  r += buf;
  std::snprintf(buf, sizeof(buf),
                "stalls: %" PRIu64 " us, %" PRIu64 " slowed writes, %" PRIu64 " stopped writes\n",
                st.stall_micros, st.slowdown_writes, st.stopped_writes);
  r += buf;
  std::snprintf(buf, sizeof(buf),
                "flushes: %" PRIu64 ", compactions: %" PRIu64 " (read %" PRIu64
                " bytes, wrote %" PRIu64 " bytes), tables moved down: %" PRIu64
                ", L0 depth: %" PRIu64 "\n",
                st.flushes, st.compactions, st.compaction_bytes_read, st.compaction_bytes_written,
                st.tables_moved, st.l0_depth);
  r += buf;
  std::snprintf(buf, sizeof(buf),
                "gets: %" PRIu64 ", bloom useful: %" PRIu64 ", block cache: %" PRIu64
                " hits, %" PRIu64 " misses\n",
                st.gets, st.bloom_useful, st.block_cache_hits, st.block_cache_misses);
  r += buf;
  std::snprintf(buf, sizeof(buf), "scan blocks: %" PRIu64 " read, %" PRIu64 " skipped\n",
                st.scan_blocks_read, st.scan_blocks_skipped);
  r += buf;
  r += "level  files      bytes\n";
  for (int level = 0; level < options_.num_levels && level < 8; ++level) {
    std::snprintf(buf, sizeof(buf), "L%-4d %6" PRIu64 " %10" PRIu64 "\n", level,
                  st.files_per_level[level], st.bytes_per_level[level]);
    r += buf;
  }
  return r;
}

std::string DBImpl::SSTablesString() {
  std::lock_guard<std::mutex> l(mu_);
  std::string r;
  Version* v = versions_->current();
  char buf[128];
  for (int level = 0; level < options_.num_levels; ++level) {
    for (const auto& f : v->files(level)) {
      std::snprintf(buf, sizeof(buf), "L%d %06" PRIu64 ".sst %" PRIu64 " bytes [", level, f->number,
                    f->file_size);
      r += buf;
      ParsedInternalKey a, b;
      if (ParseInternalKey(f->smallest.Encode(), &a) && ParseInternalKey(f->largest.Encode(), &b)) {
        auto printable = [](const Slice& k) {
          std::string out;
          for (char ch : k.view()) {
            if (ch >= 0x20 && ch < 0x7f && ch != '\\') {
              out.push_back(ch);
            } else {
              char hex[8];
              std::snprintf(hex, sizeof(hex), "\\x%02x", static_cast<unsigned char>(ch));
              out += hex;
            }
          }
          return out;
        };
        r += printable(a.user_key);
        std::snprintf(buf, sizeof(buf), "@%" PRIu64 " .. ", a.sequence);
        r += buf;
        r += printable(b.user_key);
        std::snprintf(buf, sizeof(buf), "@%" PRIu64, b.sequence);
        r += buf;
      }
      r += "]\n";
    }
  }
  return r;
}

bool DBImpl::GetProperty(const Slice& name, std::string* value) {
  value->clear();
  if (closed_.load()) return false;
  std::string_view n = name.view();
  constexpr std::string_view kPrefix = "zworld.";
  if (!n.starts_with(kPrefix)) return false;
  n.remove_prefix(kPrefix.size());
  constexpr std::string_view kNumFiles = "num-files-at-level";
  if (n.starts_with(kNumFiles)) {
    std::string_view digits = n.substr(kNumFiles.size());
    if (digits.empty() || digits.size() > 2) return false;
    int level = 0;
    for (char ch : digits) {
      if (ch < '0' || ch > '9') return false;
      level = level * 10 + (ch - '0');
    }
    if (level >= options_.num_levels) return false;
    std::lock_guard<std::mutex> l(mu_);
    *value = std::to_string(versions_->NumLevelFiles(level));
    return true;
  }
  if (n == "stats") {
    *value = StatsString();
    return true;
  }
  if (n == "l0-depth") {
    std::lock_guard<std::mutex> l(mu_);
    *value = std::to_string(versions_->L0Depth());
    return true;
  }
  if (n == "sstables") {
    *value = SSTablesString();
    return true;
  }
  if (n == "approximate-memory-usage") {
    std::lock_guard<std::mutex> l(mu_);
    size_t total = mem_->ApproximateMemoryUsage();
    for (const auto& imm : imm_) total += imm.mem->ApproximateMemoryUsage();
    if (block_cache_ != nullptr) total += block_cache_->usage();
    *value = std::to_string(total);
    return true;
  }
  if (n == "recovery") {
    *value = recovery_report_;
    return true;
  }
  return false;
}

// ---- close ----------------------------------------------------------------------------------

Status DBImpl::Close() {
  if (closed_.load()) return Status::Aborted("DB is closed");
  Status flushed;
  if (options_.flush_on_close) {
    bool pending;
    {
      std::lock_guard<std::mutex> l(mu_);
      // (A DB whose Open failed has no memtable or flush thread: nothing to flush.)
      pending = mem_ != nullptr && flush_thread_.joinable() && bg_error_.ok() &&
                (mem_->NumEntries() > 0 || !imm_.empty());
    }
    if (pending) flushed = Flush();
  }
  if (closed_.exchange(true)) return Status::Aborted("DB is closed");
  {
    std::unique_lock<std::mutex> l(mu_);
    closing_ = true;
    shutting_down_.store(true);
    flush_cv_.notify_all();
    compact_cv_.notify_all();
    bg_cv_.notify_all();
    while (!writers_.empty()) bg_cv_.wait(l);
  }
  if (flush_thread_.joinable()) flush_thread_.join();
  if (compaction_thread_.joinable()) compaction_thread_.join();

  Status s;
  std::unique_lock<std::mutex> l(mu_);
  if (logfile_ != nullptr) {
    if (bg_error_.ok()) s = logfile_->Sync();
    Status c = logfile_->Close();
    if (s.ok()) s = c;
    log_.reset();
    logfile_.reset();
  }
  {
    std::lock_guard<std::mutex> g(sv_mu_);
    if (super_version_ != nullptr) {
      ReleaseSuperVersion(super_version_);
      super_version_ = nullptr;
    }
  }
  if (mem_ != nullptr) {
    mem_->Unref();
    mem_ = nullptr;
  }
  for (Immutable& imm : imm_) imm.mem->Unref();
  imm_.clear();
  versions_.reset();
  table_cache_.reset();
  block_cache_.reset();
  if (db_lock_ != nullptr) {
    Status u = options_.env->UnlockFile(std::move(db_lock_));
    if (s.ok()) s = u;
  }
  if (s.ok() && !flushed.ok()) s = flushed;
  Log(info_log_.get(), "closed: %s", s.ToString().c_str());
  info_log_.reset();
  return s;
}

void DBImpl::RecordBackgroundError(const Status& s) {
  if (!bg_error_.ok()) return;
  bg_error_ = s;
  Log(info_log_.get(), "background error (every later write fails with it): %s",
      s.ToString().c_str());
  bg_cv_.notify_all();
}

}  // namespace zworld::engine
