// DBImpl: the DB of db.h. Writes go through group commit into the WAL and the active
// memtable; full memtables are frozen and written to L0 by a flush thread; a compaction
// thread merges levels. Readers work on a SuperVersion, a refcounted view of
// {active memtable, frozen memtables, Version}, taken without the DB mutex.
//
// Invariants (mu_ is the DB mutex):
//  - Writers queue in writers_; only the front writer (the leader) touches log_, logfile_
//    and inserts into mem_, and it does so without mu_. mem_, log_ and logfile_ are replaced
//    (memtable switch) only by the leader, under mu_.
//  - Every write in mem_ is in the WAL logfile_number_; the writes of imm_[i].mem are in WAL
//    imm_[i].log_number or earlier ones. A WAL is synced before the switch to the next one,
//    so whatever survives a power loss is a prefix of the acknowledged writes. A WAL is deleted
//    only after every memtable whose writes it holds is in an SSTable named by a synced MANIFEST
//    edit (its number is below VersionSet::LogNumber()).
//  - imm_ is ordered oldest first; only the flush thread removes its front.
//  - super_version_ always reflects the current {mem_, imm_, versions_->current()}; it is
//    replaced under mu_ (and sv_mu_) whenever any of them changes.
//  - A file number in pending_outputs_ belongs to a table being written: never deleted.
//  - Once bg_error_ is set it never clears: every later write returns it, no background job
//    starts, and no file is deleted (a failed MANIFEST write leaves the on-disk state
//    unknown).
//  - versions_->LastSequence() only grows; it is published after the writes up to it are
//    in the memtable. A reader takes its SuperVersion FIRST and reads the sequence after:
//    the files of a pinned Version never change, so no compaction can drop a version the
//    reader still needs (the other order lost entries when a compaction was installed
//    between the two steps), and writes in memtables newer than the pinned ones all carry
//    higher sequences, so the view is still a consistent prefix.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "block_cache.h"
#include "dbformat.h"
#include "info_log.h"
#include "log_writer.h"
#include "memtable.h"
#include "table_cache.h"
#include "version_edit.h"
#include "version_set.h"
#include "zworld/engine/db.h"

namespace zworld::engine {

class DBImpl final : public DB {
 public:
  // options must already be checked (see DB::Open).
  DBImpl(const Options& options, std::string dbname);
  ~DBImpl() override;

  Status Put(const WriteOptions& options, const Slice& key, const Slice& value) override;
  Status Delete(const WriteOptions& options, const Slice& key) override;
  Status Write(const WriteOptions& options, const WriteBatch& batch) override;
  Status Get(const ReadOptions& options, const Slice& key, std::string* value) override;
  std::unique_ptr<Iterator> NewIterator(const ReadOptions& options) override;
  Status Scan(const ReadOptions& options, const Slice& start, const Slice& limit,
              const ScanOptions& scan_options, ScanVisitor* visitor) override;
  // Null once the DB is closed.
  const Snapshot* GetSnapshot() override;
  void ReleaseSnapshot(const Snapshot* snapshot) override;
  Status Flush() override;
  Status CompactRange(const Slice* begin, const Slice* end) override;
  bool GetProperty(const Slice& name, std::string* value) override;
  DBStats GetStats() override;
  Status Close() override;

  // Test hooks.
  // Waits until no memtable is waiting for flush and no automatic compaction is due (or a
  // background error latched); returns bg_error_.
  Status TEST_WaitForBackgroundWork();
  int TEST_NumLevelFiles(int level);

 private:
  friend class DB;

  // A writer waiting in the queue, on the writer's stack.
  struct Writer {
    const WriteBatch* batch = nullptr;  // null: a memtable switch (force_switch) or a carry
    bool sync = false;
    bool force_switch = false;
    // KeepResident re-logging: single-entry batches that keep their own sequence numbers.
    std::vector<WriteBatch>* carry = nullptr;
    bool done = false;
    Status status;
    std::condition_variable cv;
  };

  // {active memtable, frozen memtables, Version}: what a read needs, taken as one reference.
  struct SuperVersion {
    std::atomic<int> refs{1};
    MemTable* mem = nullptr;
    std::vector<MemTable*> imm;  // newest first
    Version* version = nullptr;
  };

  class SnapshotImpl final : public Snapshot {
   public:
    explicit SnapshotImpl(SequenceNumber seq) : sequence(seq) {}
    ~SnapshotImpl() override = default;
    const SequenceNumber sequence;
    std::list<SnapshotImpl*>::iterator pos;
  };

  struct ManualCompaction {
    int level;
    bool done = false;
    Status status;
    const InternalKey* begin;  // null: open
    const InternalKey* end;    // null: open
    InternalKey resume_key;    // where the next piece starts (begin points here after a piece)
  };

  // A frozen memtable waiting for flush.
  struct Immutable {
    MemTable* mem;        // holds a reference
    uint64_t log_number;  // the WAL that holds its writes
    uint64_t id;          // position in switch order (Flush waits on it)
  };

  // Counters of DBStats kept by the engine itself (the rest comes from the caches and the
  // Version). Relaxed atomics: they are statistics.
  struct Counters {
    std::atomic<uint64_t> writes{0}, write_groups{0}, wal_syncs{0}, bytes_written{0};
    std::atomic<uint64_t> gets{0}, flushes{0}, compactions{0}, tables_moved{0};
    std::atomic<uint64_t> compaction_bytes_read{0}, compaction_bytes_written{0};
    std::atomic<uint64_t> stall_micros{0}, slowdown_writes{0}, stopped_writes{0};
    std::atomic<uint64_t> bloom_useful{0}, scan_blocks_read{0}, scan_blocks_skipped{0};
  };

