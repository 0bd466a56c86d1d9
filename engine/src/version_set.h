// Versions: which SSTables make up the DB, per level, at one moment; the VersionSet that
// holds the current Version, writes the MANIFEST and picks compactions.
//
// Invariants:
//  - A Version never changes once built. Readers take a reference (Ref) and read its files
//    without any lock; the files of every live Version stay on disk (AddLiveFiles).
//  - In levels >= 1, the files of a Version are sorted by smallest key and their key ranges
//    do not overlap; one user key never spans two files of a level. Level 0 files may
//    overlap and are kept in file number order (oldest first): a newer L0 file shadows an
//    older one.
//  - Every MANIFEST record that was synced describes a state whose files all exist: files
//    are written and synced before the edit that adds them, and deleted only once no edit
//    and no live Version names them.
//
// Thread safety: Version::Ref/Unref and the const queries of a Version are safe from any
// thread. The VersionSet is guarded by the DB mutex, which the caller holds for every call
// unless the method says otherwise.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "dbformat.h"
#include "info_log.h"
#include "log_writer.h"
#include "scan_source.h"
#include "table_cache.h"
#include "version_edit.h"
#include "zworld/engine/iterator.h"
#include "zworld/engine/options.h"

namespace zworld::engine {

class Compaction;
class VersionSet;

using FilePtr = std::shared_ptr<const FileMetaData>;

// Read-path counters filled by Version::Get.
struct GetCounters {
  uint64_t bloom_useful = 0;  // tables whose bloom filter ruled the key out
};

class Version {
 public:
  void Ref() { refs_.fetch_add(1, std::memory_order_relaxed); }
  // Drops a reference; the last one deletes the Version (from any thread).
  void Unref();

  // Looks key up in the tables: L0 newest first, then one file per deeper level.
  // kFound sets *value; kDeleted and kAbsent say the tables hold a deletion or nothing.
  // Returns OK or the error of a table read (then *result is kAbsent).
  Status Get(const ReadOptions& options, const LookupKey& key, std::string* value,
             LookupResult* result, GetCounters* counters) const;

  // Appends iterators over the internal keys of every file (one per L0 file, one lazily
  // concatenating iterator per deeper level). They read this Version's files: the caller
  // keeps a reference until they are destroyed.
  void AddIterators(const ReadOptions& options, std::vector<std::unique_ptr<Iterator>>* iters);

  // Appends scan sources for the files that may hold user keys in [start, limit) (an empty
  // limit means no upper bound): one per such L0 file (newest first), one lazily
  // concatenating source per deeper level. The caller keeps a reference while they live.
  // Returns the first error opening an L0 table (sources appended so far stay).
  Status AddScanSources(const ReadOptions& options, const Slice& start, const Slice& limit,
                        std::vector<std::unique_ptr<ScanSource>>* sources);

  // True if some file of level overlaps the user-key range [*smallest, *largest]; a null
  // bound is open.
  bool OverlapInLevel(int level, const Slice* smallest, const Slice* largest) const;

  // Sets *inputs to the files of level overlapping the internal-key range [begin, end] (null
  // is open). In L0 the range grows to cover every overlapping file transitively.
  void GetOverlappingInputs(int level, const InternalKey* begin, const InternalKey* end,
                            std::vector<FilePtr>* inputs) const;

  int NumFiles(int level) const { return static_cast<int>(files_[level].size()); }
  // The most L0 files whose key ranges hold one same user key: the L0 files a read may have
  // to look in. Equals the L0 file count when every L0 file spans the same keys.
  int L0Depth() const { return l0_depth_; }
  uint64_t NumBytes(int level) const;
  const std::vector<FilePtr>& files(int level) const { return files_[level]; }
  int num_levels() const { return num_levels_; }

  // One line per level: "L<n>: <files> files, <bytes> bytes, [numbers...]".
  std::string DebugString() const;

 private:
  friend class VersionSet;
  friend class Compaction;

  explicit Version(VersionSet* vset);
  ~Version();

