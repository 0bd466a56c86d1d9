// DBImpl's background work: the flush thread (frozen memtables to L0 tables), the compaction
// thread (leveled compaction), and the deletion of obsolete files.
#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "db_impl.h"
#include "filename.h"
#include "table_builder.h"
#include "write_batch_internal.h"

namespace zworld::engine {

// ---- flush ----------------------------------------------------------------------------------

void DBImpl::FlushThread() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    while (!shutting_down_.load() && (imm_.empty() || !bg_error_.ok())) flush_cv_.wait(l);
    if (shutting_down_.load()) break;
    FlushFrontImmutable(&l);
    bg_cv_.notify_all();
    compact_cv_.notify_one();
  }
}

Status DBImpl::BuildTables(MemTable* mem, const std::function<uint64_t()>& new_file_number,
                           std::vector<FileMetaData>* metas, std::vector<WriteBatch>* carry) {
  std::unique_ptr<Iterator> iter = mem->NewIterator();
  iter->SeekToFirst();
  if (!iter->Valid()) return Status::OK();

  AccessPolicy* policy = carry != nullptr ? options_.access_policy.get() : nullptr;
  const TablePartitioner* partitioner = options_.table_partitioner.get();
  std::unique_ptr<WritableFile> file;
  std::unique_ptr<TableBuilder> builder;
  std::string fname;
  Slice last_ikey;  // memtable memory: stable while mem is referenced
  Status s;

  // Ends the table being built: writes its index and footer, syncs it, and reads it back once
  // (a table that does not open must not enter the MANIFEST).
  auto finish = [&]() -> Status {
    FileMetaData& meta = metas->back();
    meta.largest.DecodeFrom(last_ikey);
    Status fs = builder->Finish();
    if (fs.ok()) fs = file->Sync();
    Status c = file->Close();
    if (fs.ok()) fs = c;
    if (fs.ok()) {
      meta.file_size = builder->FileSize();
      std::shared_ptr<Table> table;
      fs = table_cache_->FindTable(meta.number, meta.file_size, &table);
    }
    builder.reset();
    file.reset();
    return fs;
  };

  Slice prev_user_key;
  bool first = true;
  for (; iter->Valid(); iter->Next()) {
    const Slice ikey = iter->key();
    const Slice user_key = ExtractUserKey(ikey);
    const bool new_user_key = first || user_key != prev_user_key;
    if (builder != nullptr && new_user_key && partitioner != nullptr &&
        partitioner->ShouldCut(prev_user_key, user_key)) {
      s = finish();
      if (!s.ok()) break;
    }
    if (builder == nullptr) {
      FileMetaData& meta = metas->emplace_back();
      meta.number = new_file_number();
      fname = TableFileName(dbname_, meta.number);
      s = options_.env->NewWritableFile(fname, &file);
      if (!s.ok()) break;
      builder =
          std::make_unique<TableBuilder>(options_, file.get(), fname.substr(dbname_.size() + 1));
      meta.smallest.DecodeFrom(ikey);
    }
    builder->Add(ikey, iter->value());
    last_ikey = ikey;
    // The first entry of a user key is its newest version.
    if (policy != nullptr && new_user_key) {
      ParsedInternalKey parsed;
      if (ParseInternalKey(ikey, &parsed) && parsed.type == kTypeValue &&
          policy->KeepResident(user_key)) {
        WriteBatch b;
        b.Put(user_key, iter->value());
        WriteBatchInternal::SetSequence(&b, parsed.sequence);
        carry->push_back(std::move(b));
      }
    }
    prev_user_key = user_key;
    first = false;
    if (!builder->status().ok()) {
      s = builder->status();
      break;
    }
  }
  if (s.ok() && builder != nullptr) s = finish();
  if (!s.ok()) {
    if (builder != nullptr) builder->Abandon();
    builder.reset();
    if (file != nullptr) (void)file->Close();
    for (const FileMetaData& meta : *metas) {
      options_.env->RemoveFile(TableFileName(dbname_, meta.number));
    }
    metas->clear();
  }
  return s;
}

