#include "version_set.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>

#include "filename.h"
#include "level_iterator.h"
#include "log_reader.h"
#include "merger.h"

namespace zworld::engine {

namespace {

// Compaction size limits, as multiples of Options::target_file_size.
constexpr uint64_t kGrandparentOverlapFactor = 10;
constexpr uint64_t kExpandedCompactionFactor = 25;

uint64_t TotalFileSize(const std::vector<FilePtr>& files) {
  uint64_t sum = 0;
  for (const auto& f : files) sum += f->file_size;
  return sum;
}

// True if user key k lies after file f's range.
bool AfterFile(const Slice* k, const FileMetaData* f) {
  return k != nullptr && k->compare(f->largest.user_key()) > 0;
}
// True if user key k lies before file f's range.
bool BeforeFile(const Slice* k, const FileMetaData* f) {
  return k != nullptr && k->compare(f->smallest.user_key()) < 0;
}

}  // namespace

// ---- Version --------------------------------------------------------------------------------

Version::Version(VersionSet* vset) : vset_(vset), num_levels_(vset->num_levels_) {
  prev_ = next_ = this;
}

Version::~Version() = default;

void Version::Unref() {
  if (refs_.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  {
    std::lock_guard<std::mutex> l(vset_->list_mu_);
    prev_->next_ = next_;
    next_->prev_ = prev_;
  }
  delete this;
}

uint64_t Version::NumBytes(int level) const { return TotalFileSize(files_[level]); }

Status Version::Get(const ReadOptions& options, const LookupKey& key, std::string* value,
                    LookupResult* result, GetCounters* counters) const {
  const Slice ikey = key.internal_key();
  const Slice user_key = key.user_key();
  TableCache* cache = vset_->table_cache_;
  *result = LookupResult::kAbsent;

  auto probe = [&](const FileMetaData* f) -> Status {
    bool bloom_skipped = false;
    Status s = cache->Get(options, f->number, f->file_size, key, value, result, &bloom_skipped);
    if (bloom_skipped) counters->bloom_useful++;
    return s;
  };

  // Level 0, newest file first.
  const auto& l0 = files_[0];
  for (auto it = l0.rbegin(); it != l0.rend(); ++it) {
    const FileMetaData* f = it->get();
    if (user_key.compare(f->smallest.user_key()) < 0 ||
        user_key.compare(f->largest.user_key()) > 0) {
      continue;
    }
    Status s = probe(f);
    if (!s.ok() || *result != LookupResult::kAbsent) return s;
  }
  for (int level = 1; level < num_levels_; ++level) {
    const auto& files = files_[level];
    if (files.empty()) continue;
    size_t i = FindFile(files, ikey);
    if (i >= files.size()) continue;
    const FileMetaData* f = files[i].get();
    if (user_key.compare(f->smallest.user_key()) < 0) continue;
    Status s = probe(f);
    if (!s.ok() || *result != LookupResult::kAbsent) return s;
  }
  return Status::OK();
}

void Version::AddIterators(const ReadOptions& options,
                           std::vector<std::unique_ptr<Iterator>>* iters) {
  TableCache* cache = vset_->table_cache_;
  for (auto it = files_[0].rbegin(); it != files_[0].rend(); ++it) {
    iters->push_back(cache->NewIterator(options, (*it)->number, (*it)->file_size));
  }
  for (int level = 1; level < num_levels_; ++level) {
    if (!files_[level].empty()) {
      iters->push_back(NewLevelIterator(cache, options, files_[level]));
    }
  }
}

Status Version::AddScanSources(const ReadOptions& options, const Slice& start, const Slice& limit,
                               std::vector<std::unique_ptr<ScanSource>>* sources) {
  TableCache* cache = vset_->table_cache_;
  // Files overlap [start, limit) if largest >= start and (no limit or smallest < limit).
  auto before_limit = [&](const FileMetaData* f) {
    return limit.empty() || f->smallest.user_key().compare(limit) < 0;
  };
  for (auto it = files_[0].rbegin(); it != files_[0].rend(); ++it) {
    const FileMetaData* f = it->get();
    if (f->largest.user_key().compare(start) < 0 || !before_limit(f)) continue;
    std::unique_ptr<ScanSource> source;
    Status s = cache->NewScanSource(options, f->number, f->file_size, &source);
    if (!s.ok()) return s;
    sources->push_back(std::move(source));
  }
  for (int level = 1; level < num_levels_; ++level) {
    const auto& files = files_[level];
    // First file whose largest user key is >= start.
    size_t first = 0, hi = files.size();
    while (first < hi) {
      size_t mid = first + (hi - first) / 2;
      if (files[mid]->largest.user_key().compare(start) < 0) {
        first = mid + 1;
      } else {
        hi = mid;
      }
    }
    size_t last = first;
    while (last < files.size() && before_limit(files[last].get())) ++last;
    if (first == last) continue;
    sources->push_back(NewLevelScanSource(
        cache, options, std::span<const FilePtr>(files).subspan(first, last - first)));
  }
  return Status::OK();
}

bool Version::OverlapInLevel(int level, const Slice* smallest, const Slice* largest) const {
  const auto& files = files_[level];
  if (level == 0) {
    for (const auto& f : files) {
      if (!AfterFile(smallest, f.get()) && !BeforeFile(largest, f.get())) return true;
    }
    return false;
  }
  size_t i = 0;
  if (smallest != nullptr) {
    InternalKey probe(*smallest, kMaxSequenceNumber, kValueTypeForSeek);
    i = FindFile(files, probe.Encode());
  }
  if (i >= files.size()) return false;
  return !BeforeFile(largest, files[i].get());
}

void Version::GetOverlappingInputs(int level, const InternalKey* begin, const InternalKey* end,
                                   std::vector<FilePtr>* inputs) const {
  inputs->clear();
  std::string lo, hi;  // user-key bounds; may widen in L0
  bool has_lo = begin != nullptr, has_hi = end != nullptr;
  if (has_lo) lo = begin->user_key().ToString();
  if (has_hi) hi = end->user_key().ToString();
  const auto& files = files_[level];
  for (size_t i = 0; i < files.size();) {
    const FileMetaData* f = files[i++].get();
    Slice fs = f->smallest.user_key(), fl = f->largest.user_key();
    if (has_lo && fl.compare(lo) < 0) continue;
    if (has_hi && fs.compare(hi) > 0) continue;
    inputs->push_back(files[i - 1]);
    if (level == 0) {
      // An L0 file that reaches outside the range widens it: restart with the wider range
      // so every L0 file overlapping the result is included.
      if (has_lo && fs.compare(lo) < 0) {
        lo = fs.ToString();
        inputs->clear();
        i = 0;
      } else if (has_hi && fl.compare(hi) > 0) {
        hi = fl.ToString();
        inputs->clear();
        i = 0;
      }
    }
  }
}

std::string Version::DebugString() const {
  std::string r;
  char buf[128];
  for (int level = 0; level < num_levels_; ++level) {
    std::snprintf(buf, sizeof(buf), "L%d: %zu files, %" PRIu64 " bytes:", level,
                  files_[level].size(), NumBytes(level));
    r += buf;
    for (const auto& f : files_[level]) {
      std::snprintf(buf, sizeof(buf), " %06" PRIu64, f->number);
      r += buf;
    }
    r += "\n";
  }
  return r;
}

// ---- Builder --------------------------------------------------------------------------------

// Accumulates edits on top of a base Version, then writes the result into a new Version.
class VersionSet::Builder {
 public:
  Builder(VersionSet* vset, const Version* base) : vset_(vset), base_(base) {}

  // Records edit's changes. InvalidArgument if it names a level the DB does not have.
  Status Apply(const VersionEdit& edit) {
    for (const auto& [level, key] : edit.compact_pointers()) {
      if (level >= vset_->num_levels_) return BadLevel(level);
      vset_->compact_pointer_[level] = key.Encode().ToString();
    }
    for (const auto& [level, number] : edit.deleted_files()) {
      if (level >= vset_->num_levels_) return BadLevel(level);
      levels_[level].deleted.insert(number);
      levels_[level].added.erase(number);
    }
    for (const auto& [level, f] : edit.new_files()) {
      if (level >= vset_->num_levels_) return BadLevel(level);
      levels_[level].deleted.erase(f.number);
      levels_[level].added[f.number] = std::make_shared<const FileMetaData>(f);
    }
    return Status::OK();
  }

  // Fills v's files. Corruption if the result breaks the level invariants.
  Status SaveTo(Version* v) const {
    for (int level = 0; level < vset_->num_levels_; ++level) {
      const LevelChanges& ch = levels_[level];
      std::vector<FilePtr>& out = v->files_[level];
      out.reserve(base_->files_[level].size() + ch.added.size());
      for (const auto& f : base_->files_[level]) {
        if (ch.deleted.count(f->number) == 0 && ch.added.count(f->number) == 0) {
          out.push_back(f);
        }
      }
      for (const auto& [number, f] : ch.added) out.push_back(f);
      if (level == 0) {
        std::sort(out.begin(), out.end(),
                  [](const FilePtr& a, const FilePtr& b) { return a->number < b->number; });
        continue;
      }
      std::sort(out.begin(), out.end(), [](const FilePtr& a, const FilePtr& b) {
        int r = CompareInternalKey(a->smallest.Encode(), b->smallest.Encode());
        return r != 0 ? r < 0 : a->number < b->number;
      });
      for (size_t i = 1; i < out.size(); ++i) {
        if (out[i - 1]->largest.user_key().compare(out[i]->smallest.user_key()) >= 0) {
          char buf[160];
          std::snprintf(buf, sizeof(buf),
                        "files %06" PRIu64 " and %06" PRIu64 " overlap in level %d",
                        out[i - 1]->number, out[i]->number, level);
          return Status::Corruption("version", buf);
        }
      }
    }
    return Status::OK();
  }

 private:
  struct LevelChanges {
    std::set<uint64_t> deleted;
    std::map<uint64_t, FilePtr> added;
  };

  Status BadLevel(int level) const {
    char buf[120];
    std::snprintf(buf, sizeof(buf), "edit names level %d but the DB has %d levels", level,
                  vset_->num_levels_);
    return Status::InvalidArgument(buf);
  }

  VersionSet* const vset_;
  const Version* const base_;
  LevelChanges levels_[kMaxNumLevels];
};

// ---- VersionSet -----------------------------------------------------------------------------

VersionSet::VersionSet(std::string dbname, const Options* options, TableCache* table_cache,
                       InfoLog* info_log)
    : dbname_(std::move(dbname)),
      options_(options),
      table_cache_(table_cache),
      info_log_(info_log),
      num_levels_(options->num_levels),
      dummy_versions_(this) {
  AppendVersion(new Version(this));
}

VersionSet::~VersionSet() {
  current_->Unref();
  // Every other Version must be gone: the DB releases its readers before the set.
  if (manifest_file_ != nullptr) manifest_file_->Close();
}

void VersionSet::AppendVersion(Version* v) {
  v->Ref();
  {
    std::lock_guard<std::mutex> l(list_mu_);
    v->prev_ = dummy_versions_.prev_;
    v->next_ = &dummy_versions_;
    v->prev_->next_ = v;
    v->next_->prev_ = v;
  }
  Version* old = current_;
  current_ = v;
  if (old != nullptr) old->Unref();
}

uint64_t VersionSet::MaxBytesForLevel(int level) const {
  uint64_t bytes = options_->max_bytes_for_level_base;
  for (int l = 1; l < level; ++l) bytes *= static_cast<uint64_t>(options_->level_size_multiplier);
  return bytes;
}

namespace {

// The most files of one level (L0) whose closed user-key ranges share a key: a sweep over
// the range ends, starts before ends at equal keys.
int OverlapDepth(const std::vector<FilePtr>& files) {
  std::vector<std::pair<Slice, int>> ends;  // (user key, +1 start / -1 end)
  ends.reserve(2 * files.size());
  for (const FilePtr& f : files) {
    ends.emplace_back(f->smallest.user_key(), +1);
    ends.emplace_back(f->largest.user_key(), -1);
  }
  std::sort(ends.begin(), ends.end(), [](const auto& a, const auto& b) {
    const int r = a.first.compare(b.first);
    return r != 0 ? r < 0 : a.second > b.second;
  });
  int depth = 0, best = 0;
  for (const auto& e : ends) {
    depth += e.second;
    best = std::max(best, depth);
  }
  return best;
}

}  // namespace

void VersionSet::Finalize(Version* v) const {
  int best_level = -1;
  double best_score = -1;
  v->l0_depth_ = OverlapDepth(v->files_[0]);
  for (int level = 0; level < num_levels_ - 1; ++level) {
    double score;
    if (level == 0) {
      // Counted in files, not bytes: every L0 file that holds a key is one more place a read
      // of it must look. Files a partitioner keeps apart do not add up; their number alone
      // triggers a compaction only when it is far past the stop trigger.
      score = std::max(
          static_cast<double>(v->l0_depth_) / options_->l0_compaction_trigger,
          static_cast<double>(v->files_[0].size()) / (4.0 * options_->l0_stop_writes_trigger));
    } else {
      score =
          static_cast<double>(v->NumBytes(level)) / static_cast<double>(MaxBytesForLevel(level));
    }
    if (score > best_score) {
      best_score = score;
      best_level = level;
    }
  }
  v->compaction_level_ = best_level;
  v->compaction_score_ = best_score;
}

Status VersionSet::LogAndApply(VersionEdit* edit, std::unique_lock<std::mutex>* lock) {
  while (manifest_busy_) manifest_cv_.wait(*lock);

  if (!edit->has_log_number()) edit->SetLogNumber(log_number_);
  const bool fresh_manifest = manifest_log_ == nullptr;
  uint64_t new_manifest_number = manifest_file_number_;
  if (fresh_manifest) new_manifest_number = NewFileNumber();
  edit->SetNextFileNumber(next_file_number_);
  edit->SetLastSequence(LastSequence());

  auto* v = new Version(this);
  {
    Builder builder(this, current_);
    Status s = builder.Apply(*edit);
    if (s.ok()) s = builder.SaveTo(v);
    if (!s.ok()) {
      delete v;
      return s;
    }
  }
  Finalize(v);

  // Encode under the lock (the compaction pointers and current_ may change once it is
  // released), write without it.
  std::string snapshot_record, edit_record;
  if (fresh_manifest) {
    VersionEdit snap;
    for (int level = 0; level < num_levels_; ++level) {
      if (!compact_pointer_[level].empty()) {
        InternalKey key;
        key.DecodeFrom(compact_pointer_[level]);
        snap.SetCompactPointer(level, key);
      }
      for (const auto& f : current_->files_[level]) {
        snap.AddFile(level, f->number, f->file_size, f->smallest, f->largest);
      }
    }
    snap.EncodeTo(&snapshot_record);
  }
  edit->EncodeTo(&edit_record);

  manifest_busy_ = true;
  lock->unlock();
  Status s;
  const std::string manifest_name = DescriptorFileName(dbname_, new_manifest_number);
  if (fresh_manifest) {
    s = options_->env->NewWritableFile(manifest_name, &manifest_file_);
    if (s.ok()) {
      manifest_log_ = std::make_unique<log::Writer>(manifest_file_.get());
      s = manifest_log_->AddRecord(snapshot_record);
    }
  }
  if (s.ok()) s = manifest_log_->AddRecord(edit_record);
  if (s.ok()) s = manifest_file_->Sync();
  if (s.ok() && fresh_manifest) s = SetCurrentFile(options_->env, dbname_, new_manifest_number);
  lock->lock();
  manifest_busy_ = false;
  manifest_cv_.notify_all();

  if (!s.ok()) {
    delete v;
    manifest_log_.reset();
    if (manifest_file_ != nullptr) manifest_file_->Close();
    manifest_file_.reset();
    // CURRENT may already name it if only the folder sync failed; then it must stay.
    if (fresh_manifest && !CurrentFileNames(options_->env, dbname_, new_manifest_number)) {
      options_->env->RemoveFile(manifest_name);
    }
    Log(info_log_, "MANIFEST write failed: %s", s.ToString().c_str());
    return s;
  }
  manifest_file_number_ = new_manifest_number;
  log_number_ = edit->log_number();
  AppendVersion(v);
  return Status::OK();
}

namespace {

// Remembers the first corruption a MANIFEST reader reports.
struct ManifestReporter : public log::Reader::Reporter {
  Status first;
  void Corruption(uint64_t, size_t, const Status& reason) override {
    if (first.ok()) first = reason;
  }
};

}  // namespace

Status VersionSet::Recover(uint64_t* torn_tail_bytes) {
  *torn_tail_bytes = 0;
  Env* env = options_->env;
  std::string current;
  Status s = ReadFileToString(env, CurrentFileName(dbname_), &current);
  if (!s.ok()) return s;
  if (current.empty() || current.back() != '\n' || current.find('\n') != current.size() - 1) {
    return Status::Corruption("CURRENT", "does not hold one MANIFEST name and a newline");
  }
  current.pop_back();
  uint64_t manifest_number;
  FileType type;
  if (!ParseFileName(current, &manifest_number, &type) || type != FileType::kDescriptorFile) {
    return Status::Corruption("CURRENT", "names no MANIFEST file");
  }

  std::unique_ptr<SequentialFile> file;
  s = env->NewSequentialFile(dbname_ + "/" + current, &file);
  if (!s.ok()) {
    if (!env->FileExists(dbname_ + "/" + current)) {
      return Status::Corruption("CURRENT", "names " + current + ", which does not exist");
    }
    return s;
  }

  bool have_log_number = false, have_next_file = false, have_last_sequence = false;
  uint64_t log_number = 0, next_file = 0;
  SequenceNumber last_sequence = 0;
  Builder builder(this, current_);
  ManifestReporter reporter;
  log::Reader reader(file.get(), current, &reporter, /*checksum=*/true);
  Slice record;
  std::string scratch;
  while (reader.ReadRecord(&record, &scratch)) {
    VersionEdit edit;
    s = edit.DecodeFrom(record);
    if (s.ok()) s = builder.Apply(edit);
    if (!s.ok()) {
      char buf[64];
      std::snprintf(buf, sizeof(buf), " (record at offset %" PRIu64 ")", reader.LastRecordOffset());
      if (s.IsInvalidArgument()) return Status::InvalidArgument(current, s.message() + buf);
      return Status::Corruption(current, s.message() + buf);
    }
    if (edit.has_log_number()) {
      have_log_number = true;
      log_number = edit.log_number();
    }
    if (edit.has_next_file_number()) {
      have_next_file = true;
      next_file = edit.next_file_number();
    }
    if (edit.has_last_sequence()) {
      have_last_sequence = true;
      last_sequence = edit.last_sequence();
    }
  }
  if (!reader.status().ok()) return reader.status();
  if (reader.corruption_before_valid_record()) {
    if (!reporter.first.ok()) return reporter.first;
    char buf[64];
    std::snprintf(buf, sizeof(buf), "damaged record at offset %" PRIu64,
                  reader.first_corruption_offset());
    return Status::Corruption(current, buf);
  }
  if (reader.dropped_bytes() > 0) {
    // An edit whose append never finished: nothing was built on it (its files are synced
    // before and deleted only after an edit is synced), so the state before it is whole.
    *torn_tail_bytes = reader.dropped_bytes();
    Log(info_log_, "%s: dropped a torn tail of %" PRIu64 " bytes at offset %" PRIu64,
        current.c_str(), reader.dropped_bytes(), reader.first_corruption_offset());
  }
  if (!have_next_file || !have_log_number || !have_last_sequence) {
    return Status::Corruption(current, "no next file number, log number or last sequence");
  }

  auto* v = new Version(this);
  s = builder.SaveTo(v);
  if (!s.ok()) {
    delete v;
    return Status::Corruption(current, s.message());
  }
  Finalize(v);
  AppendVersion(v);
  manifest_file_number_ = manifest_number;
  next_file_number_ = next_file;
  MarkFileNumberUsed(manifest_number);
  MarkFileNumberUsed(log_number);
  log_number_ = log_number;
  SetLastSequence(last_sequence);
  return Status::OK();
}

void VersionSet::AddLiveFiles(std::set<uint64_t>* live) {
  std::lock_guard<std::mutex> l(list_mu_);
  for (Version* v = dummy_versions_.next_; v != &dummy_versions_; v = v->next_) {
    for (int level = 0; level < num_levels_; ++level) {
      for (const auto& f : v->files_[level]) live->insert(f->number);
    }
  }
}

void VersionSet::GetRange(const std::vector<FilePtr>& inputs, InternalKey* smallest,
                          InternalKey* largest) {
  for (size_t i = 0; i < inputs.size(); ++i) {
    const FileMetaData* f = inputs[i].get();
    if (i == 0 || CompareInternalKey(f->smallest.Encode(), smallest->Encode()) < 0) {
      *smallest = f->smallest;
    }
    if (i == 0 || CompareInternalKey(f->largest.Encode(), largest->Encode()) > 0) {
      *largest = f->largest;
    }
  }
}

void VersionSet::GetRange2(const std::vector<FilePtr>& inputs1, const std::vector<FilePtr>& inputs2,
                           InternalKey* smallest, InternalKey* largest) {
  std::vector<FilePtr> all = inputs1;
  all.insert(all.end(), inputs2.begin(), inputs2.end());
  GetRange(all, smallest, largest);
}

std::unique_ptr<Compaction> VersionSet::PickCompaction() {
  if (current_->compaction_score_ < 1) return nullptr;
  const int level = current_->compaction_level_;
  std::unique_ptr<Compaction> c(new Compaction(options_, level));
  // Round robin: the first file after the previous compaction of this level.
  const auto& files = current_->files_[level];
  for (const auto& f : files) {
    if (compact_pointer_[level].empty() ||
        CompareInternalKey(f->largest.Encode(), compact_pointer_[level]) > 0) {
      c->inputs_[0].push_back(f);
      break;
    }
  }
  if (c->inputs_[0].empty()) c->inputs_[0].push_back(files[0]);
  c->input_version_ = current_;
  c->input_version_->Ref();
  if (level == 0) {
    InternalKey smallest, largest;
    GetRange(c->inputs_[0], &smallest, &largest);
    current_->GetOverlappingInputs(0, &smallest, &largest, &c->inputs_[0]);
  }
  SetupOtherInputs(c.get());
  return c;
}

void VersionSet::SetupOtherInputs(Compaction* c) {
  const int level = c->level();
  Version* v = c->input_version_;
  InternalKey smallest, largest;
  GetRange(c->inputs_[0], &smallest, &largest);
  v->GetOverlappingInputs(level + 1, &smallest, &largest, &c->inputs_[1]);

  InternalKey all_start, all_limit;
  GetRange2(c->inputs_[0], c->inputs_[1], &all_start, &all_limit);

  // Take in more files of level if that does not pull in more of level + 1.
  if (!c->inputs_[1].empty()) {
    std::vector<FilePtr> expanded0;
    v->GetOverlappingInputs(level, &all_start, &all_limit, &expanded0);
    const uint64_t inputs1_size = TotalFileSize(c->inputs_[1]);
    const uint64_t expanded0_size = TotalFileSize(expanded0);
    if (expanded0.size() > c->inputs_[0].size() &&
        inputs1_size + expanded0_size < kExpandedCompactionFactor * options_->target_file_size) {
      InternalKey new_start, new_limit;
      GetRange(expanded0, &new_start, &new_limit);
      std::vector<FilePtr> expanded1;
      v->GetOverlappingInputs(level + 1, &new_start, &new_limit, &expanded1);
      if (expanded1.size() == c->inputs_[1].size()) {
        smallest = new_start;
        largest = new_limit;
        c->inputs_[0] = std::move(expanded0);
        c->inputs_[1] = std::move(expanded1);
        GetRange2(c->inputs_[0], c->inputs_[1], &all_start, &all_limit);
      }
    }
  }

  if (level + 2 < num_levels_) {
    v->GetOverlappingInputs(level + 2, &all_start, &all_limit, &c->grandparents_);
  }

  // The next compaction of this level starts after this one, even if this one fails.
  compact_pointer_[level] = largest.Encode().ToString();
  c->edit_.SetCompactPointer(level, largest);
}

std::unique_ptr<Compaction> VersionSet::CompactRange(int level, const InternalKey* begin,
                                                     const InternalKey* end) {
  std::vector<FilePtr> inputs;
  current_->GetOverlappingInputs(level, begin, end, &inputs);
  if (inputs.empty()) return nullptr;
  if (level > 0) {
    // Above L0 a file's versions of a user key are all in that file, so the range may be
    // cut between files; keep one compaction to a bounded size.
    const uint64_t limit = options_->target_file_size;
    uint64_t total = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
      total += inputs[i]->file_size;
      if (total >= limit) {
        inputs.resize(i + 1);
        break;
      }
    }
  }
  std::unique_ptr<Compaction> c(new Compaction(options_, level));
  c->input_version_ = current_;
  c->input_version_->Ref();
  c->inputs_[0] = std::move(inputs);
  SetupOtherInputs(c.get());
  return c;
}

std::unique_ptr<Iterator> VersionSet::MakeInputIterator(Compaction* c) {
  ReadOptions options;
  options.verify_checksums = options_->paranoid_checks;
  options.fill_cache = false;
  std::vector<std::unique_ptr<Iterator>> iters;
  for (int which = 0; which < 2; ++which) {
    if (c->inputs_[which].empty()) continue;
    if (c->level() + which == 0) {
      for (const auto& f : c->inputs_[which]) {
        iters.push_back(table_cache_->NewIterator(options, f->number, f->file_size));
      }
    } else {
      iters.push_back(NewLevelIterator(table_cache_, options, c->inputs_[which]));
    }
  }
  return NewMergingIterator(std::move(iters));
}

// ---- Compaction -----------------------------------------------------------------------------

Compaction::Compaction(const Options* options, int level)
    : level_(level),
      max_output_file_size_(options->target_file_size),
      max_grandparent_overlap_bytes_(kGrandparentOverlapFactor * options->target_file_size) {}

Compaction::~Compaction() { ReleaseInputs(); }

void Compaction::ReleaseInputs() {
  if (input_version_ != nullptr) {
    input_version_->Unref();
    input_version_ = nullptr;
  }
}

bool Compaction::IsTrivialMove() const {
  return inputs_[0].size() == 1 && inputs_[1].empty() &&
         TotalFileSize(grandparents_) <= max_grandparent_overlap_bytes_;
}

void Compaction::AddInputDeletions(VersionEdit* edit) {
  for (int which = 0; which < 2; ++which) {
    for (const auto& f : inputs_[which]) edit->RemoveFile(level_ + which, f->number);
  }
}

uint64_t Compaction::InputBytes() const {
  return TotalFileSize(inputs_[0]) + TotalFileSize(inputs_[1]);
}

bool Compaction::IsBaseLevelForKey(const Slice& user_key) {
  for (int lvl = level_ + 2; lvl < input_version_->num_levels_; ++lvl) {
    const auto& files = input_version_->files_[lvl];
    while (level_ptrs_[lvl] < files.size()) {
      const FileMetaData* f = files[level_ptrs_[lvl]].get();
      if (user_key.compare(f->largest.user_key()) <= 0) {
        if (user_key.compare(f->smallest.user_key()) >= 0) return false;
        break;
      }
      level_ptrs_[lvl]++;
    }
  }
  return true;
}

bool Compaction::ShouldStopBefore(const Slice& internal_key) {
  while (grandparent_index_ < grandparents_.size() &&
         CompareInternalKey(internal_key, grandparents_[grandparent_index_]->largest.Encode()) >
             0) {
    if (seen_key_) overlapped_bytes_ += grandparents_[grandparent_index_]->file_size;
    grandparent_index_++;
  }
  seen_key_ = true;
  if (overlapped_bytes_ > max_grandparent_overlap_bytes_) {
    overlapped_bytes_ = 0;
    return true;
  }
  return false;
}

}  // namespace zworld::engine