  VersionSet* const vset_;
  const int num_levels_;
  std::atomic<int> refs_{0};
  Version* prev_ = nullptr;  // in vset_'s list of live versions, guarded by vset_->list_mu_
  Version* next_ = nullptr;

  std::vector<FilePtr> files_[kMaxNumLevels];

  // The level most in need of compaction and its score (>= 1 means it should run).
  // Computed when the Version is built.
  double compaction_score_ = -1;
  int compaction_level_ = -1;
  int l0_depth_ = 0;
};

class VersionSet {
 public:
  // options, table_cache and info_log (may be null) must outlive the set.
  VersionSet(std::string dbname, const Options* options, TableCache* table_cache,
             InfoLog* info_log);
  ~VersionSet();
  VersionSet(const VersionSet&) = delete;
  VersionSet& operator=(const VersionSet&) = delete;

  // Applies edit to the current Version, appends it to the MANIFEST (the first call after
  // Recover writes a fresh MANIFEST holding a snapshot of the whole state, then points
  // CURRENT at it) and syncs it, then makes the result current. Fills in the edit's log
  // number, next file number and last sequence where unset. lock holds the DB mutex on entry
  // and exit; it is released while writing, and concurrent calls are serialized. On error the
  // current Version is unchanged and the MANIFEST must not be trusted further: the next call
  // starts a fresh one.
  Status LogAndApply(VersionEdit* edit, std::unique_lock<std::mutex>* lock);

  // Loads the state named by CURRENT. Corruption names the MANIFEST file and the record
  // offset. A torn MANIFEST tail (an edit whose write never finished) is dropped and
  // reported in *torn_tail_bytes.
  Status Recover(uint64_t* torn_tail_bytes);

  // The current Version; call Ref() to keep it beyond the DB mutex.
  Version* current() const { return current_; }

  uint64_t NewFileNumber() { return next_file_number_++; }
  // Gives back number (from NewFileNumber) if it was the last one handed out and never used.
  void ReuseFileNumber(uint64_t number) {
    if (next_file_number_ == number + 1) next_file_number_ = number;
  }
  // Makes sure NewFileNumber never returns number.
  void MarkFileNumberUsed(uint64_t number) {
    if (next_file_number_ <= number) next_file_number_ = number + 1;
  }
  uint64_t ManifestFileNumber() const { return manifest_file_number_; }
  // The oldest WAL whose contents may not yet be in the tables.
  uint64_t LogNumber() const { return log_number_; }

  // The sequence of the last write made visible. Safe to read without the DB mutex.
  SequenceNumber LastSequence() const { return last_sequence_.load(std::memory_order_acquire); }
  // Only the writer that owns the write path calls this; s never decreases.
  void SetLastSequence(SequenceNumber s) { last_sequence_.store(s, std::memory_order_release); }

  int NumLevelFiles(int level) const { return current_->NumFiles(level); }
  int L0Depth() const { return current_->L0Depth(); }
  uint64_t NumLevelBytes(int level) const { return current_->NumBytes(level); }

  // True if the current Version has a level whose score calls for a compaction.
  bool NeedsCompaction() const { return current_->compaction_score_ >= 1; }
  // The compaction the current Version most needs, or null if none.
  std::unique_ptr<Compaction> PickCompaction();
  // A compaction of the files of level overlapping [begin, end] (null is open) into
  // level + 1, or null if there are none. Above L0 it may cover only the start of the range
  // (a compaction is bounded in size): the caller continues after the largest key of the
  // last level() input file.
  std::unique_ptr<Compaction> CompactRange(int level, const InternalKey* begin,
                                           const InternalKey* end);

  // An iterator over the merged inputs of c, reading with checksums verified and without
  // filling the block cache.
  std::unique_ptr<Iterator> MakeInputIterator(Compaction* c);

  // Adds the numbers of the files of every live Version. Needs only the set's own lock.
  void AddLiveFiles(std::set<uint64_t>* live);

  // Bytes a level may hold before it needs compaction (level >= 1).
  uint64_t MaxBytesForLevel(int level) const;