Status DBImpl::WriteLevel0Table(MemTable* mem, VersionEdit* edit, std::vector<WriteBatch>* carry,
                                std::unique_lock<std::mutex>* lock,
                                std::vector<uint64_t>* table_numbers) {
  const uint64_t start = options_.env->NowMicros();
  std::vector<FileMetaData> metas;
  // Called while building, without mu_: takes it for the number and its pending mark.
  auto new_file_number = [&]() {
    if (lock != nullptr) lock->lock();
    const uint64_t number = versions_->NewFileNumber();
    pending_outputs_.insert(number);
    if (lock != nullptr) lock->unlock();
    table_numbers->push_back(number);
    return number;
  };
  if (lock != nullptr) lock->unlock();
  Status s = BuildTables(mem, new_file_number, &metas, carry);
  // The new tables' names must be durable before a MANIFEST edit names them.
  if (s.ok() && !metas.empty()) s = options_.env->SyncDir(dbname_);
  if (lock != nullptr) lock->lock();
  uint64_t bytes = 0;
  for (const FileMetaData& meta : metas) bytes += meta.file_size;
  Log(info_log_.get(),
      "flush: %" PRIu64 " entries to %zu table(s) from %06" PRIu64 ", %" PRIu64 " bytes, %" PRIu64
      " us: %s",
      mem->NumEntries(), metas.size(), metas.empty() ? uint64_t{0} : metas.front().number, bytes,
      options_.env->NowMicros() - start, s.ToString().c_str());
  if (s.ok()) {
    for (const FileMetaData& meta : metas) {
      edit->AddFile(0, meta.number, meta.file_size, meta.smallest, meta.largest);
    }
  }
  return s;
}

void DBImpl::FlushFrontImmutable(std::unique_lock<std::mutex>* lock) {
  const Immutable front = imm_.front();
  VersionEdit edit;
  std::vector<WriteBatch> carry;
  // The new tables stay pending (never deleted) until the edit that names them is applied.
  std::vector<uint64_t> table_numbers;
  Status s = WriteLevel0Table(front.mem, &edit, options_.access_policy ? &carry : nullptr, lock,
                              &table_numbers);
  if (s.ok()) {
    // The oldest WAL still needed is the one of the next frozen memtable, or the live one.
    edit.SetLogNumber(imm_.size() > 1 ? imm_[1].log_number : logfile_number_);
    s = versions_->LogAndApply(&edit, lock);
  }
  for (uint64_t number : table_numbers) pending_outputs_.erase(number);
  if (!s.ok()) {
    RecordBackgroundError(s);
    return;
  }
  imm_.pop_front();
  flushed_memtable_id_ = front.id;
  counters_.flushes.fetch_add(1, std::memory_order_relaxed);
  InstallSuperVersion();
  front.mem->Unref();
  DeleteObsoleteFiles(lock);

  if (!carry.empty()) {
    // Re-log the resident keys in the live WAL (the flushed one may now be deleted) and
    // keep them in the active memtable, under their original sequence numbers so that a
    // newer write of the same key still wins.
    Writer w;
    w.carry = &carry;
    lock->unlock();
    Status cs = RunWriter(&w);
    lock->lock();
    Log(info_log_.get(), "flush: kept %zu resident keys in the memtable: %s", carry.size(),
        cs.ToString().c_str());
  }
}

// ---- compaction -----------------------------------------------------------------------------

struct DBImpl::CompactionState {
  explicit CompactionState(Compaction* c) : compaction(c) {}

  struct Output {
    uint64_t number;
    uint64_t file_size = 0;
    InternalKey smallest, largest;
  };

  Compaction* const compaction;
  // Entries with a sequence at or below this are visible to every reader: of such entries
  // only the newest of each user key must be kept.
  SequenceNumber smallest_snapshot = 0;
  std::vector<Output> outputs;
  std::unique_ptr<WritableFile> outfile;
  std::unique_ptr<TableBuilder> builder;
  uint64_t total_bytes = 0;

  Output* current_output() { return &outputs.back(); }
};