  // ---- open and recovery (db_impl_open.cc) ----
  Status Recover(VersionEdit* edit);
  Status NewDB();
  Status RecoverLogFile(uint64_t log_number, SequenceNumber* max_sequence, VersionEdit* edit);

  // ---- write path ----
  // Runs w through the writer queue. w->batch null with w->force_switch: switch memtables.
  Status RunWriter(Writer* w);
  // Makes room in mem_ (switching memtables, stalling as the L0 triggers say). Called by the
  // leader with mu_ held (it may be released while waiting).
  Status MakeRoomForWrite(bool force, std::unique_lock<std::mutex>* lock);
  // Appends the writers after the leader that may join its group to tmp_batch_; returns the
  // last writer of the group and whether any asked for sync.
  Writer* BuildBatchGroup(bool* need_sync);
  // Calls access_policy->OnWrite for every key of batch.
  void NotifyWrites(const WriteBatch& batch);

  // ---- background work (db_impl_background.cc) ----
  void FlushThread();
  void CompactionThread();
  // Flushes imm_.front(). mu_ held (released while writing the table).
  void FlushFrontImmutable(std::unique_lock<std::mutex>* lock);
  // Writes mem to new L0 tables (several where Options::table_partitioner cuts) and adds
  // them to edit (nothing for an empty memtable). The tables' numbers, *table_numbers, stay
  // in pending_outputs_ until the caller erases them (after the edit is applied). If carry is
  // non-null, collects the newest live entries the access policy keeps resident
  // (single-entry batches with their original sequence). mu_ held (lock may be null during
  // Open); released while writing.
  Status WriteLevel0Table(MemTable* mem, VersionEdit* edit, std::vector<WriteBatch>* carry,
                          std::unique_lock<std::mutex>* lock, std::vector<uint64_t>* table_numbers);
  // Writes mem's entries to new tables, numbered by new_file_number(), appending each one's
  // metadata to *metas (none for an empty memtable). On error no table is left behind.
  // Called without mu_.
  Status BuildTables(MemTable* mem, const std::function<uint64_t()>& new_file_number,
                     std::vector<FileMetaData>* metas, std::vector<WriteBatch>* carry);
  void BackgroundCompaction(std::unique_lock<std::mutex>* lock);
  struct CompactionState;
  Status DoCompactionWork(CompactionState* compact, std::unique_lock<std::mutex>* lock);
  Status OpenCompactionOutput(CompactionState* compact);
  Status FinishCompactionOutput(CompactionState* compact, Iterator* input);
  Status InstallCompactionResults(CompactionState* compact, std::unique_lock<std::mutex>* lock);
  // Deletes files that no live Version, pending output or needed WAL refers to. mu_ held
  // (released while deleting).
  void DeleteObsoleteFiles(std::unique_lock<std::mutex>* lock);
  void RecordBackgroundError(const Status& s);  // mu_ held
  Status RunManualCompaction(int level, const Slice* begin, const Slice* end);
  // Waits until every memtable switched so far is flushed. mu_ held.
  Status WaitForFlush(uint64_t id, std::unique_lock<std::mutex>* lock);

  // ---- read views ----
  SuperVersion* AcquireSuperVersion();
  static void ReleaseSuperVersion(SuperVersion* sv);
  void InstallSuperVersion();  // mu_ held
  SequenceNumber ReadSequence(const ReadOptions& options) const;
  SequenceNumber OldestSnapshotSequence() const;  // mu_ held

  std::string StatsString();
  std::string SSTablesString();

  // ---- state (the pointers below are set during Open and reset by Close) ----
  const Options options_;
  const std::string dbname_;
  std::unique_ptr<InfoLog> info_log_;
  std::unique_ptr<BlockCache> block_cache_;
  std::unique_ptr<TableCache> table_cache_;
  std::unique_ptr<VersionSet> versions_;  // guarded by mu_ (LastSequence is atomic)
  std::unique_ptr<FileLock> db_lock_;

  std::mutex mu_;
  std::condition_variable bg_cv_;       // background work finished (stalled writers, waiters)
  std::condition_variable flush_cv_;    // wakes the flush thread
  std::condition_variable compact_cv_;  // wakes the compaction thread
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> closed_{false};
  bool closing_ = false;  // guarded by mu_: Close has begun, new writes are refused
  std::thread flush_thread_;
  std::thread compaction_thread_;

  MemTable* mem_ = nullptr;           // guarded by mu_; written by the leader
  std::deque<Immutable> imm_;         // guarded by mu_
  uint64_t next_memtable_id_ = 1;     // guarded by mu_: id of the next switched memtable
  uint64_t flushed_memtable_id_ = 0;  // guarded by mu_: every id <= this is flushed

  std::unique_ptr<WritableFile> logfile_;  // leader only (replaced under mu_)
  std::unique_ptr<log::Writer> log_;       // leader only
  uint64_t logfile_number_ = 0;            // guarded by mu_
  bool logfile_dir_synced_ = false;        // leader only: logfile_'s name is durable

  std::deque<Writer*> writers_;  // guarded by mu_
  WriteBatch tmp_batch_;         // leader only

  std::set<uint64_t> pending_outputs_;             // guarded by mu_
  std::set<std::string> files_being_deleted_;      // guarded by mu_
  std::list<SnapshotImpl*> snapshots_;             // guarded by mu_, oldest first
  Status bg_error_;                                // guarded by mu_
  ManualCompaction* manual_compaction_ = nullptr;  // guarded by mu_
  bool compaction_running_ = false;                // guarded by mu_
  std::string recovery_report_;                    // set during Open

  std::mutex sv_mu_;                       // guards the pointer swap and the reader's Ref
  SuperVersion* super_version_ = nullptr;  // guarded by sv_mu_ (and changed under mu_)

  Counters counters_;
};

}  // namespace zworld::engine