  const Options* options() const { return options_; }
  TableCache* table_cache() const { return table_cache_; }

 private:
  friend class Version;
  friend class Compaction;
  class Builder;

  // Computes v's compaction score and level.
  void Finalize(Version* v) const;
  // Makes v current (taking a reference) and drops the reference on the previous one.
  void AppendVersion(Version* v);
  void SetupOtherInputs(Compaction* c);
  // Sets *smallest and *largest to the range covered by inputs (non-empty).
  static void GetRange(const std::vector<FilePtr>& inputs, InternalKey* smallest,
                       InternalKey* largest);
  static void GetRange2(const std::vector<FilePtr>& inputs1, const std::vector<FilePtr>& inputs2,
                        InternalKey* smallest, InternalKey* largest);

  const std::string dbname_;
  const Options* const options_;
  TableCache* const table_cache_;
  InfoLog* const info_log_;
  const int num_levels_;

  uint64_t next_file_number_ = 2;
  uint64_t manifest_file_number_ = 0;
  uint64_t log_number_ = 0;
  std::atomic<SequenceNumber> last_sequence_{0};

  // The open MANIFEST, or null when the next LogAndApply must start a fresh one.
  std::unique_ptr<WritableFile> manifest_file_;
  std::unique_ptr<log::Writer> manifest_log_;
  bool manifest_busy_ = false;           // a LogAndApply is writing (the DB mutex is released)
  std::condition_variable manifest_cv_;  // signalled when manifest_busy_ clears

  Version* current_ = nullptr;
  // The live Versions, a circular list through dummy_versions_, guarded by its own lock:
  // the last Unref of a Version may run on any thread without the DB mutex.
  mutable std::mutex list_mu_;
  Version dummy_versions_;

  // Per level, the largest key of the last compaction there: the next one starts after it.
  std::string compact_pointer_[kMaxNumLevels];
};

// One compaction: input files of level and level + 1, written as new files in level + 1.
class Compaction {
 public:
  ~Compaction();

  int level() const { return level_; }
  // The edit that the compaction's result is installed with.
  VersionEdit* edit() { return &edit_; }
  // which: 0 for files of level(), 1 for files of level() + 1.
  int num_input_files(int which) const { return static_cast<int>(inputs_[which].size()); }
  const FileMetaData* input(int which, int i) const { return inputs_[which][i].get(); }
  const std::vector<FilePtr>& inputs(int which) const { return inputs_[which]; }
  uint64_t MaxOutputFileSize() const { return max_output_file_size_; }

  // True if the compaction can move its single input file down one level unchanged.
  bool IsTrivialMove() const;
  // Adds the removal of every input file to *edit.
  void AddInputDeletions(VersionEdit* edit);
  // True if no level below level() + 1 may hold user_key: a deletion of it can be dropped.
  // Calls must come in increasing user_key order.
  bool IsBaseLevelForKey(const Slice& user_key);
  // True if the output file should end before internal_key, because it overlaps too much of
  // level() + 2. Calls must come in increasing key order.
  bool ShouldStopBefore(const Slice& internal_key);
  // Bytes of the input files.
  uint64_t InputBytes() const;

  // Drops the reference on the input Version (also done by the destructor).
  void ReleaseInputs();

 private:
  friend class VersionSet;
  Compaction(const Options* options, int level);

  const int level_;
  const uint64_t max_output_file_size_;
  const uint64_t max_grandparent_overlap_bytes_;
  Version* input_version_ = nullptr;
  VersionEdit edit_;
  std::vector<FilePtr> inputs_[2];
  // Files of level() + 2 overlapping the compaction's range.
  std::vector<FilePtr> grandparents_;
  size_t grandparent_index_ = 0;
  bool seen_key_ = false;
  uint64_t overlapped_bytes_ = 0;
  // Per level beyond level() + 1, the first file whose range may still contain the keys to
  // come (IsBaseLevelForKey).
  size_t level_ptrs_[kMaxNumLevels] = {};
};

}  // namespace zworld::engine