void DBImpl::CompactionThread() {
  std::unique_lock<std::mutex> l(mu_);
  while (true) {
    while (!shutting_down_.load()) {
      if (manual_compaction_ != nullptr && !bg_error_.ok()) {
        manual_compaction_->status = bg_error_;
        manual_compaction_->done = true;
        manual_compaction_ = nullptr;
        bg_cv_.notify_all();
        continue;
      }
      if (bg_error_.ok() && (manual_compaction_ != nullptr || versions_->NeedsCompaction())) {
        break;
      }
      compact_cv_.wait(l);
    }
    if (shutting_down_.load()) break;
    compaction_running_ = true;
    BackgroundCompaction(&l);
    compaction_running_ = false;
    bg_cv_.notify_all();
  }
  if (manual_compaction_ != nullptr) {
    manual_compaction_->status = Status::Aborted("DB is closing");
    manual_compaction_->done = true;
    manual_compaction_ = nullptr;
  }
  bg_cv_.notify_all();
}

void DBImpl::BackgroundCompaction(std::unique_lock<std::mutex>* lock) {
  ManualCompaction* m = manual_compaction_;
  std::unique_ptr<Compaction> c;
  if (m != nullptr) {
    c = versions_->CompactRange(m->level, m->begin, m->end);
    if (c != nullptr) m->resume_key = c->input(0, c->num_input_files(0) - 1)->largest;
  } else {
    c = versions_->PickCompaction();
  }
  const bool did_work = c != nullptr;

  Status s;
  if (c == nullptr) {
    // Nothing to do.
  } else if (m == nullptr && c->IsTrivialMove()) {
    const FileMetaData* f = c->input(0, 0);
    c->edit()->RemoveFile(c->level(), f->number);
    c->edit()->AddFile(c->level() + 1, f->number, f->file_size, f->smallest, f->largest);
    s = versions_->LogAndApply(c->edit(), lock);
    if (s.ok()) {
      InstallSuperVersion();
      counters_.tables_moved.fetch_add(1, std::memory_order_relaxed);
    }
    Log(info_log_.get(), "compaction: moved table %06" PRIu64 " to L%d (%" PRIu64 " bytes): %s",
        f->number, c->level() + 1, f->file_size, s.ToString().c_str());
  } else {
    CompactionState compact(c.get());
    s = DoCompactionWork(&compact, lock);
    for (const auto& out : compact.outputs) pending_outputs_.erase(out.number);
  }
  c.reset();  // releases the input Version

  if (!s.ok()) {
    if (s.IsAborted() && shutting_down_.load()) {
      // Closing: the inputs are intact, nothing was installed.
    } else {
      RecordBackgroundError(s);
    }
  }
  DeleteObsoleteFiles(lock);

  if (m != nullptr) {
    if (!s.ok()) {
      m->status = s;
      m->done = true;
    } else if (!did_work || m->level == 0) {
      // L0 is compacted whole in one piece; flushes may keep adding L0 files, which a
      // manual compaction does not chase.
      m->done = true;
    } else {
      // Above L0 a piece is bounded in size: continue after the last file it took. The
      // next piece finds no file there once the range is covered.
      m->begin = &m->resume_key;
    }
    if (m->done) {
      manual_compaction_ = nullptr;
      bg_cv_.notify_all();
    }
  }
}

Status DBImpl::OpenCompactionOutput(CompactionState* compact) {
  uint64_t number;
  {
    std::lock_guard<std::mutex> l(mu_);
    number = versions_->NewFileNumber();
    pending_outputs_.insert(number);
  }
  CompactionState::Output out;
  out.number = number;
  compact->outputs.push_back(out);
  const std::string fname = TableFileName(dbname_, number);
  Status s = options_.env->NewWritableFile(fname, &compact->outfile);
  if (s.ok()) {
    compact->builder = std::make_unique<TableBuilder>(options_, compact->outfile.get(),
                                                      fname.substr(dbname_.size() + 1));
  }
  return s;
}

Status DBImpl::FinishCompactionOutput(CompactionState* compact, Iterator* input) {
  const uint64_t number = compact->current_output()->number;
  Status s = input->status();
  const uint64_t entries = compact->builder->NumEntries();
  if (s.ok()) {
    s = compact->builder->Finish();
  } else {
    compact->builder->Abandon();
  }
  const uint64_t size = compact->builder->FileSize();
  compact->current_output()->file_size = size;
  compact->total_bytes += size;
  compact->builder.reset();
  if (s.ok()) s = compact->outfile->Sync();
  Status c = compact->outfile->Close();
  if (s.ok()) s = c;
  compact->outfile.reset();
  if (s.ok() && entries > 0) {
    std::shared_ptr<Table> table;
    s = table_cache_->FindTable(number, size, &table);
  }
  return s;
}

Status DBImpl::InstallCompactionResults(CompactionState* compact,
                                        std::unique_lock<std::mutex>* lock) {
  Compaction* c = compact->compaction;
  c->AddInputDeletions(c->edit());
  for (const auto& out : compact->outputs) {
    c->edit()->AddFile(c->level() + 1, out.number, out.file_size, out.smallest, out.largest);
  }
  return versions_->LogAndApply(c->edit(), lock);
}

Status DBImpl::DoCompactionWork(CompactionState* compact, std::unique_lock<std::mutex>* lock) {
  Compaction* c = compact->compaction;
  const uint64_t start_micros = options_.env->NowMicros();
  Log(info_log_.get(), "compaction: L%d %d files + L%d %d files, %" PRIu64 " bytes", c->level(),
      c->num_input_files(0), c->level() + 1, c->num_input_files(1), c->InputBytes());
  compact->smallest_snapshot = OldestSnapshotSequence();
  std::unique_ptr<Iterator> input = versions_->MakeInputIterator(c);
  lock->unlock();

  Status s;
  std::string current_user_key;
  bool has_current_user_key = false;
  SequenceNumber last_sequence_for_key = kMaxSequenceNumber;
  std::string zeroed_key;  // an output key whose sequence was zeroed
  const TablePartitioner* partitioner = options_.table_partitioner.get();
  input->SeekToFirst();
  while (input->Valid()) {
    const Slice key = input->key();
    ParsedInternalKey ikey;
    if (!ParseInternalKey(key, &ikey)) {
      s = Status::Corruption("compaction input", "damaged internal key");
      break;
    }
    const bool new_user_key = !has_current_user_key || ikey.user_key != Slice(current_user_key);
    if (new_user_key) {
      // Outputs end only between user keys, so a level never splits one user key; and where
      // the partitioner says, so no output spans two partitions.
      if (compact->builder != nullptr &&
          (c->ShouldStopBefore(key) || compact->builder->FileSize() >= c->MaxOutputFileSize() ||
           (partitioner != nullptr &&
            partitioner->ShouldCut(compact->current_output()->largest.user_key(),
                                   ikey.user_key)))) {
        s = FinishCompactionOutput(compact, input.get());
        if (!s.ok()) break;
      }
      current_user_key.assign(ikey.user_key.data(), ikey.user_key.size());
      has_current_user_key = true;
      last_sequence_for_key = kMaxSequenceNumber;
    }

    bool drop = false;
    if (!new_user_key && ikey.sequence == last_sequence_for_key) {
      drop = true;  // a copy of the same entry (KeepResident carries)
    } else if (last_sequence_for_key <= compact->smallest_snapshot) {
      drop = true;  // a newer entry of this key is visible to every reader
    } else if (ikey.type == kTypeDeletion && ikey.sequence <= compact->smallest_snapshot &&
               c->IsBaseLevelForKey(ikey.user_key)) {
      // No deeper level holds this key, and every reader sees the deletion: it hides
      // nothing any more (older entries of the key in this compaction are dropped by the
      // rule above).
      drop = true;
    }
    last_sequence_for_key = ikey.sequence;

    if (!drop) {
      Slice out_key = key;
      if (ikey.sequence != 0 && ikey.sequence <= compact->smallest_snapshot &&
          c->IsBaseLevelForKey(ikey.user_key)) {
        // Every reader sees this version, and it is the oldest one of its key anywhere (older
        // versions here were dropped above; no deeper level holds the key): sequence 0 says
        // the same and makes the tag one byte in the data block (FORMATS.md, "Sequence 0").
        zeroed_key.clear();
        AppendInternalKey(&zeroed_key, ikey.user_key, 0, ikey.type);
        out_key = zeroed_key;
      }
      if (compact->builder == nullptr) {
        s = OpenCompactionOutput(compact);
        if (!s.ok()) break;
        compact->current_output()->smallest.DecodeFrom(out_key);
      }
      compact->current_output()->largest.DecodeFrom(out_key);
      compact->builder->Add(out_key, input->value());
      if (!compact->builder->status().ok()) {
        s = compact->builder->status();
        break;
      }
    }
    input->Next();
  }
  if (s.ok()) s = input->status();
  if (compact->builder != nullptr) {
    Status fs = FinishCompactionOutput(compact, input.get());
    if (s.ok()) s = fs;
  }
  input.reset();
  if (s.ok() && !compact->outputs.empty()) s = options_.env->SyncDir(dbname_);

  counters_.compaction_bytes_read.fetch_add(c->InputBytes(), std::memory_order_relaxed);
  counters_.compaction_bytes_written.fetch_add(compact->total_bytes, std::memory_order_relaxed);
  lock->lock();

  if (s.ok()) {
    s = InstallCompactionResults(compact, lock);
    if (s.ok()) InstallSuperVersion();
  }
  counters_.compactions.fetch_add(1, std::memory_order_relaxed);
  Log(info_log_.get(),
      "compaction: L%d -> L%d wrote %zu files, %" PRIu64 " bytes, %" PRIu64 " us: %s; %s",
      c->level(), c->level() + 1, compact->outputs.size(), compact->total_bytes,
      options_.env->NowMicros() - start_micros, s.ToString().c_str(),
      versions_->current()->DebugString().c_str());
  return s;
}

// ---- obsolete files -------------------------------------------------------------------------

void DBImpl::DeleteObsoleteFiles(std::unique_lock<std::mutex>* lock) {
  if (!bg_error_.ok()) return;  // the on-disk state may be ahead of what is known
  std::set<uint64_t> live = pending_outputs_;
  versions_->AddLiveFiles(&live);
  std::vector<std::string> children;
  options_.env->GetChildren(dbname_, &children);
  const uint64_t log_number = versions_->LogNumber();
  const uint64_t manifest_number = versions_->ManifestFileNumber();
  std::vector<std::pair<std::string, uint64_t>> doomed;  // name, table number or 0
  for (const auto& name : children) {
    uint64_t number;
    FileType type;
    if (!ParseFileName(name, &number, &type)) continue;
    bool keep = true;
    switch (type) {
      case FileType::kLogFile:
        keep = number >= log_number;
        break;
      case FileType::kDescriptorFile:
      case FileType::kTempFile:
        // A newer MANIFEST (and its CURRENT temp file) may be being written right now.
        keep = number >= manifest_number;
        break;
      case FileType::kTableFile:
        keep = live.count(number) > 0;
        break;
      default:
        break;
    }
    // The flush and compaction threads both collect garbage: a file the other one is
    // already removing is left to it.
    if (!keep && files_being_deleted_.insert(name).second) {
      doomed.emplace_back(name, type == FileType::kTableFile ? number : 0);
    }
  }
  if (doomed.empty()) return;
  lock->unlock();
  for (const auto& [name, table_number] : doomed) {
    if (table_number != 0) {
      table_cache_->Evict(table_number);
      if (block_cache_ != nullptr) block_cache_->EraseFile(table_number);
    }
    Status s = options_.env->RemoveFile(dbname_ + "/" + name);
    Log(info_log_.get(), "deleted obsolete file %s: %s", name.c_str(), s.ToString().c_str());
  }
  lock->lock();
  for (const auto& doomed_file : doomed) files_being_deleted_.erase(doomed_file.first);
}

}  // namespace zworld::engine
